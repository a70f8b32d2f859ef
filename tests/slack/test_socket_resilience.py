"""Socket Mode when Slack cannot be reached or refuses the token: one line per attempt, a
bounded exponential backoff, a refused token stops with one line (exit 2), and readiness that
follows the websocket. The real Slack component against the loopback fake (its Web API and
websocket) and a closed port."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import sys
from typing import Any

import pytest

from adapters.slack.cli import Settings
from adapters.slack.service import SlackService
from adapters.slack.socket_mode import Backoff, TokenRefused
from bot.engine import Engine
from tests.slack.conftest import BOT_TOKEN

APP_TOKEN = "xapp-1-A1-1-0a1b2c"
FAST = Backoff(first=0.02, maximum=0.16)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service(engine: Engine, api_url: str, backoff: Backoff = FAST) -> SlackService:
    slack = SlackService(engine, Settings(BOT_TOKEN, None, APP_TOKEN, api_url, "/crs"))
    slack.backoff = backoff
    return slack


async def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


async def stop(slack: SlackService) -> None:
    await slack.drain()
    await asyncio.wait_for(slack.close(), 5)
    slack.task.cancel()
    await asyncio.gather(slack.task, return_exceptions=True)


async def test_unreachable_slack_is_one_line_per_attempt_backing_off(engine: Any, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    port = closed_port()
    slack = service(engine, f"http://127.0.0.1:{port}/api/")
    await slack.start()
    try:
        async def enough() -> bool:
            return len([r for r in caplog.records if r.levelno == logging.WARNING]) >= 6
        await wait_until(enough)
        assert await slack.check() == f"slack: cannot reach Slack at 127.0.0.1:{port} (Connect call failed ('127.0.0.1', {port}))"
    finally:
        await stop(slack)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    delays = []
    for record in warnings:
        message = record.getMessage()
        assert "\n" not in message and APP_TOKEN not in message
        found = re.fullmatch(r"Slack Socket Mode is not connected: cannot reach .*; retrying in ([0-9.]+) s", message)
        assert found, message
        delays.append(float(found.group(1)))
    assert delays[:4] == sorted(delays[:4]) and delays[3] > 3 * delays[0], delays  # doubling
    assert max(delays) <= 0.16 * 1.1 + 0.005  # bounded, with its jitter
    # No library retries or tracebacks besides these lines.
    slack_lines = [r for r in caplog.records if r.name.startswith(("cytobot.slack", "slack")) and r.levelno >= logging.INFO]
    assert len(slack_lines) <= len(warnings) + 3


@pytest.mark.parametrize("error", ["invalid_auth", "not_allowed_token_type", "token_revoked"])
async def test_a_refused_app_token_stops_with_one_line(fake: Any, engine: Any, caplog: Any, error: str) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next("apps.connections.open", body={"ok": False, "error": error})
    slack = service(engine, fake.api_url)
    await slack.start()
    try:
        with pytest.raises(TokenRefused) as refused:
            await asyncio.wait_for(slack.task, 5)
    finally:
        await slack.close()
    fatal = slack.failure(refused.value)
    assert fatal.code == 2
    assert fatal.message.startswith(f"Slack refused SLACK_APP_TOKEN ({error}): ")
    assert "\n" not in fatal.message and APP_TOKEN not in fatal.message
    assert len(fake.api_calls("apps.connections.open")) == 1  # no retry can fix a wrong token
    assert (await slack.check()).startswith(f"slack: Slack refused SLACK_APP_TOKEN ({error})")
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_cytobot_slack_exits_2_with_one_line_when_the_token_is_refused(fake: Any) -> None:
    fake.fail_next("apps.connections.open", body={"ok": False, "error": "not_allowed_token_type"})
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": fake.api_url,
           "CYTOBOT_HTTP_PORT": "0"}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "adapters.cli", "slack", env=env, cwd="/",
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2, err
    text = (out + err).decode()
    assert "Traceback" not in text and APP_TOKEN not in text and BOT_TOKEN not in text
    [line] = [line for line in err.decode().splitlines() if "refused" in line]
    assert line == ("cytobot slack: Slack refused SLACK_APP_TOKEN (not_allowed_token_type): "
                    "it must be an app-level token (xapp-...), not a bot or user token")


async def test_readiness_follows_the_socket_and_recovers(fake: Any, engine: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    slack = service(engine, fake.api_url, Backoff(first=0.3, maximum=0.6))  # slow enough to watch
    await slack.start()
    try:
        async def ready() -> bool:
            return await slack.check() is None
        await wait_until(ready)
        for _ in range(3):  # Slack has trouble for a moment: the next three attempts fail
            fake.fail_next("apps.connections.open", body={"ok": False, "error": "internal_error"})
        for ws in list(fake._sockets):
            await ws.close()

        async def reason_given() -> bool:
            return "internal_error" in (await slack.check() or "")
        await wait_until(reason_given)
        await wait_until(ready)
        assert len(fake.api_calls("apps.connections.open")) == 5
    finally:
        await stop(slack)
    assert await slack.check() is not None
    failures = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "cytobot.slack"]
    assert len(failures) == 3
    assert all(m.startswith("Slack Socket Mode is not connected: Slack answered apps.connections.open with 'internal_error'")
               for m in failures)
    assert not [r for r in caplog.records if r.exc_info]


def test_bolt_does_not_warn_that_the_token_will_be_unused(monkeypatch: Any, engine: Any, caplog: Any) -> None:
    from adapters.slack.app import build_app

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)  # what makes bolt warn when a client is given
    build_app(engine, token=BOT_TOKEN, signing_secret="s", api_url="http://127.0.0.1:9/api/")
    assert not [r for r in caplog.records if "will be unused" in r.getMessage()]
    logging.getLogger("cytobot.slack.bolt").warning("other warnings still pass")
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == ["other warnings still pass"]
