"""`cytobot discord ...`: credentials checks, invite URL, sync-and-exit, and the running service."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import discord
import pytest

from adapters.discord import cli
from adapters.discord.service import DiscordService
from adapters.settings import EX_CONFIG, load_settings
from bot.engine import Engine
from tests.discord.conftest import CONTENT
from tests.fakes.discord_api import APP_ID, FakeDiscord

TOKEN = "MTEwMDAw.fake.token-for-tests"
VARS = ("DISCORD_TOKEN", "DISCORD_APPLICATION_ID", "DISCORD_GUILD_ID", "DISCORD_SYNC", "CYTOBOT_DISCORD_COMMAND",
        "DISCORD_API_URL", "DISCORD_GATEWAY_URL", "DISCORD_SHARD_IDS", "DISCORD_SHARD_COUNT")


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
    assert cli.main(argv) == EX_CONFIG
    err = capsys.readouterr().err
    assert "DISCORD_TOKEN" in err and len(err.strip().splitlines()) == 1
    assert not load_settings().discord_configured


@pytest.mark.parametrize(("name", "value", "argv"), [
    ("DISCORD_TOKEN", "Bot " + TOKEN, ["sync"]),
    ("DISCORD_TOKEN", "not a token", []),
    ("DISCORD_APPLICATION_ID", "my-app", ["invite-url"]),
    ("DISCORD_GUILD_ID", "guild-7", ["sync"]),
    ("CYTOBOT_DISCORD_COMMAND", "Has Spaces", []),
    ("DISCORD_API_URL", "ftp://example.org", ["sync"]),
    ("DISCORD_GATEWAY_URL", "http://example.org", []),
    ("DISCORD_SHARD_IDS", "0-1", []),  # without DISCORD_SHARD_COUNT
    ("DISCORD_SHARD_COUNT", "0", []),
])
def test_malformed_settings_name_the_variable(monkeypatch, capsys, name, value, argv):
    if name != "DISCORD_TOKEN":
        monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv(name, value)
    assert cli.main(argv) == EX_CONFIG
    err = capsys.readouterr().err
    assert name in err and len(err.strip().splitlines()) == 1
    assert TOKEN not in err


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


async def test_service_connects_syncs_reports_ready_and_closes(fake, monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("DISCORD_SYNC", "1")
    app = load_settings()
    assert app.discord_configured
    service = DiscordService(Engine.load(CONTENT), cli.settings(app), guild_ready_timeout=0.1)
    await service.start()
    try:
        assert await service.check() is not None  # not connected yet
        await fake.wait_connected(timeout=10)
        await fake.wait_for(lambda: None in fake.synced, timeout=10)
        for _ in range(100):
            if await service.check() is None:
                break
            await asyncio.sleep(0.05)
        assert await service.check() is None
        assert "shard" not in fake.identifies[0] or fake.identifies[0]["shard"] in ([0, 1], None)
    finally:
        await service.close()
    assert await service.check() == "discord: closed"
    await asyncio.wait_for(service.task, 10)


async def test_shard_range_runs_only_those_shards(fake, monkeypatch):
    """One replica per shard range: DISCORD_SHARD_IDS=1,3 of DISCORD_SHARD_COUNT=4 identifies
    exactly shards 1 and 3, each with the total count, and is ready once both are connected."""
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("DISCORD_SHARD_IDS", "1,3")
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "4")
    service = DiscordService(Engine.load(CONTENT), cli.settings(load_settings()), guild_ready_timeout=0.1)
    await service.start()
    try:
        await fake.wait_for(lambda: len(fake.identifies) == 2, timeout=15)
        assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(1, 4), (3, 4)]
        for _ in range(200):
            if await service.check() is None:
                break
            await asyncio.sleep(0.05)
        assert await service.check() is None
        assert sorted(service.client.shards) == [1, 3]
    finally:
        await service.close()
        await asyncio.gather(service.task, return_exceptions=True)
