"""Socket Mode that says what is wrong in one line, backs off, and knows whether it is connected.

slack_sdk's aiohttp client retries a failed connection every 10 seconds forever, each time
with a full traceback, and treats a refused token like a network blip. This client keeps
its sessions, pings and reconnects, and changes only how a connection is made:
- `apps.connections.open` errors that no retry can fix (`invalid_auth`,
  `not_allowed_token_type`, a revoked token...) stop the adapter with one line naming
  SLACK_APP_TOKEN;
- anything else (Slack unreachable, a failed websocket handshake, 5xx) is one warning line
  per attempt, retried after a bounded exponential backoff with jitter;
- `connected` is a live, non-blocking answer for readiness checks.
Nothing logged here carries a token or the websocket URL (its `ticket` is a credential).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("cytobot.slack")

# apps.connections.open errors that mean the token itself is wrong: retrying cannot help.
TOKEN_ERRORS = frozenset({
    "invalid_auth", "not_authed", "not_allowed_token_type", "account_inactive", "token_revoked",
    "token_expired", "missing_scope", "no_permission", "invalid_token",
})
TOKEN_HINTS = {
    "not_allowed_token_type": "it must be an app-level token (xapp-...), not a bot or user token",
    "missing_scope": "the app-level token needs the connections:write scope",
}


class TokenRefused(Exception):
    """Slack refused SLACK_APP_TOKEN; the message is one line saying what to do."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Seconds between connection attempts: first, doubling up to maximum, each +-10%."""

    first: float = 1.0
    maximum: float = 60.0

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.first * 2 ** min(attempt, 32))
        return base * random.uniform(0.9, 1.1)


def describe(exc: BaseException) -> str:
    """One line about a failed attempt, without URLs (the websocket URL carries a ticket)."""
    if isinstance(exc, SlackApiError):
        return f"Slack answered apps.connections.open with '{exc.response.get('error', 'an error')}'"
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return f"cannot reach Slack at {exc.host}:{exc.port} ({reason})"
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"the Socket Mode websocket handshake failed (HTTP {exc.status})"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"Slack answered HTTP {exc.status}"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "the connection timed out"
    return f"connection failed ({type(exc).__name__})"


