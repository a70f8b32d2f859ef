"""The real client against the fake: login, gateway identify/READY, and the synced command tree."""

from __future__ import annotations

import pytest

from adapters.discord.render import AUTOCOMPLETE_CHOICES_MAX
from bot.engine import ParamKind
from tests.fakes.discord_api import APP_ID

pytestmark = pytest.mark.asyncio(loop_scope="module")

STRING, BOOLEAN, SUBCOMMAND = 3, 5, 1


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
        assert sub["type"] == SUBCOMMAND
        assert sub["description"] == spec.summary
        options = {o["name"]: o for o in sub.get("options", [])}
        assert set(options) == {p.name for p in spec.params} | {"public"}
        assert options["public"]["type"] == BOOLEAN and not options["public"].get("required", False)
        for param in spec.params:
            option = options[param.name]
            assert option["type"] == STRING
            assert option["description"] == param.description
            assert option.get("required", False) == param.required
            if param.kind is ParamKind.CHOICE:  # a fixed list, not autocomplete
                assert [c["value"] for c in option["choices"]] == list(param.choices)
                assert not option.get("autocomplete", False)
            else:
                assert option.get("autocomplete", False) == (param.kind is not ParamKind.TEXT)
        # Discord rejects a command whose required options come after optional ones.
        required = [o.get("required", False) for o in sub.get("options", [])]
        assert required == sorted(required, reverse=True)


async def test_aspect_and_topic_options_autocomplete(running):
    group = running.fake.synced[None][0]
    compare = next(o for o in group["options"] if o["name"] == "compare")
    flags = {o["name"]: o.get("autocomplete", False) for o in compare["options"]}
    assert flags == {"left": True, "right": True, "aspect": True, "public": False}
    assert AUTOCOMPLETE_CHOICES_MAX == 25
