"""`cytobot slack`: run the Slack adapter in Socket Mode (default) or HTTP mode (`--http`).

Settings come from the environment so the same image runs anywhere; credentials are checked
before anything connects, and a bad one is named in a one-line message (exit code 2).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError

from adapters.slack.app import DEFAULT_COMMAND, build_app
from adapters.slack.http import start_http
from adapters.slack.caller import Roles, admin_ids
from adapters.slack.socket_mode import Backoff, SocketModeConnection, TokenRefused
from adapters.status import AdapterStatus

DEFAULT_PORT = 3000
DEFAULT_HOST = "0.0.0.0"
# An app-level token: xapp-<version>-<app id>-<number>-<hex secret>, e.g. xapp-1-A0123ABCD-1234567890-0a1b2c...
APP_TOKEN_SHAPE = re.compile(r"^xapp-[0-9]+-[A-Z0-9]+-[0-9]+-[0-9a-fA-F]+$")


class ConfigError(ValueError):
    """A missing or malformed setting; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    bot_token: str
    signing_secret: str | None
    app_token: str | None
    api_url: str | None
    command: str
    admins: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, http: bool) -> "Settings":
        """Check what the chosen mode needs: HTTP needs the signing secret, Socket Mode the app token."""
        bot_token = env.get("SLACK_BOT_TOKEN", "").strip()
        if not bot_token:
            raise ConfigError("SLACK_BOT_TOKEN is not set (the bot token from OAuth & Permissions, starting with xoxb-)")
        if not bot_token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
        secret = env.get("SLACK_SIGNING_SECRET", "").strip() or None
        app_token = env.get("SLACK_APP_TOKEN", "").strip() or None
        if http:
            if secret is None:
                raise ConfigError("SLACK_SIGNING_SECRET is not set (Basic Information > Signing Secret); HTTP mode needs it")
        else:
            if app_token is None:
                raise ConfigError("SLACK_APP_TOKEN is not set (an app-level token starting with xapp-, scope connections:write); Socket Mode needs it")
            if not app_token.startswith("xapp-"):
                raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
            if not APP_TOKEN_SHAPE.match(app_token):
                raise ConfigError("SLACK_APP_TOKEN is malformed: an app-level token looks like xapp-1-A0123ABCD-1234567890-0a1b2c... "
                                  "(copy all of it from Basic Information > App-Level Tokens)")
        command = env.get("CYTOBOT_SLACK_COMMAND", "").strip() or DEFAULT_COMMAND
        if not command.startswith("/") or len(command) < 2 or " " in command:
            raise ConfigError(f"CYTOBOT_SLACK_COMMAND must look like /crs (got {command!r})")
        api_url = env.get("SLACK_API_URL", "").strip() or None
        if api_url is not None and not api_url.startswith(("http://", "https://")):
            raise ConfigError("SLACK_API_URL must be an http(s) URL such as https://slack.com/api/")
        return cls(bot_token, secret, app_token, api_url, command, admin_ids(env))


def configured(env: Mapping[str, str] | None = None) -> bool:
    """Credentials for some mode are present: a bot token plus an app token or a signing secret."""
    env = os.environ if env is None else env
    return bool(env.get("SLACK_BOT_TOKEN", "").strip()) and bool(
        env.get("SLACK_APP_TOKEN", "").strip() or env.get("SLACK_SIGNING_SECRET", "").strip()
    )


async def run_socket_mode(engine: object, settings: Settings, *, status: AdapterStatus | None = None,
                          backoff: Backoff = Backoff()) -> None:
    """Connect over Socket Mode and stay connected until cancelled, reconnecting with backoff.
    Raises TokenRefused when Slack refuses SLACK_APP_TOKEN."""
    app = build_app(engine, token=settings.bot_token, signing_secret=None, api_url=settings.api_url, command=settings.command, roles=Roles(settings.admins))  # type: ignore[arg-type]
    connection = SocketModeConnection(app, settings.app_token or "", backoff=backoff)
    if status is not None:
        status.watch(lambda: connection.connected, lambda: connection.problem)
    why = "stopped"
    try:
        logging.getLogger("cytobot.slack").info("Slack Socket Mode connecting (%s)", settings.command)
        await connection.run()
    except TokenRefused as refused:
        why = str(refused)
        raise
    finally:
        if status is not None:
            status.stopped(why)
        await connection.close_async()


