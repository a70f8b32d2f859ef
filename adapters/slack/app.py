"""The bolt app: translates Slack requests into engine calls and replies into Block Kit.

One slash command (the core grammar after it), one button ("Share in channel"), and the
@mention and DM events (events.py). The command and button handlers ack first, so Slack gets its answer within 3 seconds whatever happens next, and
catch everything after the ack, so a failure reaches the user as a friendly private message
instead of Slack's "dispatch_failed". Nothing is kept between requests: any replica can
serve any request, including a click on a button another replica rendered.

A reply sent to the `response_url` is checked: Slack answering 429 or 5xx gets one retry (after
its Retry-After for a 429), and a reply that still does not get through is one warning line
(the status only: no body, nothing the user typed) and counts as `undelivered` in
`cytobot_commands_total`, never `ok`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from functools import lru_cache
from typing import Any, Protocol

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler, AsyncServerErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.inflight import INFLIGHT
from adapters.observe import counted_on_delivery
from adapters.slack.caller import Roles, caller_from
from adapters.slack.http import EVENTS_PATH, HttpServer, QuietRequestVerification, http_application, start_http
from adapters.slack.events import SeenEvents, register_events
from adapters.slack.render import SHARE_ACTION_ID, escape, render_message
from bot.reply import Reply, Visibility
from bot.request import Origin, Request

log = logging.getLogger("cytobot.slack")
# HTTP mode lives in adapters.slack.http; these names stay importable from here.
__all__ = ["EVENTS_PATH", "HttpServer", "build_app", "http_application", "render_cached", "start_http", "web_client"]

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_COMMAND = "/crs"
# chat.postMessage errors the user can fix (invite the bot, or post with `public`).
NOT_POSTABLE = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "restricted_action_read_only_channel", "restricted_action_non_threadable_channel", "restricted_action_thread_only_channel"})
RATE_LIMIT_RETRIES = 2
SERVER_ERROR_RETRIES = 2
RENDER_CACHE_SIZE = 512
RESPOND_RETRY_PAUSE = 1.0  # seconds before the one retry of a response_url that answered 5xx
RESPOND_RETRY_MAX = 30.0  # the longest Retry-After honoured (a response_url lasts 30 minutes)


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


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def _rendered(reply: Reply, shared_by: str | None) -> dict:
    return render_message(reply, shared_by=shared_by)


def render_cached(reply: Reply, *, shared_by: str | None = None) -> dict:
    """`render_message`, computed once per distinct reply.

    The key is the reply itself, compared by value (every card, field, footer and action), so
    the cache can never answer with a stale card: tomorrow's `fact today`, another random fact
    or a reloaded pack make a different reply and so a different key. Callers get a fresh
    top-level dict; the blocks inside are shared and must not be mutated (bolt and slack_sdk
    only serialise them)."""
    try:
        return dict(_rendered(reply, shared_by))
    except TypeError:  # a reply holding something unhashable (a list): render it afresh
        return render_message(reply, shared_by=shared_by)


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
    `seen` records the messages already answered (default: this process only; `cytobot run` passes
    `bot.daily.seen.DatabaseSeen`, shared by the replicas; see events.py)."""
    roles = roles or Roles()
    bolt_log = logging.getLogger("cytobot.slack.bolt")
    if bolt_log.level == logging.NOTSET:
        # bolt builds a debug line per middleware and listener on every request whenever this
        # logger's *own* level is NOTSET (it tests `.level <= DEBUG`, not the effective level):
        # start at the floor `adapters.logs` gives it, so that costs nothing unless asked for.
        bolt_log.setLevel(logging.WARNING)
    if not any(isinstance(f, _UnusedTokenWarning) for f in bolt_log.filters):
        bolt_log.addFilter(_UnusedTokenWarning())
    app = AsyncApp(
        client=web_client(token, api_url),
        signing_secret=signing_secret or "",
        # bolt's own check logs every refused body at INFO; this one says only why and how big.
        request_verification_enabled=False,
        before_authorize=QuietRequestVerification(signing_secret) if signing_secret is not None else None,
        logger=bolt_log,
    )

    @app.command(command)
    @INFLIGHT.tracked  # bolt answers after the ack in a task of its own: a shutdown waits for it
    async def on_command(ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        await ack()
        text = body.get("text") or ""
        with counted_on_delivery() as delivery:
            try:
                reply = await engine.handle(Request.text(text, caller_from(body, client, roles)))
                public = reply.visibility is Visibility.PUBLIC and not reply.is_error
                message = {**render_cached(reply), "response_type": "in_channel" if public else "ephemeral",
                           "unfurl_links": False, "unfurl_media": False}
                if not await respond_checked(respond, message, what="slash command"):
                    delivery.failed()
            except Exception:
                delivery.failed()
                log.exception("slash command failed (%d characters typed)", len(text))
                await _respond_safely(respond, _friendly_failure(f"{command} {text}".strip()))

    @app.action(re.compile(rf"^{re.escape(SHARE_ACTION_ID)}(:\d+)?$"))
    @INFLIGHT.tracked
    async def on_share(ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        await ack()
        with counted_on_delivery() as delivery:
            await _share(body, respond, client, delivery)

    async def _share(body: dict[str, Any], respond: Any, client: AsyncWebClient, delivery: Any) -> None:
        action = (body.get("actions") or [{}])[0]
        shared_command = str(action.get("value") or "")
        try:
            caller = caller_from(body, client, roles)
            reply = await engine.handle(Request.text(shared_command, caller, public=True, origin=Origin.BUTTON))
            if reply.is_error:
                if not await respond_checked(respond, {**render_cached(reply), "response_type": "ephemeral",
                                                       "replace_original": False}, what="share"):
                    delivery.failed()
                return
            message = render_cached(reply, shared_by=_user_name(body))
            try:
                await client.chat_postMessage(channel=_channel_id(body), **message, unfurl_links=False, unfurl_media=False)
            except SlackApiError as e:
                error = str(e.response.get("error", ""))
                if error not in NOT_POSTABLE:
                    raise
                log.info("share not possible in %s: %s", _channel_id(body), error)
                await respond_checked(respond, {"text": _cannot_post(error, shared_command, command),
                                                "response_type": "ephemeral", "replace_original": False}, what="share")
                return
            # The private copy has served its purpose; removing it avoids sharing twice.
            await respond_checked(respond, {"delete_original": True}, what="share clean-up")
        except Exception:
            delivery.failed()
            log.exception("share failed")
            await _respond_safely(respond, {**_friendly_failure("Share in channel"), "replace_original": False})

    register_events(app, engine, roles=roles, seen=seen)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error for %s: %r", (body or {}).get("type") or (body or {}).get("command"), error)

    return app


async def respond_checked(respond: Any, message: dict[str, Any], *, what: str) -> bool:
    """Send `message` through bolt's `respond` (the response_url) and check Slack's answer,
    which bolt does not: a 429 (after its Retry-After) or a 5xx gets one retry. False, after one
    warning line naming the status only, if it did not get through."""
    retried = False
    while True:
        response = await respond(**message)
        status = int(getattr(response, "status_code", 200) or 200)
        if status < 400:
            return True
        if not retried and (status == 429 or status >= 500):
            retried = True
            await asyncio.sleep(_retry_after(response) if status == 429 else RESPOND_RETRY_PAUSE)
            continue
        log.warning("a %s reply did not reach Slack: the response_url answered HTTP %d%s", what, status,
                    " again after one retry" if retried else "")
        return False


def _retry_after(response: Any) -> float:
    headers = getattr(response, "headers", None) or {}
    value = next((str(v) for k, v in dict(headers).items() if str(k).lower() == "retry-after"), "")
    try:
        return min(max(float(value), 0.0), RESPOND_RETRY_MAX)
    except ValueError:
        return RESPOND_RETRY_PAUSE


async def _respond_safely(respond: Any, message: dict) -> None:
    """Last-resort reply; if even that fails (expired response_url), the log has it."""
    try:
        await respond_checked(respond, {**message, "response_type": "ephemeral"}, what="failure notice")
    except Exception:
        log.exception("could not tell the user about a failure")


class _UnusedTokenWarning(logging.Filter):
    """bolt warns that `token` will be unused whenever SLACK_BOT_TOKEN is set and a client is
    given (ours, with retry handlers and the API URL). Nothing to act on: drop exactly that."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != warning_client_prioritized_and_token_skipped()
