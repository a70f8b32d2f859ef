"""Slack's HTTP mode, facing the internet: POST /slack/events in front of the bolt app.

Slack signs every request; anything unsigned is the internet. So, before bolt sees a byte:
the size is capped (refused from Content-Length when possible), the charset must be UTF-8, the
timestamp a number within five minutes and the signature right, and only then is the body
parsed. A refusal answers 4xx and logs one line with a reason and a size: never the body, never
a header value. Requests aiohttp cannot even parse are one line too (`http_server_logger`).

A signed request that arrives before the bot is ready (`ready`: the bot token not yet verified
with `auth.test`, just after start) waits for it up to READY_WAIT seconds, then is acked all the
same with a polite "starting up, try again": a slash command in its answer, a button click
through its response_url. An event (mention, DM) is answered 503 instead, so Slack delivers it
again later (each message is answered once: events.py). A slash command bolt fails on with a
5xx is acked with a friendly line too, never a bare HTTP 500.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.request_verification.async_request_verification import AsyncRequestVerification
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger("cytobot.slack")

EVENTS_PATH = "/slack/events"
# Slack's slash commands and button clicks are a few KB; a block_actions payload carries at most
# one message (50 blocks of 3,000 characters, escaped): far below this. Larger bodies are refused
# before they are read.
MAX_BODY_BYTES = 512 * 1024
SIGNATURE_MAX_AGE = 60 * 5  # seconds, as Slack's verifier allows
READY_WAIT = 2.0  # seconds a request arriving before auth.test answered waits for it (Slack allows 3)
STARTING = (":hourglass_flowing_sand: I'm just starting up and can't answer yet. "
            "Please try again in a few seconds.")
FAILED = (":warning: Sorry, something went wrong on my side. Please try again in a moment; "
          "if it keeps happening, let the people who run this bot know.")
NO_AUTH_NEEDED = frozenset({"url_verification", "ssl_check"})


@dataclass
class HttpServer:
    """A running aiohttp server for the bolt app (`port` is the bound port)."""

    runner: web.AppRunner
    port: int

    async def close(self) -> None:
        await self.runner.cleanup()


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


def _kind(body: dict[str, Any]) -> str:
    if body.get("command"):
        return "slash command"
    return str(body.get("type") or "request").replace("_", " ")


async def _not_ready(body: dict[str, Any]) -> web.Response:
    """The answer to a signed request while the bot is not ready: an ack and "try again"."""
    kind = _kind(body)
    if body.get("type") == "event_callback":
        log.info("a Slack event arrived before the bot was ready: answered 503 so Slack sends it again")
        return web.Response(status=503, text="starting up")
    log.info("a Slack %s arrived before the bot was ready: acked with \"try again\"", kind)
    if body.get("command"):
        return web.json_response({"response_type": "ephemeral", "text": STARTING})
    url = body.get("response_url")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        _tell_later(url)
    return web.Response(status=200)


_PENDING: set[asyncio.Task[None]] = set()


def _tell_later(response_url: str) -> None:
    """Post "starting up" to a click's response_url after the ack (a signed request: Slack's URL)."""
    async def post() -> None:
        from aiohttp import ClientError, ClientSession, ClientTimeout

        try:
            async with ClientSession(timeout=ClientTimeout(total=5)) as session:
                async with session.post(response_url, json={"response_type": "ephemeral", "replace_original": False,
                                                            "text": STARTING}) as resp:
                    await resp.read()
        except (ClientError, OSError, TimeoutError) as exc:
            log.warning("could not tell the user the bot is starting up (%s)", type(exc).__name__)

    task = asyncio.get_running_loop().create_task(post())
    _PENDING.add(task)
    task.add_done_callback(_PENDING.discard)


def http_application(
    app: AsyncApp,
    signing_secret: str,
    *,
    max_body: int = MAX_BODY_BYTES,
    on_refused: Callable[[str], None] | None = None,
    ready: asyncio.Event | None = None,
) -> web.Application:
    """Slack's requests at POST /slack/events, plus GET /healthz for load balancers.

    `on_refused(reason)` is called once per refused request (e.g. to count it in metrics);
    `ready`, once set, says the bot can answer (before that: "starting up, try again")."""
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
        body = bolt_request.body if isinstance(bolt_request.body, dict) else {}
        if ready is not None and not ready.is_set() and body.get("type") not in NO_AUTH_NEEDED:
            try:
                await asyncio.wait_for(ready.wait(), READY_WAIT)
            except TimeoutError:
                return await _not_ready(body)
        response = await app.async_dispatch(bolt_request)
        if response.status >= 500 and body.get("command"):
            log.warning("a slash command failed before its ack (HTTP %s from bolt): acked with an apology", response.status)
            return web.json_response({"response_type": "ephemeral", "text": FAILED})
        return await to_aiohttp_response(response)

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
