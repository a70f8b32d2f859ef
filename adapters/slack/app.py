"""The bolt app: translates Slack requests into engine calls and replies into Block Kit.

One slash command (the core grammar after it), one button ("Share in channel"), and the
@mention and DM events (events.py). The command and button handlers ack first, so Slack gets its answer within 3 seconds whatever happens next, and
catch everything after the ack, so a failure reaches the user as a friendly private message
instead of Slack's "dispatch_failed". Nothing is kept between requests: any replica can
serve any request, including a click on a button another replica rendered.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler, AsyncServerErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.inflight import INFLIGHT
from adapters.slack.caller import Roles, caller_from
from adapters.slack.events import SeenEvents, register_events
from adapters.slack.render import SHARE_ACTION_ID, escape, render_message
from bot.reply import Reply, Visibility
from bot.request import Origin, Request

log = logging.getLogger("cytobot.slack")

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_COMMAND = "/crs"
EVENTS_PATH = "/slack/events"
# chat.postMessage errors the user can fix (invite the bot, or post with `public`).
NOT_POSTABLE = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "restricted_action_read_only_channel", "restricted_action_non_threadable_channel", "restricted_action_thread_only_channel"})
RATE_LIMIT_RETRIES = 2
SERVER_ERROR_RETRIES = 2


class EngineLike(Protocol):
    async def handle(self, request: Request) -> Reply: ...


def web_client(token: str, api_url: str | None = None) -> AsyncWebClient:
    """A Web API client that waits out 429s (Retry-After) and retries 500/503."""
    base = api_url or DEFAULT_API_URL
    if not base.endswith("/"):
        base += "/"  # WebClient joins method names with urljoin
    client = AsyncWebClient(token=token, base_url=base)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    client.retry_handlers.append(AsyncServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES))
    return client


def _friendly_failure(command: str) -> dict:
    text = (
        f":warning: Sorry, something went wrong on my side while answering `{escape(command)}`. "
        "Please try again in a moment; if it keeps happening, let the people who run this bot know."
    )
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def _cannot_post(error: str, command: str, bot_command: str) -> str:
    line = escape(f"{bot_command} {command} public")
    if error == "is_archived":
        return ":no_entry: This channel is archived, so I can't share the card here."
    return (
        ":information_source: I can't post in this channel yet. Invite me with `/invite @cytobot` "
        f"and press the button again, or post the card yourself with `{line}`."
    )


def _user_name(body: dict[str, Any]) -> str:
    """The sharer's handle as plain text (never a `<@U…>` mention, which would ping them)."""
    user = body.get("user") or {}
    return str(user.get("name") or user.get("username") or user.get("id") or "someone")


def _channel_id(body: dict[str, Any]) -> str | None:
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")


def build_app(
    engine: EngineLike,
    *,
    token: str,
    signing_secret: str | None,
    api_url: str | None = None,
    command: str = DEFAULT_COMMAND,
    roles: Roles | None = None,
    seen: SeenEvents | None = None,
) -> AsyncApp:
    """The bolt app. `signing_secret=None` is for Socket Mode only (no HTTP signatures).
    `roles` decides who may manage a channel's settings (default: workspace admins and owners);
    `seen` records the messages already answered (default: this process, see events.py)."""
    roles = roles or Roles()
    app = AsyncApp(
        client=web_client(token, api_url),
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
        logger=logging.getLogger("cytobot.slack.bolt"),
    )

    @app.command(command)
    @INFLIGHT.tracked  # bolt answers after the ack in a task of its own: a shutdown waits for it
    async def on_command(ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        await ack()
        text = body.get("text") or ""
        try:
            reply = await engine.handle(Request.text(text, caller_from(body, client, roles)))
            public = reply.visibility is Visibility.PUBLIC and not reply.is_error
            await respond(
                **render_message(reply),
                response_type="in_channel" if public else "ephemeral",
                unfurl_links=False,
                unfurl_media=False,
            )
        except Exception:
            log.exception("slash command failed (%d characters typed)", len(text))
            await _respond_safely(respond, _friendly_failure(f"{command} {text}".strip()))

    @app.action(re.compile(rf"^{re.escape(SHARE_ACTION_ID)}(:\d+)?$"))
    @INFLIGHT.tracked
    async def on_share(ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        shared_command = str(action.get("value") or "")
        try:
            caller = caller_from(body, client, roles)
            reply = await engine.handle(Request.text(shared_command, caller, public=True, origin=Origin.BUTTON))
            if reply.is_error:
                await respond(**render_message(reply), response_type="ephemeral", replace_original=False)
                return
            message = render_message(reply, shared_by=_user_name(body))
            try:
                await client.chat_postMessage(channel=_channel_id(body), **message, unfurl_links=False, unfurl_media=False)
            except SlackApiError as e:
                error = str(e.response.get("error", ""))
                if error not in NOT_POSTABLE:
                    raise
                log.info("share not possible in %s: %s", _channel_id(body), error)
                await respond(text=_cannot_post(error, shared_command, command), response_type="ephemeral", replace_original=False)
                return
            # The private copy has served its purpose; removing it avoids sharing twice.
            await respond(delete_original=True)
        except Exception:
            log.exception("share failed")
            await _respond_safely(respond, {**_friendly_failure("Share in channel"), "replace_original": False})

    register_events(app, engine, roles=roles, seen=seen)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error for %s: %r", (body or {}).get("type") or (body or {}).get("command"), error)

    return app


async def _respond_safely(respond: Any, message: dict) -> None:
    """Last-resort reply; if even that fails (expired response_url), the log has it."""
    try:
        await respond(**message, response_type="ephemeral")
    except Exception:
        log.exception("could not tell the user about a failure")


@dataclass
class HttpServer:
    """A running aiohttp server for the bolt app (`port` is the bound port)."""

    runner: web.AppRunner
    port: int

    async def close(self) -> None:
        await self.runner.cleanup()


def http_application(app: AsyncApp) -> web.Application:
    """Slack's requests at POST /slack/events, plus GET /healthz for load balancers."""

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    web_app = web.Application()
    web_app.router.add_post(EVENTS_PATH, events)
    web_app.router.add_get("/healthz", healthz)
    return web_app


async def start_http(app: AsyncApp, host: str = "0.0.0.0", port: int = 3000) -> HttpServer:
    """Serve the app over HTTP; port 0 picks a free port (tests, benchmarks)."""
    runner = web.AppRunner(http_application(app), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1] if site._server else port  # type: ignore[union-attr]
    return HttpServer(runner, bound)
