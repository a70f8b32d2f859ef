"""Socket Mode end to end: bolt's aiohttp Socket Mode handler against a loopback websocket.

The fake Web API hands out ws://127.0.0.1:PORT/socket from apps.connections.open; the fake
socket says hello, delivers a slash_commands envelope and records the ack."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from adapters.slack.app import build_app
from adapters.slack.render import render_message
from tests.slack.blockkit_check import check_message
from tests.slack.conftest import BOT_TOKEN


def _envelope(envelope_id: str, text: str, response_url: str) -> dict[str, Any]:
    return {
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": {
            "token": "deprecated",
            "team_id": "T1",
            "team_domain": "fake",
            "channel_id": "C123",
            "channel_name": "general",
            "user_id": "U111",
            "user_name": "alice",
            "command": "/crs",
            "text": text,
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "111.222.abc",
        },
    }


async def test_slash_command_over_socket_mode_is_acked_and_answered(fake: Any, engine: Any) -> None:
    app = build_app(engine, token=BOT_TOKEN, signing_secret=None, api_url=fake.api_url)
    handler = AsyncSocketModeHandler(app, "xapp-1-A1-test")
    try:
        await asyncio.wait_for(handler.connect_async(), 5)
        [opened] = fake.api_calls("apps.connections.open")
        assert opened.headers.get("Authorization") == "Bearer xapp-1-A1-test"

        await fake.envelopes.put(_envelope("env-1", "compare severity", fake.response_url("sm1")))
        await fake.envelopes.put(_envelope("env-2", "topic <!channel> public", fake.response_url("sm2")))
        await fake.wait_for(lambda f: len(f.acks()) == 2 and len(f.responses()) == 2)

        assert sorted(a.body["envelope_id"] for a in fake.acks()) == ["env-1", "env-2"]
        by_id = {c.name: c.body for c in fake.responses()}
        assert by_id["sm1"]["response_type"] == "ephemeral"
        assert by_id["sm1"]["blocks"] == render_message(engine.execute("compare severity"))["blocks"]
        assert "<!channel>" not in str(by_id["sm2"])
        for body in by_id.values():
            assert check_message(body) == []
    finally:
        await asyncio.wait_for(handler.close_async(), 5)


async def test_service_uses_socket_mode_from_the_settings_and_stops_cleanly(fake: Any, engine: Any, monkeypatch: Any) -> None:
    from adapters.settings import load_settings
    from adapters.slack.cli import Settings
    from adapters.slack.service import SlackService
    from bot.engine import Engine

    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A1-2-e0")
    monkeypatch.setenv("SLACK_API_URL", fake.api_url.rstrip("/"))  # the trailing "/" is added for us
    monkeypatch.setenv("CYTOBOT_SLACK_COMMAND", "/cyto")
    settings = Settings.for_mode(load_settings())
    service = SlackService(Engine(engine.catalog, prefix=settings.command), settings)
    assert service.web_app() is None  # Socket Mode serves no HTTP
    await service.start()
    try:
        await fake.wait_for(lambda f: f.api_calls("apps.connections.open"))
        envelope = _envelope("env-9", "about", fake.response_url("sm9"))
        envelope["payload"]["command"] = "/cyto"
        await fake.envelopes.put(envelope)
        await fake.wait_for(lambda f: f.acks() and f.responses())
        assert fake.acks()[0].body["envelope_id"] == "env-9"
        assert fake.responses()[0].body["response_type"] == "ephemeral"
        assert await service.check() is None
    finally:
        await service.drain()
        await asyncio.wait_for(service.close(), 5)
        service.task.cancel()
        await asyncio.gather(service.task, return_exceptions=True)
    assert await service.check() is not None  # disconnected: not ready