async def run_http(engine: object, settings: Settings, host: str, port: int, *, status: AdapterStatus | None = None) -> None:
    """Serve POST /slack/events until cancelled."""
    app = build_app(engine, token=settings.bot_token, signing_secret=settings.signing_secret, api_url=settings.api_url, command=settings.command, roles=Roles(settings.admins))  # type: ignore[arg-type]
    server = await start_http(app, host, port, signing_secret=settings.signing_secret or "")
    logging.getLogger("cytobot.slack").info("Slack HTTP mode listening on %s:%d/slack/events", host, server.port)
    if status is not None:
        status.watch(lambda: True)  # listening is all HTTP mode needs; Slack comes to us
    try:
        await asyncio.Event().wait()
    finally:
        if status is not None:
            status.stopped()
        await server.close()


async def serve(engine: object, *, status: AdapterStatus | None = None) -> None:
    """For `cytobot run`: Socket Mode if SLACK_APP_TOKEN is set, else HTTP mode on
    CYTOBOT_SLACK_HOST:CYTOBOT_SLACK_PORT (default 0.0.0.0:3000). `status` (optional) tells
    a readiness check whether Slack is connected and, if not, why."""
    from bot.engine import Engine

    env = os.environ
    http = not env.get("SLACK_APP_TOKEN", "").strip()
    settings = Settings.from_env(env, http=http)
    if isinstance(engine, Engine) and engine.prefix != settings.command:
        engine = Engine(engine.catalog, prefix=settings.command)  # same pack, hints name this command
    if http:
        port_text = env.get("CYTOBOT_SLACK_PORT", "").strip() or str(DEFAULT_PORT)
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(f"CYTOBOT_SLACK_PORT must be a port number (got {port_text!r})")
        await run_http(engine, settings, env.get("CYTOBOT_SLACK_HOST", "").strip() or DEFAULT_HOST, int(port_text), status=status)
    else:
        await run_socket_mode(engine, settings, status=status)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cytobot slack", description="Run the Slack adapter (Socket Mode unless --http).")
    p.add_argument("--http", action="store_true", help="serve Slack's HTTP requests at POST /slack/events instead of Socket Mode")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"HTTP mode port (default {DEFAULT_PORT})")
    p.add_argument("--host", default=DEFAULT_HOST, help=f"HTTP mode address (default {DEFAULT_HOST})")
    p.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env(os.environ, http=args.http)
    except ConfigError as e:
        print(f"cytobot slack: {e}", file=sys.stderr)
        return 2
    if args.http and not 0 <= args.port < 65536:
        print(f"cytobot slack: --port must be 0-65535 (got {args.port})", file=sys.stderr)
        return 2
    from adapters.cli import load_engine

    engine = load_engine(settings.command)  # hints then name the right command
    if engine is None:
        return 1
    runner = run_http(engine, settings, args.host, args.port) if args.http else run_socket_mode(engine, settings)
    try:
        asyncio.run(runner)
    except KeyboardInterrupt:
        return 0
    except TokenRefused as e:
        print(f"cytobot slack: {e}", file=sys.stderr)
        return 2
    except SlackApiError as e:
        print(f"cytobot slack: Slack refused the connection: {e.response.get('error', e)} (check the tokens)", file=sys.stderr)
        return 2
    except (aiohttp.ClientError, OSError) as e:
        print(f"cytobot slack: cannot reach Slack ({e}): check the network and SLACK_API_URL.", file=sys.stderr)
        return 1
    return 0
