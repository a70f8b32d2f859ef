"""/crs grade on Discord: one subcommand per scale of the pack, each domain an option with
choices; the real discord.py client answers INTERACTION_CREATE with the grade card."""

from __future__ import annotations

import pytest

from adapters.discord.render import SHARE_PREFIX, render_message
from tests.discord.test_interactions import APPLICATION_COMMAND, EPHEMERAL_FLAG, NO_PINGS, command

pytestmark = pytest.mark.asyncio(loop_scope="module")

STRING, SUBCOMMAND, SUBCOMMAND_GROUP = 3, 1, 2


async def test_synced_grade_group_has_a_subcommand_per_scale_with_choices(running):
    crs_group = running.fake.synced[None][0]
    grade = next(o for o in crs_group["options"] if o["name"] == "grade")
    assert grade["type"] == SUBCOMMAND_GROUP
    scales = running.engine.catalog.scales
    assert [o["name"] for o in grade["options"]] == list(scales)
    for sub in grade["options"]:
        scale = scales[sub["name"]]
        assert sub["type"] == SUBCOMMAND and sub["description"] == scale.title
        options = {o["name"]: o for o in sub["options"]}
        assert list(options)[-1] == "public" and len(options) <= 25
        for domain in scale.domains:
            option = options[domain.id]
            assert option["type"] == STRING and option["description"] == domain.question
            assert option.get("required", False) == (domain.default is None and not domain.optional)
            assert not option.get("autocomplete", False)
            assert [c["value"] for c in option["choices"]] == [v.id for v in domain.values]
            assert len(option["choices"]) <= 25
            for choice, value in zip(option["choices"], domain.values):
                assert 1 <= len(choice["name"]) <= 100
                assert choice["name"].startswith(f"{value.id} (")
    crs = {o["name"]: o for o in next(s for s in grade["options"] if s["name"] == "crs")["options"]}
    assert [c["value"] for c in crs["hypotension"]["choices"]] == ["none", "fluids", "vasopressor", "vasopressors"]
    assert crs["hypotension"]["choices"][2]["name"] == "vasopressor (grade 3): Hypotension needing one vasopressor, with or without vasopressin."
    assert crs["treated"].get("required", False) is False
    icans = {o["name"]: o for o in next(s for s in grade["options"] if s["name"] == "icans")["options"]}
    assert icans["age"].get("required", False) is False
    assert [c["value"] for c in icans["age"]["choices"]] == ["child", "over-12"]


@pytest.mark.parametrize(("path", "options", "title"), [
    ("grade crs", {"fever": "yes", "hypotension": "vasopressor", "hypoxia": "none"}, "Grade 3 CRS"),
    ("grade crs", {"fever": "no", "hypotension": "none", "hypoxia": "low-flow", "treated": "yes"}, "Grade 2 CRS"),
    ("grade crs", {"fever": "no", "hypotension": "vasopressors", "hypoxia": "positive-pressure", "treated": "no"},
     "Not graded as CRS: the ASTCT definition needs fever of at least 38 °C"),
    ("grade icans", {"ice": "8", "consciousness": "alert", "seizure": "rapid", "motor": "none", "edema": "none"}, "Grade 3 ICANS"),
    ("grade icans", {"ice": "0", "consciousness": "unarousable", "seizure": "none", "motor": "none", "edema": "none"}, "Grade 4 ICANS"),
    ("grade icans", {"ice": "9", "consciousness": "alert", "seizure": "none", "motor": "none", "edema": "none", "age": "child"},
     "Not graded: children aged 12 or under are assessed with CAPD, not the ICE score"),
])
async def test_chosen_values_get_the_grade_card(running, path, options, title):
    fake, engine = running.fake, running.engine
    call = await fake.interact(fake.interaction(APPLICATION_COMMAND, command(path, options)))
    data = call.body["data"]
    assert data["flags"] & EPHEMERAL_FLAG and data["allowed_mentions"] == NO_PINGS
    assert data["embeds"][0]["title"] == title
    assert len(data["embeds"]) == 1 and "…" not in str(data["embeds"])  # the whole card, nothing cut
    scale = path.split()[1]
    reply = engine.invoke("grade", {"scale": scale, **options})
    assert data == render_message(reply)
    shown = {f["name"] for e in data["embeds"] for f in e.get("fields", [])}
    assert {d.title for d in engine.catalog.scales[scale].domains} <= shown
    assert engine.catalog.sources["lee19"].title in data["embeds"][-1]["footer"]["text"]
    custom_id = data["components"][0]["components"][0]["custom_id"]
    assert custom_id == SHARE_PREFIX + reply.command and len(custom_id) <= 100
    assert engine.execute(reply.command).cards == reply.cards


async def test_a_value_outside_the_choices_is_a_friendly_private_error(running):
    """Discord enforces choices; a stale client or a forged payload still gets a clear answer."""
    fake = running.fake
    options = {"fever": "yes", "hypotension": "lots", "hypoxia": "none"}
    call = await fake.interact(fake.interaction(APPLICATION_COMMAND, command("grade crs", options)))
    data = call.body["data"]
    assert data["flags"] & EPHEMERAL_FLAG and "components" not in data
    text = str(data["embeds"])
    assert "hypotension=none | fluids | vasopressor | vasopressors" in text


async def test_fever_no_without_treated_asks_privately_with_the_lines_to_type(running):
    """Discord leaves `treated` optional; left out with fever=no, the reply asks and grades nothing."""
    fake = running.fake
    options = {"fever": "no", "hypotension": "vasopressors", "hypoxia": "positive-pressure"}
    call = await fake.interact(fake.interaction(APPLICATION_COMMAND, command("grade crs", options)))
    data = call.body["data"]
    assert data["flags"] & EPHEMERAL_FLAG and "components" not in data
    text = str(data["embeds"])
    assert data["embeds"][0]["title"] == "CRS: one more answer needed"
    assert "Red flag: urgent review" in text and "premedication" in text
    assert "treated=yes" in text and "treated=no" in text


async def test_a_forged_ice_with_a_decimal_point_is_refused(running):
    """Discord offers ICE as choices; a forged or stale payload with "1.0" is never read as 10."""
    fake = running.fake
    options = {"ice": "1.0", "consciousness": "alert", "seizure": "none", "motor": "none", "edema": "none"}
    call = await fake.interact(fake.interaction(APPLICATION_COMMAND, command("grade icans", options)))
    data = call.body["data"]
    assert data["flags"] & EPHEMERAL_FLAG
    text = str(data["embeds"])
    assert "No ICANS" not in text and "is not an answer I accept" in text and "ice=10 | 9 | 8" in text
