"""The bolt app: translates Slack requests into engine calls and replies into Block Kit.

One slash command (the core grammar after it) and one button ("Share in channel"). Both
handlers ack first, so Slack gets its answer within 3 seconds whatever happens next, and
catch everything after the ack, so a failure reaches the user as a friendly private message
instead of Slack's "dispatch_failed". Nothing is kept between requests: any replica can
serve any request, including a click on a button another replica rendered.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.request_verification.async_request_verification import AsyncRequestVerification
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler, AsyncServerErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.caller import Roles, caller_from
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
# Slack's slash commands and button clicks are a few KB; a block_actions payload carries at most
# one message (50 blocks of 3,000 characters, escaped): far below this. Larger bodies are refused
# before they are read.
MAX_BODY_BYTES = 512 * 1024
SIGNATURE_MAX_AGE = 60 * 5  # seconds, as Slack's verifier allows
RENDER_CACHE_SIZE = 512


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
) -> AsyncApp:
    """The bolt app. `signing_secret=None` is for Socket Mode only (no HTTP signatures).
    `roles` decides who may manage a channel's settings (default: workspace admins and owners)."""
    roles = roles or Roles()
    bolt_log = logging.getLogger("cytobot.slack.bolt")
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
    async def on_command(ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        await ack()
        text = body.get("text") or ""
        try:
            reply = await engine.handle(Request.text(text, caller_from(body, client, roles)))
            public = reply.visibility is Visibility.PUBLIC and not reply.is_error
            await respond(
                **render_cached(reply),
                response_type="in_channel" if public else "ephemeral",
                unfurl_links=False,
                unfurl_media=False,
            )
        except Exception:
            log.exception("slash command failed (%d characters typed)", len(text))
            await _respond_safely(respond, _friendly_failure(f"{command} {text}".strip()))

    @app.action(re.compile(rf"^{re.escape(SHARE_ACTION_ID)}(:\d+)?$"))
    async def on_share(ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        shared_command = str(action.get("value") or "")
        try:
            caller = caller_from(body, client, roles)
            reply = await engine.handle(Request.text(shared_command, caller, public=True, origin=Origin.BUTTON))
            if reply.is_error:
                await respond(**render_cached(reply), response_type="ephemeral", replace_original=False)
                return
            message = render_cached(reply, shared_by=_user_name(body))
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


# --------------------------------------------------------------------------- HTTP mode, hardened
#
# Slack signs every request; anything unsigned is the internet. So, before bolt sees a byte:
# the size is capped (refused from Content-Length when possible), the body must be UTF-8,
# the timestamp a number and the signature right, and only then is the body parsed. A refusal
# answers 4xx and logs one line with a reason and a size: never the body, never a header value.

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
UTF8 = frozenset({"utf-8", "utf8"})
# Put in a request's context by http_application once it has checked the signature, so bolt's
# check does not do it again. An object, not a value: nothing in a request can forge it.
_VERIFIED = object()
_VERIFIED_KEY = "cytobot_signature_verified"


class Refusal(Exception):
    """A request answered with `status` for `reason` (a short code, also the metrics label)."""

    MESSAGES = {
        "too_large": "body larger than the limit",
        "bad_charset": "charset other than UTF-8",
        "not_utf8": "body is not UTF-8",
        "no_timestamp": "missing or non-numeric X-Slack-Request-Timestamp",
        "stale_timestamp": "timestamp more than 5 minutes away",
        "no_signature": "missing X-Slack-Signature",
        "bad_signature": "signature does not match",
        "malformed_body": "signed body is not a Slack payload",
    }

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _refusal_logged(reason: str, size: int | None, on_refused: Callable[[str], None] | None) -> None:
    log.info("refused a Slack request: %s (%s bytes)", Refusal.MESSAGES[reason], "unknown" if size is None else size)
    if on_refused is not None:
        on_refused(reason)


def verify(raw: bytes, headers: Any, verifier: SignatureVerifier, charset: str | None) -> str:
    """The body as text if the request is Slack's; else raise Refusal. Needs no parsing."""
    if charset is not None and charset.lower() not in UTF8:
        raise Refusal(415, "bad_charset")
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Refusal(401, "no_timestamp")
    if abs(verifier.clock.now() - int(timestamp)) > SIGNATURE_MAX_AGE:
        raise Refusal(401, "stale_timestamp")
    if not signature:
        raise Refusal(401, "no_signature")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "not_utf8") from None
    if not verifier.is_valid(text, timestamp, signature):
        raise Refusal(401, "bad_signature")
    return text


class QuietRequestVerification(AsyncRequestVerification):
    """bolt's signature check for requests that reach bolt some other way, minus its INFO
    line that writes the whole unauthenticated body to the log."""

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        if self._can_skip(req.mode, req.body) or req.context.get(_VERIFIED_KEY) is _VERIFIED:
            return await next()
        timestamp = req.headers.get("x-slack-request-timestamp", [""])[0]
        signature = req.headers.get("x-slack-signature", [""])[0]
        if _TIMESTAMP.fullmatch(timestamp) and self.verifier.is_valid(req.raw_body, timestamp, signature):
            return await next()
        _refusal_logged("bad_signature", len(req.raw_body.encode()), None)
        return self._build_error_response()


class _UnusedTokenWarning(logging.Filter):
    """bolt warns that `token` will be unused whenever SLACK_BOT_TOKEN is set and a client is
    given (ours, with retry handlers and the API URL). Nothing to act on: drop exactly that."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != warning_client_prioritized_and_token_skipped()


class _OneLineHttpErrors(logging.Filter):
    """aiohttp logs a request it cannot even parse (a bad request line, a control character in
    a header) at ERROR with a traceback that quotes the offending bytes. Say it in one line
    with the kind of error only."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg, record.args = "refused a malformed HTTP request: %s (HTTP %s)", (type(error).__name__, error.code)
            record.exc_info, record.exc_text, record.stack_info = None, None, None
            if record.levelno > logging.INFO:  # aiohttp already says scanners' garbage at DEBUG
                record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def http_server_logger() -> logging.Logger:
    """The logger for an aiohttp server facing the internet (`web.AppRunner(..., logger=...)`):
    requests it cannot parse become one line without the request's bytes."""
    server_log = logging.getLogger("cytobot.http")
    if not any(isinstance(f, _OneLineHttpErrors) for f in server_log.filters):
        server_log.addFilter(_OneLineHttpErrors())
    return server_log


def http_application(
    app: AsyncApp,
    signing_secret: str,
    *,
    max_body: int = MAX_BODY_BYTES,
    on_refused: Callable[[str], None] | None = None,
) -> web.Application:
    """Slack's requests at POST /slack/events, plus GET /healthz for load balancers.

    `on_refused(reason)` is called once per refused request (e.g. to count it in metrics)."""
    verifier = SignatureVerifier(signing_secret)

    async def events(request: web.Request) -> web.Response:
        size = request.content_length
        try:
            if size is not None and size > max_body:
                raise Refusal(413, "too_large")
            try:
                raw = await request.read()
            except web.HTTPRequestEntityTooLarge:
                raise Refusal(413, "too_large") from None
            size = len(raw)
            text = verify(raw, request.headers, verifier, request.charset)
            try:
                bolt_request = AsyncBoltRequest(body=text, query=request.query_string, headers=request.headers,  # type: ignore[arg-type]
                                                context={_VERIFIED_KEY: _VERIFIED})
            except Exception:  # invalid JSON, a JSON list, a payload that is not an object
                raise Refusal(400, "malformed_body") from None
        except Refusal as refusal:
            _refusal_logged(refusal.reason, size, on_refused)
            return web.Response(status=refusal.status, text=Refusal.MESSAGES[refusal.reason])
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    web_app = web.Application(client_max_size=max_body)
    web_app.router.add_post(EVENTS_PATH, events)
    web_app.router.add_get("/healthz", healthz)
    return web_app


async def start_http(
    app: AsyncApp,
    host: str = "0.0.0.0",
    port: int = 3000,
    *,
    signing_secret: str,
    on_refused: Callable[[str], None] | None = None,
) -> HttpServer:
    """Serve the app over HTTP; port 0 picks a free port (tests, benchmarks)."""
    runner = web.AppRunner(http_application(app, signing_secret, on_refused=on_refused), handle_signals=False,
                           access_log=None, logger=http_server_logger())
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1] if site._server else port  # type: ignore[union-attr]
    return HttpServer(runner, bound)
