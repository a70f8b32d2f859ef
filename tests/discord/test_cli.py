"""`cytobot discord ...`: credentials checks, invite URL, sync-and-exit, and serve()."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import discord
import pytest

from adapters.discord import cli
from bot.engine import Engine
from tests.discord.conftest import CONTENT
from tests.fakes.discord_api import APP_ID, FakeDiscord

TOKEN = "MTEwMDAw.fake.token-for-tests"
VARS = ("DISCORD_TOKEN", "DISCORD_APPLICATION_ID", "DISCORD_GUILD_ID", "DISCORD_SYNC", "CYTOBOT_DISCORD_COMMAND",
        "DISCORD_API_URL", "DISCORD_GATEWAY_URL")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch) -> Iterator[None]:
    """No real credentials leak in, and the process-wide discord.py endpoints are restored after."""
    for name in VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CYTOBOT_CONTENT_DIR", str(CONTENT))
    saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    yield
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


@pytest.fixture
async def fake(monkeypatch):
    fake = await FakeDiscord(token=TOKEN).start()
    monkeypatch.setenv("DISCORD_API_URL", fake.api_url)
    monkeypatch.setenv("DISCORD_GATEWAY_URL", fake.gateway_url)
    yield fake
    await fake.stop()


@pytest.mark.parametrize("argv", [[], ["--sync"], ["sync"], ["invite-url"]])
def test_missing_token_names_the_variable(argv, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "DISCORD_TOKEN" in err and len(err.strip().splitlines()) == 1
    assert not cli.configured()


@pytest.mark.parametrize(("name", "value", "argv"), [
    ("DISCORD_TOKEN", "Bot " + TOKEN, ["sync"]),
    ("DISCORD_TOKEN", "not a token", []),
    ("DISCORD_APPLICATION_ID", "my-app", ["invite-url"]),
    ("DISCORD_GUILD_ID", "guild-7", ["sync"]),
    ("CYTOBOT_DISCORD_COMMAND", "Has Spaces", []),
    ("DISCORD_API_URL", "ftp://example.org", ["sync"]),
])
def test_malformed_settings_name_the_variable(monkeypatch, capsys, name, value, argv):
    if name != "DISCORD_TOKEN":
        monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv(name, value)
    assert cli.main(argv) == 2
    assert name in capsys.readouterr().err


def test_invite_url_from_application_id_without_network(monkeypatch, capsys):
    monkeypatch.setenv("DISCORD_APPLICATION_ID", "123456789012345678")
    assert cli.main(["invite-url"]) == 0
    assert capsys.readouterr().out.strip() == (
        "https://discord.com/oauth2/authorize?client_id=123456789012345678"
        "&scope=bot+applications.commands&permissions=19456"
    )


async def test_invite_url_fetches_the_application_of_the_token(fake, monkeypatch, capsys):
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    assert await asyncio.wait_for(asyncio.to_thread(cli.main, ["invite-url"]), 10) == 0
    assert f"client_id={APP_ID}&" in capsys.readouterr().out
    assert fake.calls_to("GET", "/oauth2/applications/@me")


async def test_rejected_token_is_a_clear_error(fake, monkeypatch, capsys):
    monkeypatch.setenv("DISCORD_TOKEN", "MTEw.wrong.token")
    assert await asyncio.wait_for(asyncio.to_thread(cli.main, ["sync"]), 10) == 2
    assert "DISCORD_TOKEN was rejected" in capsys.readouterr().err


async def test_sync_to_a_guild_uploads_and_exits_without_the_gateway(fake, monkeypatch, capsys):
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("CYTOBOT_DISCORD_COMMAND", "cyto")
    assert await asyncio.wait_for(asyncio.to_thread(cli.main, ["sync", "--guild", "4242"]), 10) == 0
    assert fake.synced[4242][0]["name"] == "cyto"
    assert None not in fake.synced  # not global
    assert fake.identifies == []  # never connected to the gateway
    assert "guild 4242" in capsys.readouterr().out


async def test_serve_runs_until_cancelled(fake, monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("DISCORD_SYNC", "1")
    assert cli.configured()
    task = asyncio.create_task(cli.serve(Engine.load(CONTENT)))
    await fake.wait_connected(timeout=10)
    await fake.wait_for(lambda: None in fake.synced, timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
