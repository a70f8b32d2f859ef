"""`cytobot discord ...`: run the bot, sync its commands, print the invite URL.

Settings come from the environment (so `cytobot run` and containers need no flags):
  DISCORD_TOKEN             bot token (required to run or sync)
  DISCORD_APPLICATION_ID    application id for the invite URL (else fetched with the token)
  DISCORD_GUILD_ID          sync to this guild instead of globally (same as --guild)
  DISCORD_SYNC              "1": sync the command tree at start-up (same as --sync)
  CYTOBOT_DISCORD_COMMAND   name of the slash command group (default "crs")
  DISCORD_API_URL           REST base including /api/v10, for tests and proxies
  DISCORD_GATEWAY_URL       gateway websocket URL, for tests and proxies
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import discord

from .client import DEFAULT_COMMAND, build_client, point_discord_py_at

log = logging.getLogger(__name__)

# VIEW_CHANNEL + SEND_MESSAGES + EMBED_LINKS: all a bot needs to post cards.
INVITE_PERMISSIONS = discord.Permissions(view_channel=True, send_messages=True, embed_links=True).value  # 19456
INVITE_SCOPES = "bot+applications.commands"
INVITE_BASE = "https://discord.com/oauth2/authorize"
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
COMMAND_SHAPE = re.compile(r"^[-_a-z0-9]{1,32}$")
SNOWFLAKE = re.compile(r"^[0-9]{1,20}$")
TRUE = frozenset({"1", "true", "yes", "on"})


class ConfigError(Exception):
    """A missing or malformed setting; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    token: str
    command_name: str
    guild_id: int | None
    sync: bool


def invite_url(application_id: int) -> str:
    return f"{INVITE_BASE}?client_id={application_id}&scope={INVITE_SCOPES}&permissions={INVITE_PERMISSIONS}"


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def _token() -> str:
    token = _env("DISCORD_TOKEN")
    if not token:
        raise ConfigError("DISCORD_TOKEN is not set: copy the bot token from the Discord Developer Portal (Bot > Reset Token).")
    if token.lower().startswith("bot "):
        raise ConfigError("DISCORD_TOKEN is malformed: give the token alone, without the 'Bot ' prefix.")
    if not TOKEN_SHAPE.match(token):
        raise ConfigError("DISCORD_TOKEN is malformed: a bot token is three dot-separated parts (xxxx.yyyy.zzzz).")
    return token


def _snowflake(name: str, value: str) -> int | None:
    if not value:
        return None
    if not SNOWFLAKE.match(value):
        raise ConfigError(f"{name} is malformed: expected a numeric Discord id, got {value[:40]!r}.")
    return int(value)


def _command_name() -> str:
    name = _env("CYTOBOT_DISCORD_COMMAND") or DEFAULT_COMMAND
    if not COMMAND_SHAPE.match(name):
        raise ConfigError(f"CYTOBOT_DISCORD_COMMAND is malformed: {name[:40]!r} must be 1-32 lowercase letters, digits, - or _.")
    return name


def apply_endpoints() -> None:
    """Point discord.py at DISCORD_API_URL / DISCORD_GATEWAY_URL when set (process-wide)."""
    api, gateway = _env("DISCORD_API_URL"), _env("DISCORD_GATEWAY_URL")
    if api and urlsplit(api).scheme not in ("http", "https"):
        raise ConfigError(f"DISCORD_API_URL is malformed: {api[:80]!r} must be an http(s) URL ending in /api/v10.")
    if gateway and urlsplit(gateway).scheme not in ("ws", "wss"):
        raise ConfigError(f"DISCORD_GATEWAY_URL is malformed: {gateway[:80]!r} must be a ws(s) URL.")
    point_discord_py_at(api or None, gateway or None)


def settings(*, sync: bool | None = None, guild: str | None = None) -> Settings:
    """Everything the bot needs from the environment; flags override the variables."""
    token = _token()
    guild_id = _snowflake("--guild" if guild else "DISCORD_GUILD_ID", guild if guild else _env("DISCORD_GUILD_ID"))
    sync = sync or _env("DISCORD_SYNC").lower() in TRUE
    apply_endpoints()
    return Settings(token, _command_name(), guild_id, sync)


def configured() -> bool:
    """Whether `cytobot run` should start the Discord adapter."""
    return bool(_env("DISCORD_TOKEN"))


# --- running ------------------------------------------------------------------------------------
async def serve(engine, *, sync: bool | None = None, guild: str | None = None) -> None:
    """Run the bot until cancelled (settings from the environment). Raises ConfigError on bad settings."""
    from bot.engine import Engine

    s = settings(sync=sync, guild=guild)
    if isinstance(engine, Engine) and engine.prefix != f"/{s.command_name}":
        # Same pack and services (daily facts), hints name this command.
        engine = Engine(engine.catalog, prefix=f"/{s.command_name}", registry=engine.registry, services=engine.services)
    client = build_client(engine, command_name=s.command_name, sync=s.sync, guild_id=s.guild_id)
    try:
        await client.login(s.token)  # what client.start does, with the daily poster attached once logged in
        await _attach_daily(engine, client)
        await client.connect()
    finally:
        await client.close()


