"""INTERACTION_CREATE over the fake gateway, answers recorded at the fake REST API.

Every subcommand, autocomplete, the share button and the error paths, through the real
discord.py client. What the fake receives is compared with `render_message`, so the payload
`cytobot ask --format discord` prints is proven to be the one the bot sends.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from adapters.discord.client import SORRY
from adapters.discord.render import SHARE_PREFIX, render_message

EPHEMERAL_FLAG = 64  # Discord MessageFlags.ephemeral, stated here rather than read from the renderer under test
from bot.engine import Engine, ParamKind
from tests.discord.conftest import CONTENT
from tests.fakes.discord_api import APP_ID

pytestmark = pytest.mark.asyncio(loop_scope="module")

APPLICATION_COMMAND, COMPONENT, AUTOCOMPLETE = 2, 3, 4
CHANNEL_MESSAGE, AUTOCOMPLETE_RESULT = 4, 8
NO_PINGS = {"parse": []}
MENTION = re.compile(r"<@[!&]?\d+>|@everyone|@here")

def _forms(engine: Engine) -> list[tuple[str, str, tuple, dict[str, str]]]:
    """Every subcommand the client registers: (path under /crs, core command, params, fixed args).
    A command with typed forms from the pack (grading scales) is a group: "grade crs"."""
    forms = []
    for spec in engine.commands:
        variants = spec.variants(engine.catalog) if spec.variants else ()
        forms += [(f"{spec.name} {v.name}", spec.name, v.params, dict(v.fixed)) for v in variants]
        if not variants:
            forms.append((spec.name, spec.name, spec.params, {}))
    return forms


FORMS = _forms(Engine.load(CONTENT))


def command(sub: str, options: dict[str, Any] | None = None, *, focused: str | None = None, group: str = "crs") -> dict[str, Any]:
    """`data` of an APPLICATION_COMMAND / AUTOCOMPLETE interaction for /<group> <sub>; a two-word
    `sub` ("grade crs") is a subcommand inside a subcommand group."""
    opts = []
    for name, value in (options or {}).items():
        opt: dict[str, Any] = {"name": name, "type": 5 if isinstance(value, bool) else 3, "value": value}
        if name == focused:
            opt["focused"] = True
        opts.append(opt)
    *outer, last = sub.split()
    inner: dict[str, Any] = {"name": last, "type": 1, "options": opts}
    for name in reversed(outer):
        inner = {"name": name, "type": 2, "options": [inner]}
    return {"id": "1400000000000000001", "name": group, "type": 1, "options": [inner]}


def required_args(engine: Engine, params: tuple) -> dict[str, str]:
    """A valid value for every required option of a command, taken from the pack itself."""
    args = {}
    for p in params:
        if p.required and p.kind is ParamKind.CHOICE:
            args[p.name] = p.choices[0]
        elif p.required:
            choices = engine.complete(p.kind, "", limit=1)
            args[p.name] = choices[0].value if choices else "cytokine"
    return args


def assert_private_card(data: dict[str, Any]) -> None:
    assert data["flags"] & EPHEMERAL_FLAG
    assert data["allowed_mentions"] == NO_PINGS
    assert data["embeds"], "a card is rendered as embeds"
    for embed in data["embeds"]:
        assert embed.get("title") or embed.get("description") or embed.get("fields")
    assert data["embeds"][-1]["footer"]["text"]


@pytest.mark.parametrize(("path", "name", "params", "fixed"), FORMS, ids=[f[0] for f in FORMS])
async def test_every_subcommand_answers_privately_with_the_rendered_card(running, path, name, params, fixed):
    args = required_args(running.engine, params)
    call = await running.fake.interact(running.fake.interaction(APPLICATION_COMMAND, command(path, args)))
    assert call.body["type"] == CHANNEL_MESSAGE
    assert call.query.get("with_response") in ("1", "true")
    data = call.body["data"]
    assert_private_card(data)
    expected = running.engine.invoke(name, args)
    if name != "fact":  # a random fact differs on every call
        assert data == render_message(running.engine.invoke(name, {**fixed, **args}))
    if expected.is_error:  # daily facts without a database: a clear private error, nothing to share
        assert name == "daily" and "components" not in data
        return
    button = data["components"][0]["components"][0]
    assert button["label"] == "Share in channel"
    assert button["custom_id"].startswith(SHARE_PREFIX)


async def test_typed_options_reach_the_core(running):
    fake, engine = running.fake, running.engine
    cases = [
        ("compare", {"left": "crs", "right": "cytokine-storm", "aspect": "severity"}),
        ("compare", {"left": "cytokine-storm", "right": "crs"}),
        ("topic", {"query": "crs symptoms"}),
        ("search", {"words": "tocilizumab"}),
        ("fact", {"which": "crs-definition"}),
        ("sources", {"id": "seed"}),
        ("help", {"command": "compare"}),
    ]
    for name, args in cases:
        call = await fake.interact(fake.interaction(APPLICATION_COMMAND, command(name, args)))
        reply = engine.invoke(name, args)
        assert not reply.is_error, (name, args)
        assert call.body["data"] == render_message(reply)
        custom_id = call.body["data"]["components"][0]["components"][0]["custom_id"]
        assert custom_id == SHARE_PREFIX + reply.command


async def test_public_option_posts_in_the_channel_without_share_button(running):
    fake = running.fake
    call = await fake.interact(fake.interaction(APPLICATION_COMMAND, command("compare", {"aspect": "severity", "public": True})))
    data = call.body["data"]
    assert not data.get("flags", 0) & EPHEMERAL_FLAG
    assert "components" not in data
    assert data["allowed_mentions"] == NO_PINGS
    assert data == render_message(running.engine.invoke("compare", {"aspect": "severity"}, public=True))


async def test_share_button_posts_publicly_and_names_the_sharer_without_pinging(running):
    fake, engine = running.fake, running.engine
    private = await fake.interact(fake.interaction(APPLICATION_COMMAND, command("compare", {"aspect": "severity"})))
    custom_id = private.body["data"]["components"][0]["components"][0]["custom_id"]
    # Real Discord sends the message the button sits on; the client never stored a view for it.
    message = {"id": "1500000000000000001", "channel_id": "1", "type": 20, "content": "", "flags": 64,
               "author": {"id": "1", "username": "cytobot", "discriminator": "0", "avatar": None},
               "embeds": private.body["data"]["embeds"], "components": private.body["data"]["components"],
               "attachments": [], "mentions": [], "mention_roles": [], "pinned": False, "tts": False,
               "timestamp": "2024-01-01T00:00:00+00:00", "edited_timestamp": None}
    nick = "Dr <@1300000000000000009> @everyone *Ada*"
    click = fake.interaction(COMPONENT, {"custom_id": custom_id, "component_type": 2}, nick=nick, message=message)
    call = await fake.interact(click)
    data = call.body["data"]
    assert call.body["type"] == CHANNEL_MESSAGE
    assert not data.get("flags", 0) & EPHEMERAL_FLAG
    assert data["allowed_mentions"] == NO_PINGS
    assert data["content"].startswith("Shared by Dr")
    assert "Ada" in data["content"]
    assert not MENTION.search(data["content"])
    assert "components" not in data  # a public card offers no second share
    shared = engine.execute(custom_id.removeprefix(SHARE_PREFIX), public=True)
    assert data["embeds"] == render_message(shared)["embeds"]
    assert data == render_message(shared, shared_by=nick)


async def test_share_works_for_a_click_this_process_never_saw_in_a_dm(running):
    """Stateless: a click on a button sent by another replica (or before a restart) still works."""
    fake = running.fake
    click = fake.interaction(COMPONENT, {"custom_id": SHARE_PREFIX + "topic il-6", "component_type": 2},
                             in_guild=False, username="grace")
    call = await fake.interact(click)
    data = call.body["data"]
    assert data["content"] == "Shared by grace"
    assert not data.get("flags", 0) & EPHEMERAL_FLAG
    assert data["embeds"][0]["title"] == running.engine.execute("topic il-6").cards[0].title


async def test_share_of_a_command_that_no_longer_works_answers_privately(running):
    fake = running.fake
    call = await fake.interact(fake.interaction(COMPONENT, {"custom_id": SHARE_PREFIX + "topic no-such-topic-xyz", "component_type": 2}))
    data = call.body["data"]
    assert data["flags"] & EPHEMERAL_FLAG
    assert not data.get("content")  # no "shared by" on an error
    assert "components" not in data


async def test_autocomplete_topic_best_first_and_capped(running):
    fake = running.fake
    call = await fake.interact(fake.interaction(AUTOCOMPLETE, command("topic", {"query": "il6"}, focused="query")))
    assert call.body["type"] == AUTOCOMPLETE_RESULT
    choices = call.body["data"]["choices"]
    assert 1 <= len(choices) <= 25
    assert choices[0]["value"] == "il-6"
    everything = await fake.interact(fake.interaction(AUTOCOMPLETE, command("topic", {"query": ""}, focused="query")))
    choices = everything.body["data"]["choices"]
    assert 1 <= len(choices) <= 25
    for choice in choices:
        assert 1 <= len(choice["name"]) <= 100 and 1 <= len(choice["value"]) <= 100


async def test_autocomplete_aspect_uses_the_typed_pair(running):
    fake, engine = running.fake, running.engine
    options = {"left": "cytokine-storm", "right": "crs", "aspect": "sev"}
    call = await fake.interact(fake.interaction(AUTOCOMPLETE, command("compare", options, focused="aspect")))
    got = [(c["name"], c["value"]) for c in call.body["data"]["choices"]]
    want = engine.complete(ParamKind.ASPECT, "sev", limit=25, context={"left": "cytokine-storm", "right": "crs"})
    assert got == [(c.label, c.value) for c in want]
    assert got[0][1] == "severity"


@pytest.mark.parametrize(("sub", "option", "typed", "kind"), [
    ("compare", "left", "cyt", ParamKind.TOPIC),
    ("help", "command", "com", ParamKind.COMMAND),
    ("fact", "which", "tod", ParamKind.FACT),
    ("sources", "id", "lee", ParamKind.SOURCE),
])
async def test_autocomplete_other_kinds(running, sub, option, typed, kind):
    fake, engine = running.fake, running.engine
    call = await fake.interact(fake.interaction(AUTOCOMPLETE, command(sub, {option: typed}, focused=option)))
    got = [c["value"] for c in call.body["data"]["choices"]]
    assert got and got == [c.value for c in engine.complete(kind, typed, limit=25)]


async def test_user_error_is_a_private_card_without_share(running):
    fake = running.fake
    call = await fake.interact(fake.interaction(APPLICATION_COMMAND, command("topic", {"query": "zzzz-not-a-topic"})))
    data = call.body["data"]
    assert_private_card(data)
    assert "components" not in data
    assert data == render_message(running.engine.invoke("topic", {"query": "zzzz-not-a-topic"}))


async def test_crash_in_the_core_reaches_the_user_as_a_friendly_private_message(running, monkeypatch):
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(running.engine, "handle", explode)
    fake = running.fake
    call = await fake.interact(fake.interaction(APPLICATION_COMMAND, command("list")))
    data = call.body["data"]
    assert data["content"] == SORRY
    assert data["flags"] & EPHEMERAL_FLAG
    assert data["allowed_mentions"] == NO_PINGS


async def test_unknown_subcommand_and_bad_group_are_answered_privately(running):
    fake = running.fake
    for data in (command("no-such-sub"), command("list", group="not-our-command")):
        call = await fake.interact(fake.interaction(APPLICATION_COMMAND, data))
        assert call.body["data"]["content"] == SORRY
        assert call.body["data"]["flags"] & EPHEMERAL_FLAG


async def test_every_interaction_was_answered_exactly_once(running):
    """Runs last in this module: no interaction went unanswered or was answered twice (40060)."""
    fake = running.fake
    # One more round trip: anything still in flight from earlier tests has landed after it.
    await fake.interact(fake.interaction(APPLICATION_COMMAND, command("about")))
    assert len(fake.dispatched) > 20
    assert {iid: fake.answers(iid) for iid in fake.dispatched} == {iid: 1 for iid in fake.dispatched}
    assert fake.rejected() == []
    # Share buttons live in custom_ids, not in memory: discord.py's view store (private) holds nothing.
    store = running.client._connection._view_store
    assert list(running.client.persistent_views) == [] and not any(store._views.values())
    for call in fake.calls:
        if isinstance(call.body, dict) and "data" in call.body and "embeds" in call.body["data"]:
            assert call.body["data"]["allowed_mentions"] == NO_PINGS
    assert all(c.path.startswith(("/users", "/oauth2", f"/applications/{APP_ID}", "/interactions/")) for c in fake.calls)
