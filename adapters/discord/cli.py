"""`cytobot discord ...`: run the bot, sync its commands, print the invite URL.

Settings come from `adapters.settings` (environment and `.env`; see `.env.example`), so
`cytobot run` and containers need no flags. Flags override: `--sync` (DISCORD_SYNC),
`--guild` (DISCORD_GUILD_ID). DISCORD_SHARD_IDS / DISCORD_SHARD_COUNT run one range of
shards in this process (one replica per range). A missing or malformed setting stops the
command with a one-line message naming the variable (exit code 78).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp
import discord

from adapters.settings import EX_CONFIG, ConfigError

from .client import DEFAULT_COMMAND, build_client, point_discord_py_at

if TYPE_CHECKING:
    from adapters.settings import Settings as AppSettings

log = logging.getLogger(__name__)

# VIEW_CHANNEL + SEND_MESSAGES + EMBED_LINKS: all a bot needs to post cards.
INVITE_PERMISSIONS = discord.Permissions(view_channel=True, send_messages=True, embed_links=True).value  # 19456
INVITE_SCOPES = "bot+applications.commands"
INVITE_BASE = "https://discord.com/oauth2/authorize"
SNOWFLAKE = re.compile(r"^[0-9]{1,20}$")


@dataclass(frozen=True, slots=True)
class Settings:
    """What one Discord connection needs (the token unwrapped at this edge)."""

    token: str
    command_name: str = DEFAULT_COMMAND
    guild_id: int | None = None
    sync: bool = False
    shard_ids: tuple[int, ...] | None = None
    shard_count: int | None = None


def invite_url(application_id: int) -> str:
    return f"{INVITE_BASE}?client_id={application_id}&scope={INVITE_SCOPES}&permissions={INVITE_PERMISSIONS}"


def _token(app: AppSettings) -> str:
    if app.discord_token is None:
        raise ConfigError("DISCORD_TOKEN is not set: copy the bot token from the Discord Developer Portal (Bot > Reset Token).")
    return app.discord_token.get_secret_value()


def _guild_flag(value: str) -> int:
    if not SNOWFLAKE.match(value):
        raise ConfigError(f"--guild is malformed: expected a numeric Discord id, got {value[:40]!r}.")
    return int(value)


def apply_endpoints(app: AppSettings) -> None:
    """Point discord.py at DISCORD_API_URL / DISCORD_GATEWAY_URL when set (process-wide)."""
    point_discord_py_at(app.discord_api_url, app.discord_gateway_url)


def settings(app: AppSettings, *, sync: bool | None = None, guild: str | None = None) -> Settings:
    """Everything the bot needs; flags override the variables."""
    token = _token(app)
    guild_id = _guild_flag(guild) if guild else app.discord_guild_id
    apply_endpoints(app)
    return Settings(token, app.cytobot_discord_command, guild_id, bool(sync) or app.discord_sync,
                    app.discord_shard_ids, app.discord_shard_count)


async def sync_commands(engine, s: Settings) -> int:
    """Log in over REST only (no gateway), upload the command tree, exit."""
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


async def print_invite_url(app: AppSettings) -> int:
    app_id = app.discord_application_id
    if app_id is None:
        token = _token(app)
        apply_endpoints(app)
        app_id = await fetch_application_id(token)
    print(invite_url(app_id))
    return 0


def describe_failure(exc: BaseException) -> tuple[str, int] | None:
    """A one-line reason and exit code for what Discord (or the network) answered, if known."""
    if isinstance(exc, discord.LoginFailure):
        return "DISCORD_TOKEN was rejected by Discord (401): reset the token in the Developer Portal.", 2
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return "Discord refused a privileged intent; this bot needs none, check the intents settings.", 2
    if isinstance(exc, discord.HTTPException):
        return f"Discord answered {exc.status}: {exc.text or exc}", 1
    if isinstance(exc, aiohttp.ClientError | OSError):
        return f"cannot reach Discord ({exc}): check the network, DISCORD_API_URL and DISCORD_GATEWAY_URL.", 1
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cytobot discord",
        description="Run the Discord bot (DISCORD_TOKEN), sync its slash commands, or print its invite URL. "
        "See adapters/discord/README.md.",
    )
    parser.add_argument("--sync", action="store_true", help="sync the command tree at start-up")
    parser.add_argument("--guild", metavar="ID", help="sync to this guild only (instant; default: DISCORD_GUILD_ID or global)")
    parser.add_argument("--log-level", type=str.upper, choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
                        help="logging level (default: CYTOBOT_LOG_LEVEL, else INFO)")
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    run = sub.add_parser("run", help="run the bot (the default action)")
    run.add_argument("--sync", dest="run_sync", action="store_true", help="sync the command tree at start-up")
    run.add_argument("--guild", dest="run_guild", metavar="ID", help="sync to this guild only")
    sync = sub.add_parser("sync", help="sync the slash commands and exit")
    sync.add_argument("--guild", dest="sync_guild", metavar="ID", help="sync to this guild only (instant, for testing)")
    sub.add_parser("invite-url", help="print the OAuth2 URL that adds the bot to a server")
    return parser


def main(argv: list[str], app: AppSettings | None = None) -> int:
    args = _parser().parse_args(argv)
    from adapters.cli import load_config, load_engine, setup_logging

    app = app or load_config("cytobot discord")
    if app is None:
        return EX_CONFIG
    setup_logging(app, args.log_level)
    try:
        if args.action == "invite-url":
            return asyncio.run(print_invite_url(app))
        if args.action == "sync":
            s = settings(app, guild=args.sync_guild or args.guild)  # fail on credentials before loading the pack
            engine = load_engine(app, "/" + s.command_name)
            return 1 if engine is None else asyncio.run(sync_commands(engine, s))
        s = settings(app, sync=args.sync or getattr(args, "run_sync", False),
                     guild=getattr(args, "run_guild", None) or args.guild)
        from adapters.launch import serve

        try:
            return asyncio.run(serve(app, discord=s, prog="cytobot discord"))
        except KeyboardInterrupt:
            return 0
    except ConfigError as exc:
        print(f"cytobot discord: {exc}", file=sys.stderr)
        return EX_CONFIG
    except (discord.DiscordException, aiohttp.ClientError, OSError) as exc:
        described = describe_failure(exc)
        if described is None:
            raise
        print(f"cytobot discord: {described[0]}", file=sys.stderr)
        return described[1]
