"""The Slack adapter as a component of the runner: Socket Mode or HTTP mode.

HTTP mode has no connection to keep: the runner's HTTP server is the bolt app's aiohttp
application (behind `adapters.slack.http`'s checks), and this component only proves the bot
token works (`auth.test`) before it reports ready. Socket Mode connects out to Slack through
`adapters.slack.socket_mode`, and is ready while the websocket is up. A token Slack rejects
stops the process (exit code 2); an unreachable Slack is retried with growing pauses, one log
line each, and reported not ready with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from slack_sdk.errors import SlackApiError

from adapters.run import Component, Fatal, until_reachable
from adapters.slack.app import build_app
from adapters.slack.caller import Roles
from adapters.slack.cli import Settings
from adapters.slack.events import SeenEvents
from adapters.slack.http import http_application
from adapters.slack.socket_mode import Backoff, SocketModeConnection, TokenRefused

log = logging.getLogger("cytobot.slack")


class SlackService(Component):
    name = "slack"

    def __init__(self, engine: Any, settings: Settings, *, seen: SeenEvents | None = None):
        """`seen`: the record of events already answered, shared by the replicas (default: this process)."""
        self.settings = settings
        self.http = settings.http
        self.app = build_app(engine, token=settings.bot_token,
                             signing_secret=settings.signing_secret if self.http else None,
                             api_url=settings.api_url, command=settings.command, roles=Roles(settings.admins), seen=seen)
        self._handler: Any = None
        self._ready = False
        self.verified = asyncio.Event()  # the bot token works: HTTP mode answers requests
        self.problem = "connecting to Slack"
        self.backoff = Backoff()  # pauses between Socket Mode connection attempts

    def web_app(self) -> web.Application | None:
        """The aiohttp application serving POST /slack/events (HTTP mode only)."""
        return http_application(self.app, self.settings.signing_secret or "", ready=self.verified) if self.http else None

    async def start(self) -> None:
        self.task = asyncio.create_task(self._keep(), name="slack")

    async def _keep(self) -> None:
        if self.http:
            await until_reachable(self._connect, "Slack", self.report, log)
            self._ready = True
            self.verified.set()
            await asyncio.Event().wait()  # requests come to the HTTP server
        # Socket Mode: the connection retries by itself (one line per attempt, growing pauses)
        # and raises TokenRefused if Slack refuses the app token, now or on a later reconnect.
        self._handler = SocketModeConnection(self.app, self.settings.app_token or "", backoff=self.backoff)
        await self._handler.run()

    async def _connect(self) -> None:
        auth = await self.app.client.auth_test()
        log.info("Slack HTTP mode: bot token verified (%s), %s at /slack/events", auth.get("team"), self.settings.command)

    async def check(self) -> str | None:
        if self._handler is not None:
            return None if self._handler.connected else f"slack: {self._handler.problem}"
        if not self._ready:
            return f"slack: {self.problem}"
        return None

    async def drain(self) -> None:
        if self._handler is not None:  # Socket Mode: Slack sends new requests to the other connections
            await self._handler.stop_receiving()

    async def close(self) -> None:
        if self._handler is not None:
            await self._handler.close_async()

    def failure(self, exc: BaseException) -> Fatal:
        if isinstance(exc, TokenRefused):  # already one line naming SLACK_APP_TOKEN
            return Fatal(str(exc), 2)
        if isinstance(exc, SlackApiError):
            error = exc.response.get("error", "") if exc.response is not None else ""
            which = "SLACK_BOT_TOKEN" if self.http else "SLACK_BOT_TOKEN or SLACK_APP_TOKEN"
            return Fatal(f"Slack refused the connection: {error or exc} (check {which})", 2)
        return super().failure(exc)