async def _attach_daily(engine, client) -> None:  # type: ignore[no-untyped-def]
    """Daily facts post through this client's REST session (when the process runs the scheduler)."""
    from adapters.daily import attach_poster, runs_scheduler

    if not runs_scheduler(engine):
        return
    try:
        from adapters.discord.poster import DiscordPoster  # built on the `posters` branch
    except ImportError:
        log.warning("daily facts are not posted on Discord: adapters/discord/poster.py is missing")
        return
    await attach_poster(engine, "discord", DiscordPoster(client))


async def sync_commands(engine, guild: str | None) -> int:
    """Log in over REST only (no gateway), upload the command tree, exit."""
    s = settings(guild=guild)
    client = build_client(engine, command_name=s.command_name, guild_id=s.guild_id)
    async with client:
        await client.login(s.token)
        synced = await client.sync_commands()
    where = f"guild {s.guild_id} (available now)" if s.guild_id else "globally (may take up to an hour to appear)"
    names = ", ".join(f"/{c.name}" for c in synced)
    print(f"synced {names} {where}; subcommands: {', '.join(cmd.name for cmd in client.group.commands)}")
    return 0


async def fetch_application_id(token: str) -> int:
    """The application a bot token belongs to (GET /oauth2/applications/@me)."""
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    try:
        await http.static_login(token)
        data = await http.application_info()
        return int(data["id"])
    finally:
        await http.close()


async def print_invite_url() -> int:
    app_id = _snowflake("DISCORD_APPLICATION_ID", _env("DISCORD_APPLICATION_ID"))
    if app_id is None:
        token = _token()
        apply_endpoints()
        app_id = await fetch_application_id(token)
    print(invite_url(app_id))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cytobot discord",
        description="Run the Discord bot (DISCORD_TOKEN), sync its slash commands, or print its invite URL. "
        "See adapters/discord/README.md.",
    )
    parser.add_argument("--sync", action="store_true", help="sync the command tree at start-up")
    parser.add_argument("--guild", metavar="ID", help="sync to this guild only (instant; default: DISCORD_GUILD_ID or global)")
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    run = sub.add_parser("run", help="run the bot (the default action)")
    run.add_argument("--sync", dest="run_sync", action="store_true", help="sync the command tree at start-up")
    run.add_argument("--guild", dest="run_guild", metavar="ID", help="sync to this guild only")
    sync = sub.add_parser("sync", help="sync the slash commands and exit")
    sync.add_argument("--guild", dest="sync_guild", metavar="ID", help="sync to this guild only (instant, for testing)")
    sub.add_parser("invite-url", help="print the OAuth2 URL that adds the bot to a server")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.action == "invite-url":
            return asyncio.run(print_invite_url())
        command_name = _command_name()
        _token()  # fail on credentials before loading the pack
        from adapters.cli import load_engine

        engine = load_engine("/" + command_name)
        if engine is None:
            return 1
        if args.action == "sync":
            return asyncio.run(sync_commands(engine, args.sync_guild or args.guild))
        sync = args.sync or getattr(args, "run_sync", False)
        guild = getattr(args, "run_guild", None) or args.guild
        from adapters.daily import DailyUnavailable, serve_with_daily

        try:
            asyncio.run(serve_with_daily(engine, lambda wired: serve(wired, sync=sync, guild=guild)))
        except KeyboardInterrupt:
            pass
        except DailyUnavailable as exc:
            print(f"cytobot discord: {exc}", file=sys.stderr)
            return 2
        return 0
    except ConfigError as exc:
        print(f"cytobot discord: {exc}", file=sys.stderr)
        return 2
    except discord.LoginFailure:
        print("cytobot discord: DISCORD_TOKEN was rejected by Discord (401): reset the token in the Developer Portal.", file=sys.stderr)
        return 2
    except discord.PrivilegedIntentsRequired:
        print("cytobot discord: Discord refused a privileged intent; this bot needs none, check the intents settings.", file=sys.stderr)
        return 2
    except discord.HTTPException as exc:
        print(f"cytobot discord: Discord answered {exc.status}: {exc.text or exc}", file=sys.stderr)
        return 1
    except (aiohttp.ClientError, OSError) as exc:
        print(f"cytobot discord: cannot reach Discord ({exc}): check the network, DISCORD_API_URL and DISCORD_GATEWAY_URL.", file=sys.stderr)
        return 1
