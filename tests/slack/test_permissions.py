"""Who may manage a channel on Slack, through the real bolt app and signed slash commands.

A recording stand-in for the core awaits the caller's real check (users.info at the fake
Slack, or CYTOBOT_SLACK_ADMINS) and keeps the answer; the real engine then answers, so the
adapter's round trip completes as in production.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from adapters.slack.app import build_app
from adapters.slack.http import EVENTS_PATH, start_http
from adapters.slack.caller import MANAGERS, Roles, is_manager
from tests.fakes.recording_engine import RecordingEngine
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import BOT_TOKEN, TIMEOUT, HttpBot
from tests.fakes.slack_signing import SIGNING_SECRET

ADMIN, OWNER, MEMBER, LISTED, STRANGER, GUEST = "UADMIN", "UOWNER", "UMEMBER", "ULISTED", "USTRANGER", "UGUEST"


@pytest.fixture
async def serve(fake: FakeSlack, engine: Any) -> AsyncIterator[Callable[..., Any]]:
    """`await serve(roles)` -> (bot, recorder): the real app with that Roles, over loopback HTTP."""
    fake.add_user(ADMIN, is_admin=True)
    fake.add_user(OWNER, is_owner=True)
    fake.add_user(MEMBER)
    fake.add_user(LISTED)
    fake.add_user(STRANGER, is_admin=True, team_id="TOTHER", is_stranger=True)
    fake.add_user(GUEST, is_admin=True, is_restricted=True)
    opened: list[Any] = []

    async def _serve(roles: Roles) -> tuple[HttpBot, RecordingEngine]:
        recorder = RecordingEngine(engine)
        app = build_app(recorder, token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=fake.api_url, roles=roles)
        server = await start_http(app, "127.0.0.1", 0, signing_secret=SIGNING_SECRET)
        session = aiohttp.ClientSession(timeout=TIMEOUT)
        opened.append((server, session))
        return HttpBot(f"http://127.0.0.1:{server.port}{EVENTS_PATH}", fake, session), recorder

    yield _serve
    for server, session in opened:
        await session.close()
        await server.close()


async def ask(bot: HttpBot, recorder: RecordingEngine, user_id: str, text: str = "daily subscribe 09:00") -> Any:
    before = len(recorder.seen)
    rid = f"r{before}-{user_id}"
    assert (await bot.command(text, rid=rid, user_id=user_id, user_name=user_id.lower())).status == 200
    await bot.fake.wait_for(lambda f: any(c.name == rid for c in f.responses()))
    assert len(recorder.seen) == before + 1
    return recorder.seen[-1]


async def test_admins_and_owners_may_manage_members_may_not(serve: Any, fake: FakeSlack) -> None:
    bot, recorder = await serve(Roles())
    assert (await ask(bot, recorder, ADMIN)).can_manage is True
    assert (await ask(bot, recorder, OWNER)).can_manage is True
    member = await ask(bot, recorder, MEMBER)
    assert member.can_manage is False
    caller = member.caller
    assert (caller.platform, caller.workspace, caller.channel, caller.user_id) == ("slack", "T1", "C123", MEMBER)
    assert caller.display_name == "umember" and caller.is_direct is False
    assert caller.managers == MANAGERS and "CYTOBOT_SLACK_ADMINS" in caller.managers
    asked = [c.body["user"] for c in fake.api_calls("users.info")]
    assert sorted(asked) == sorted([ADMIN, OWNER, MEMBER])
    assert all(c.headers["Authorization"] == f"Bearer {BOT_TOKEN}" for c in fake.api_calls("users.info"))


async def test_users_listed_in_cytobot_slack_admins_may_manage_without_asking_slack(serve: Any, fake: FakeSlack) -> None:
    # As the settings read CYTOBOT_SLACK_ADMINS (parsing tested in tests/test_settings.py).
    roles = Roles(frozenset({LISTED, "UOTHER"}))
    bot, recorder = await serve(roles)
    assert (await ask(bot, recorder, LISTED)).can_manage is True
    assert (await ask(bot, recorder, MEMBER)).can_manage is False
    assert [c.body["user"] for c in fake.api_calls("users.info")] == [MEMBER]


async def test_strangers_from_another_org_and_guests_may_not_even_as_admins_at_home(serve: Any) -> None:
    bot, recorder = await serve(Roles())
    assert (await ask(bot, recorder, STRANGER)).can_manage is False
    assert (await ask(bot, recorder, GUEST)).can_manage is False


async def test_the_answer_is_cached_and_lookups_never_ask(serve: Any, fake: FakeSlack) -> None:
    bot, recorder = await serve(Roles())
    for _ in range(3):
        assert (await ask(bot, recorder, ADMIN)).can_manage is True
    assert len(fake.api_calls("users.info")) == 1


async def test_a_lookup_command_does_not_call_users_info(fake: FakeSlack, bot: HttpBot) -> None:
    fake.add_user(MEMBER)
    assert (await bot.command("compare severity", rid="lookup", user_id=MEMBER)).status == 200
    await fake.wait_for(lambda f: f.responses())
    assert fake.api_calls("users.info") == []


@pytest.mark.parametrize("failure", [
    {"status": 200, "body": {"ok": False, "error": "user_not_found"}},
    {"status": 200, "body": {"ok": False, "error": "missing_scope", "needed": "users:read"}},
    {"status": 200, "body": {"ok": False, "error": "internal_error"}},
    {"status": 200, "body": {"ok": True, "user": "not an object"}},
    {"status": 200, "body": {"ok": True, "user": {"id": ADMIN, "team_id": "T1", "is_admin": True}}, "delay": 1.0},  # too late
])
async def test_a_failing_users_info_means_not_allowed_is_logged_without_the_token_and_not_cached(
        serve: Any, fake: FakeSlack, caplog: pytest.LogCaptureFixture, failure: dict[str, Any]) -> None:
    caplog.set_level(logging.DEBUG)
    bot, recorder = await serve(Roles(timeout=0.3))
    fake.fail_next("users.info", **failure)
    assert (await ask(bot, recorder, ADMIN)).can_manage is False
    assert BOT_TOKEN not in caplog.text
    fake.script["users.info"].clear()
    assert (await ask(bot, recorder, ADMIN)).can_manage is True, "a failure is not remembered"


async def test_concurrent_checks_for_one_user_share_one_request() -> None:
    fake = await FakeSlack().start()
    try:
        fake.add_user(ADMIN, is_admin=True)
        fake.fail_next("users.info", body={"ok": True, "user": fake.users[ADMIN]}, delay=0.2)
        from adapters.slack.app import web_client

        client = web_client(BOT_TOKEN, fake.api_url)
        roles = Roles()
        results = await asyncio.gather(*(roles.may_manage(client, ADMIN, "T1") for _ in range(20)))
        assert results == [True] * 20
        assert len(fake.api_calls("users.info")) == 1
    finally:
        await fake.stop()


async def test_the_cache_expires_and_stays_bounded() -> None:
    fake = await FakeSlack().start()
    try:
        now = [0.0]
        roles = Roles(ttl=60, size=3, clock=lambda: now[0])
        from adapters.slack.app import web_client

        client = web_client(BOT_TOKEN, fake.api_url)
        for i in range(5):
            fake.add_user(f"U{i}", is_admin=True)
            assert await roles.may_manage(client, f"U{i}", "T1")
        assert len(roles._cache) == 3
        fake.users["U4"]["is_admin"] = False  # demoted; the cache still says admin for a while
        assert await roles.may_manage(client, "U4", "T1") is True
        now[0] = 61.0
        assert await roles.may_manage(client, "U4", "T1") is False
    finally:
        await fake.stop()


@pytest.mark.parametrize("user, workspace, allowed", [
    ({"team_id": "T1", "is_admin": True}, "T1", True),
    ({"team_id": "T1", "is_primary_owner": True}, "T1", True),
    ({"team_id": "T1", "is_admin": "true"}, "T1", False),  # only a real boolean counts
    ({"team_id": "T1", "is_admin": True, "deleted": True}, "T1", False),
    ({"team_id": "T1", "is_admin": True, "is_bot": True}, "T1", False),
    ({"team_id": "T1", "is_owner": True, "is_ultra_restricted": True}, "T1", False),
    ({"team_id": "TOTHER", "is_admin": True}, "T1", False),
    ({"team_id": "TOTHER", "is_admin": True, "enterprise_user": {"teams": ["TOTHER", "T1"]}}, "T1", True),
    ({"team_id": "T1"}, "T1", False),
    (None, "T1", False),
    ([], "T1", False),
])
def test_who_counts_as_a_manager(user: Any, workspace: str, allowed: bool) -> None:
    assert is_manager(user, workspace) is allowed