class ReportingSocketModeClient(SocketModeClient):
    """slack_sdk's aiohttp Socket Mode client with one-line failures, backoff and a fatal stop."""

    def __init__(self, *args, backoff: Backoff = Backoff(), **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.backoff = backoff
        self.problem = "not connected yet"
        # Set (to the one-line reason) when the token is refused while reconnecting in the background.
        self.fatal: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @property
    def connected(self) -> bool:
        """`is_connected()` without awaiting: an open, fresh session."""
        session = self.current_session
        fresh = self.last_ping_pong_time is None or time.time() - self.last_ping_pong_time < self.ping_interval * 4
        return not self.closed and not self.stale and session is not None and not session.closed and fresh

    async def issue_new_wss_url(self) -> str:
        try:
            response = await self.web_client.apps_connections_open(app_token=self.app_token)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in TOKEN_ERRORS:
                hint = TOKEN_HINTS.get(error, "copy the app-level token from Basic Information > App-Level Tokens")
                raise TokenRefused(f"Slack refused SLACK_APP_TOKEN ({error}): {hint}") from None
            if error == "ratelimited":
                delay = float(exc.response.headers.get("Retry-After", "30") or 30)
                self.problem = f"rate limited by Slack; retrying in {delay:.0f} s"
                log.warning("Slack Socket Mode is not connected: %s", self.problem)
                await asyncio.sleep(delay)
            raise
        return str(response["url"])

    async def connect(self) -> None:
        """Connect, retrying with backoff until connected, closed, or the token is refused."""
        attempt = 0
        while not self.closed:
            try:
                self.wss_uri = await self.issue_new_wss_url()
                await self._open_session()
            except TokenRefused as refused:
                self.problem = str(refused)
                if not self.fatal.done():
                    self.fatal.set_result(str(refused))
                self.closed = True  # stops the monitor and receiver loops
                raise
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.closed:
                    return
                delay = self.backoff.delay(attempt)
                attempt += 1
                self.problem = describe(exc)
                log.warning("Slack Socket Mode is not connected: %s; retrying in %.3g s", self.problem, delay)
                await asyncio.sleep(delay)
                continue
            if attempt:
                log.info("Slack Socket Mode connected again after %d failed attempt(s)", attempt)
            self.problem = "connection lost; reconnecting"
            return

    async def connect_to_new_endpoint(self, force: bool = False) -> None:
        """As slack_sdk's, except that `connect` fetches the URL itself (and backs off)."""
        acquired = False
        try:
            try:
                acquired = await asyncio.wait_for(self.connect_operation_lock.acquire(), timeout=5)
            except asyncio.TimeoutError:
                acquired = False
            if force or (acquired and not await self.is_connected()):
                self.problem = "connection lost; reconnecting"
                await self.connect()
        except TokenRefused:
            pass  # already reported through `fatal`; the loops stop because `closed` is set
        finally:
            if acquired:
                self.connect_operation_lock.release()

    async def _open_session(self) -> None:
        """One attempt at the websocket: slack_sdk's `SocketModeClient.connect` loop body
        (3.48), without its loop, so failures come back here instead of being retried there."""
        old = self.current_session
        self.auto_reconnect_enabled = False
        if old is not None:
            try:
                await old.close()
            except Exception:  # a broken session may fail to close; it is abandoned either way
                pass
        if self.aiohttp_client_session.closed and not self.closed:
            self.aiohttp_client_session = aiohttp.ClientSession()
        self.current_session = await self.aiohttp_client_session.ws_connect(
            self.wss_uri,  # type: ignore[arg-type]
            autoping=False,
            heartbeat=self.ping_interval,
            proxy=self.proxy,
            ssl=self.web_client.ssl if self.web_client.ssl is not None else True,
        )
        self.auto_reconnect_enabled = self.default_auto_reconnect_enabled
        self.stale = False
        self.last_ping_pong_time = None
        await self.current_session.ping(f"sdk-ping-pong:{time.time()}".encode())
        if self.current_session_monitor is not None:
            self.current_session_monitor.cancel()
        self.current_session_monitor = asyncio.ensure_future(self.monitor_current_session())
        if self.message_receiver is not None:
            self.message_receiver.cancel()
        self.message_receiver = asyncio.ensure_future(self.receive_messages())


class SocketModeConnection(AsyncSocketModeHandler):
    """bolt's Socket Mode handler on a `ReportingSocketModeClient`."""

    def __init__(self, app: AsyncApp, app_token: str, *, backoff: Backoff = Backoff(), ping_interval: float = 10) -> None:
        # Not super().__init__: that builds slack_sdk's own client (and its session) first.
        self.app = app
        self.app_token = app_token
        # Its own Web API client for apps.connections.open, without slack_sdk's retry handler:
        # the backoff here is the only retry, so a failed attempt is exactly one line.
        opener = AsyncWebClient(base_url=app.client.base_url, ssl=app.client.ssl, proxy=app.client.proxy,
                                logger=app.client.logger, retry_handlers=[])
        self.client = ReportingSocketModeClient(
            app_token=app_token, logger=app.logger, web_client=opener, ping_interval=ping_interval, backoff=backoff,
        )
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]

    @property
    def connected(self) -> bool:
        return self.client.connected

    @property
    def problem(self) -> str:
        return self.client.problem

    async def stop_receiving(self) -> None:
        """For a drain: close the websocket without reconnecting, so Slack sends new requests to
        the app's other connections while answers already under way finish."""
        self.client.default_auto_reconnect_enabled = False
        self.client.auto_reconnect_enabled = False
        self.client.problem = "draining"
        await self.client.disconnect()

    async def run(self) -> None:
        """Connect (retrying as long as it takes), then serve until cancelled or the token is
        refused (raises TokenRefused)."""
        await self.connect_async()
        log.info("Slack Socket Mode connected")
        raise TokenRefused(await asyncio.shield(self.client.fatal))
