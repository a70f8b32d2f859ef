"""`cytobot slack`: run the Slack adapter alone, in Socket Mode (default) or HTTP mode (`--http`).

Settings come from `adapters.settings` (environment and `.env`), so the same image runs
anywhere; what the chosen mode needs is checked before anything connects, and a missing or
malformed value is named in a one-line message (exit code 78). The adapter runs under the
same runner as `cytobot run` (SIGTERM drains), with only Slack: in HTTP mode its port also
serves /healthz, /readyz and /metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adapters.settings import EX_CONFIG, ConfigError

if TYPE_CHECKING:
    from adapters.settings import Settings as AppSettings

DEFAULT_PORT = 3000
DEFAULT_HOST = "0.0.0.0"


@dataclass(frozen=True, slots=True)
class Settings:
    """What one Slack connection needs, checked for its mode (secrets unwrapped at this edge)."""

    bot_token: str
    signing_secret: str | None
    app_token: str | None
    api_url: str | None
    command: str
    admins: frozenset[str] = frozenset()
    http: bool = False

    @classmethod
    def for_mode(cls, app: AppSettings, *, http: bool | None = None) -> Settings:
        """`http=None`: Socket Mode if SLACK_APP_TOKEN is set, else HTTP mode (what `cytobot run` does).
        HTTP mode needs the signing secret, Socket Mode the app-level token."""
        if app.slack_bot_token is None:
            raise ConfigError("SLACK_BOT_TOKEN is not set (the bot token from OAuth & Permissions, starting with xoxb-)")
        http = app.slack_http if http is None else http
        secret = app.slack_signing_secret.get_secret_value() if app.slack_signing_secret else None
        app_token = app.slack_app_token.get_secret_value() if app.slack_app_token else None
        if http and secret is None:
            raise ConfigError("SLACK_SIGNING_SECRET is not set (Basic Information > Signing Secret); HTTP mode needs it")
        if not http and app_token is None:
            raise ConfigError("SLACK_APP_TOKEN is not set (an app-level token starting with xapp-, scope connections:write); "
                              "Socket Mode needs it")
        return cls(app.slack_bot_token.get_secret_value(), secret, app_token, app.slack_api_url,
                   app.cytobot_slack_command, app.cytobot_slack_admins, http)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cytobot slack", description="Run the Slack adapter (Socket Mode unless --http).")
    p.add_argument("--http", action="store_true", help="serve Slack's HTTP requests at POST /slack/events instead of Socket Mode")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"HTTP mode port (default {DEFAULT_PORT})")
    p.add_argument("--host", default=DEFAULT_HOST, help=f"HTTP mode address (default {DEFAULT_HOST})")
    p.add_argument("--log-level", type=str.upper, choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
                   help="logging level (default: CYTOBOT_LOG_LEVEL, else INFO)")
    return p


def main(argv: list[str], app: AppSettings | None = None) -> int:
    args = _parser().parse_args(argv)
    from adapters.cli import load_config, setup_logging

    app = app or load_config("cytobot slack")
    if app is None:
        return EX_CONFIG
    try:
        settings = Settings.for_mode(app, http=args.http)
    except ConfigError as e:
        print(f"cytobot slack: {e}", file=sys.stderr)
        return EX_CONFIG
    if args.http and not 0 <= args.port < 65536:
        print(f"cytobot slack: --port must be 0-65535 (got {args.port})", file=sys.stderr)
        return EX_CONFIG
    setup_logging(app, args.log_level or None)
    from adapters.launch import serve

    http = (args.host, args.port) if args.http else None
    try:
        return asyncio.run(serve(app, slack=settings, http=http, prog="cytobot slack"))
    except KeyboardInterrupt:
        return 0
