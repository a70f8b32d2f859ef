"""Who may manage a channel on Discord: the member's permissions as Discord resolved them for
this channel in the INTERACTION_CREATE (overwrites applied), read at run time by the real
discord.py client, not the command's default_permissions. A DM belongs to the user.

A recording stand-in for the core awaits the caller's check and keeps it; the real engine
answers, so every interaction still gets its callback.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.discord.client import MANAGERS
from bot.engine import Engine
from tests.fakes.discord_api import CHANNEL_ID, GUILD_ID
from tests.fakes.recording_engine import RecordingEngine, Seen

pytestmark = pytest.mark.asyncio(loop_scope="module")

APPLICATION_COMMAND = 2
VIEW, SEND, EMBED = 1 << 10, 1 << 11, 1 << 14
MANAGE_CHANNELS, ADMINISTRATOR = 1 << 4, 1 << 3
POSTER = VIEW | SEND | EMBED


@pytest.fixture(scope="module")
def engine(engine: Engine) -> RecordingEngine:  # the `running` client of conftest serves this stand-in
    return RecordingEngine(engine)


def help_command() -> dict[str, Any]:
    return {"id": "1400000000000000001", "name": "crs", "type": 1, "options": [{"name": "help", "type": 1, "options": []}]}


async def interact(running: Any, **kw: Any) -> Seen:
    recorder: RecordingEngine = running.engine
    before = len(recorder.seen)
    call = await running.fake.interact(running.fake.interaction(APPLICATION_COMMAND, help_command(), **kw))
    assert call.body["type"] == 4  # answered as usual
    assert len(recorder.seen) == before + 1
    return recorder.seen[-1]


async def test_a_member_without_manage_channels_may_not(running: Any) -> None:
    seen = await interact(running, permissions=str(POSTER | (1 << 6) | (1 << 13)), user_id=1300000000000000007, nick="Bo")
    assert seen.can_manage is False
    caller = seen.caller
    assert (caller.platform, caller.workspace, caller.channel) == ("discord", str(GUILD_ID), str(CHANNEL_ID))
    assert (caller.user_id, caller.display_name, caller.is_direct) == ("1300000000000000007", "Bo", False)
    assert caller.managers == MANAGERS and "Manage Channels" in caller.managers


async def test_a_member_with_manage_channels_in_this_channel_may(running: Any) -> None:
    assert (await interact(running, permissions=str(POSTER | MANAGE_CHANNELS))).can_manage is True


async def test_an_administrator_may_even_if_the_set_carries_only_that_bit(running: Any) -> None:
    assert (await interact(running, permissions=str(ADMINISTRATOR))).can_manage is True


async def test_no_permissions_at_all_may_not(running: Any) -> None:
    assert (await interact(running, permissions="0")).can_manage is False


async def test_in_a_dm_the_user_manages_their_own_channel(running: Any) -> None:
    seen = await interact(running, in_guild=False, user_id=1300000000000000008, username="cy")
    assert seen.can_manage is True
    assert seen.caller.is_direct is True and seen.caller.workspace == ""
    assert seen.caller.user_id == "1300000000000000008"
