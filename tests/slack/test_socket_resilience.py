"""Socket Mode when Slack cannot be reached or refuses the token: one line per attempt, a
bounded exponential backoff, a refused token stops with one line, and a live `connected`
state for readiness. Against the loopback fake (its Web API and websocket) and a closed port."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from typing import Any

import pytest

from adapters.slack import cli
from adapters.slack.socket_mode import Backoff, TokenRefused
from adapters.status import AdapterStatus
from tests.slack.conftest import BOT_TOKEN

APP_TOKEN = "xapp-1-A1-1-0a1b2c"
FAST = Backoff(first=0.02, maximum=0.16)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settings(api_url: str) -> cli.Settings:
    return cli.Settings(BOT_TOKEN, None, APP_TOKEN, api_url, "/crs")


def lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(("cytobot", "slack"))]


async def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


async def test_unreachable_slack_is_one_line_per_attempt_backing_off(engine: Any, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    port = closed_port()
    status = AdapterStatus("slack")
    task = asyncio.create_task(cli.run_socket_mode(engine, settings(f"http://127.0.0.1:{port}/api/"), status=status, backoff=FAST))
    try:
        await wait_until(lambda: len([r for r in caplog.records if r.levelno == logging.WARNING]) >= 6)
        assert not status.connected
        assert status.reason == f"slack: cannot reach 127.0.0.1:{port} (Connect call failed ('127.0.0.1', {port}))"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    warnings = [r for r in lines(caplog) if r.levelno >= logging.WARNING]
    assert all(r.levelno == logging.WARNING and not r.exc_info for r in warnings)
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    delays = []
    for record in warnings:
        message = record.getMessage()
        assert "\n" not in message and APP_TOKEN not in message
        found = re.fullmatch(r"Slack Socket Mode is not connected: cannot reach .*; retrying in ([0-9.]+) s", message)
        assert found, message
        delays.append(float(found.group(1)))
    assert delays[:4] == sorted(delays[:4]) and delays[3] > 3 * delays[0], delays  # doubling
    assert max(delays) <= 0.16 * 1.1 + 0.05  # bounded, with jitter and rounding
    # Nothing but these warnings and the start line: no library retries, no tracebacks.
    assert len([r for r in lines(caplog) if r.levelno >= logging.INFO]) <= len(warnings) + 2


@pytest.mark.parametrize("error", ["invalid_auth", "not_allowed_token_type", "token_revoked"])
async def test_a_refused_app_token_stops_with_one_line(fake: Any, engine: Any, caplog: Any, error: str) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next("apps.connections.open", body={"ok": False, "error": error})
    status = AdapterStatus("slack")
    with pytest.raises(TokenRefused) as refused:
        await asyncio.wait_for(cli.run_socket_mode(engine, settings(fake.api_url), status=status, backoff=FAST), 5)
    message = str(refused.value)
    assert message.startswith(f"Slack refused SLACK_APP_TOKEN ({error}): ")
    assert "\n" not in message and APP_TOKEN not in message
    assert len(fake.api_calls("apps.connections.open")) == 1  # no retry can fix a wrong token
    assert not status.connected and status.reason == f"slack: {message}"
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_cytobot_slack_exits_2_with_one_line_when_the_token_is_refused(monkeypatch: Any, capsys: Any) -> None:
    from tests.fakes.slack_api import FakeSlack

    async def main() -> int:
        fake = await FakeSlack().start()
        fake.fail_next("apps.connections.open", body={"ok": False, "error": "not_allowed_token_type"})
        monkeypatch.setenv("SLACK_API_URL", fake.api_url)
        try:
            return await asyncio.get_running_loop().run_in_executor(None, cli.main, [])
        finally:
            await fake.stop()

    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    assert asyncio.run(main()) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["cytobot slack: Slack refused SLACK_APP_TOKEN (not_allowed_token_type): "
                   "it must be an app-level token (xapp-...), not a bot or user token"]


async def test_connected_state_follows_the_socket_and_recovers(fake: Any, engine: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    status = AdapterStatus("slack")
    assert not status.connected and status.reason == "slack: not started yet"
    slow = Backoff(first=0.3, maximum=0.6)  # slow enough to watch the reason while it retries
    task = asyncio.create_task(cli.run_socket_mode(engine, settings(fake.api_url), status=status, backoff=slow))
    try:
        await wait_until(lambda: status.connected)
        assert status.reason is None
        for _ in range(3):  # Slack has trouble for a moment: the next three attempts fail
            fake.fail_next("apps.connections.open", body={"ok": False, "error": "internal_error"})
        for ws in list(fake._sockets):
            await ws.close()
        await wait_until(lambda: not status.connected)
        await wait_until(lambda: "internal_error" in (status.reason or ""))
        await wait_until(lambda: status.connected)
        assert len(fake.api_calls("apps.connections.open")) == 5
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert not status.connected and status.reason == "slack: stopped"
    failures = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "cytobot.slack"]
    assert len(failures) == 3
    assert all(m.startswith("Slack Socket Mode is not connected: Slack answered apps.connections.open with 'internal_error'")
               for m in failures)
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("token", ["xapp-fake", "xapp-1-A1-test", "xapp-1-A1-1-xyz", "xapp-1-A1-1-ab\ncd", "xapp-1-a1-1-abc"])
def test_a_fake_app_token_is_refused_before_connecting(monkeypatch: Any, capsys: Any, token: str) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", token)
    assert cli.main([]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("cytobot slack: SLACK_APP_TOKEN is malformed") and token not in line


def test_bolt_does_not_warn_that_the_token_will_be_unused(monkeypatch: Any, engine: Any, caplog: Any) -> None:
    from adapters.slack.app import build_app

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)  # what makes bolt warn when a client is given
    build_app(engine, token=BOT_TOKEN, signing_secret="s", api_url="http://127.0.0.1:9/api/")
    assert not [r for r in caplog.records if "will be unused" in r.getMessage()]
    logging.getLogger("cytobot.slack.bolt").warning("other warnings still pass")
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == ["other warnings still pass"]
