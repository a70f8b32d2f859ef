"""The real client against the fake: login, gateway identify/READY, and the synced command tree."""

from __future__ import annotations

import pytest

from adapters.discord.render import AUTOCOMPLETE_CHOICES_MAX
from bot.engine import ParamKind
from tests.fakes.discord_api import APP_ID

pytestmark = pytest.mark.asyncio(loop_scope="module")

STRING, BOOLEAN, SUBCOMMAND, SUBCOMMAND_GROUP = 3, 5, 1, 2


async def test_logs_in_identifies_and_syncs_once(running):
    fake = running.fake
    assert [c.path for c in fake.calls_to("GET", "/users/@me")] == ["/users/@me"]
    assert fake.calls_to("GET", "/users/@me")[0].headers["Authorization"] == "Bot test-token"
    assert fake.calls_to("GET", "/oauth2/applications/@me")
    assert len(fake.identifies) == 1 and fake.identifies[0]["token"] == "test-token"
    assert running.client.application_id == APP_ID
    syncs = fake.calls_to("PUT", f"/applications/{APP_ID}/commands")
    assert len(syncs) == 1


async def test_synced_group_has_every_registry_command_with_typed_options(running):
    synced = running.fake.synced[None]
    assert [c["name"] for c in synced] == ["crs"]
    group = synced[0]
    subcommands = {o["name"]: o for o in group["options"]}
    assert list(subcommands) == [spec.name for spec in running.engine.commands]
    for spec in running.engine.commands:
        sub = subcommands[spec.name]
        assert sub["description"] == spec.summary
        variants = spec.variants(running.engine.catalog) if spec.variants else ()
        if not variants:
            assert sub["type"] == SUBCOMMAND
            check_options(sub, spec.params)
            continue
        # A command with typed forms from the pack is a group of one subcommand per form.
        assert sub["type"] == SUBCOMMAND_GROUP
        forms = {o["name"]: o for o in sub["options"]}
        assert list(forms) == [v.name for v in variants]
        for variant in variants:
            assert forms[variant.name]["type"] == SUBCOMMAND
            assert forms[variant.name]["description"] == variant.summary
            check_options(forms[variant.name], variant.params)


def check_options(sub, params):
    options = {o["name"]: o for o in sub.get("options", [])}
    assert set(options) == {p.name for p in params} | {"public"}
    assert options["public"]["type"] == BOOLEAN and not options["public"].get("required", False)
    for param in params:
        option = options[param.name]
        assert option["type"] == STRING
        assert option["description"] == param.description
        assert option.get("required", False) == param.required
        fixed = param.kind is ParamKind.CHOICE
        assert option.get("autocomplete", False) == (param.kind is not ParamKind.TEXT and not fixed)
        assert [c["value"] for c in option.get("choices", [])] == (list(param.choices) if fixed else [])
    # Discord rejects a command whose required options come after optional ones.
    required = [o.get("required", False) for o in sub.get("options", [])]
    assert required == sorted(required, reverse=True)


async def test_aspect_and_topic_options_autocomplete(running):
    group = running.fake.synced[None][0]
    compare = next(o for o in group["options"] if o["name"] == "compare")
    flags = {o["name"]: o.get("autocomplete", False) for o in compare["options"]}
    assert flags == {"left": True, "right": True, "aspect": True, "public": False}
    assert AUTOCOMPLETE_CHOICES_MAX == 25
