"""A loopback fake of Slack: Web API, `response_url` endpoints and a Socket Mode websocket.

The real bolt app talks HTTP to it exactly as it would to slack.com; the fake records every
request so tests can assert on what the bot sent. Failures (429 with Retry-After, 500,
`ok: false` errors) can be scripted per API method, or per channel for `chat.postMessage`
(a channel the bot was removed from answers `not_in_channel` until it is "invited" again).
An optional `RateLimiter` answers 429 with Retry-After, as Slack does, when posts come faster
than the configured limits (about one per second per channel, plus a workspace-wide rate),
and counts the violations. `users.info` answers from `users` (see `add_user`).
Accepted posts are kept per channel (`history`, with their metadata) and served by
`conversations.history`. `post_delay` makes a slow Slack: a post is accepted (in the channel's
history at once) and answered that many seconds later, as when Slack is slow to respond.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.fakes.loopback import HOST, LoopbackServer
from tests.fakes.ratelimit import RateLimiter


@dataclass(frozen=True, slots=True)
class Call:
    """One request the fake received."""

    kind: str  # "api", "response_url" or "socket"
    name: str  # API method, response_url id, or "ack"
    body: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    status: int = 200


@dataclass(frozen=True, slots=True)
class Scripted:
    """A canned answer for the next call of one API method (or post into one channel).
    `delay` holds the answer back that many seconds (a slow or hanging Slack)."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeSlack(LoopbackServer):
    """Start with `await fake.start()`; `api_url` is the Web API base (ends with '/')."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.script: dict[str, deque[Scripted]] = defaultdict(deque)
        self.envelopes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._changed = asyncio.Condition()
        self._ts = itertools.count(1)
        self._epoch = int(time.time())
        # Optional: a future per response_url id, resolved when that id is posted to (benchmarks).
        self.response_waiters: dict[str, asyncio.Future[float]] = {}
        self.record = True  # benchmarks switch recording off to keep memory flat
        # chat.postMessage: answers scripted per channel; sticky ones last until `heal_channel`.
        self.channel_script: dict[str, deque[Scripted]] = defaultdict(deque)
        self.channel_sticky: dict[str, Scripted] = {}
        self.limiter: RateLimiter | None = None
        self.posted: Counter[str] = Counter()  # channel -> messages accepted (kept with record off)
        self.users: dict[str, dict[str, Any]] = {}  # users.info answers, by user id
        self.response_delay = 0.0  # seconds each response_url post takes (an answer still in flight)
        self.response_script: deque[Scripted] = deque()  # answers for the next response_url posts
        self.post_delay = 0.0  # seconds an accepted chat.postMessage waits before it is answered
        self.history: dict[str, list[dict[str, Any]]] = defaultdict(list)  # channel -> messages, oldest first

    # --- lifecycle -------------------------------------------------------------------
    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/api/{method}", self._api)
        router.add_get("/api/{method}", self._api)  # slack_sdk sends users.info as a GET
        router.add_post("/response/{rid}", self._response_url)
        router.add_get("/socket", self._socket)

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, rid: str = "r1") -> str:
        return f"{self.base}/response/{rid}"

    # --- scripting and inspection ----------------------------------------------------
    def fail_next(self, method: str, status: int = 200, body: dict | None = None, headers: dict | None = None,
                  delay: float = 0.0) -> None:
        self.script[method].append(Scripted(status, body, headers or {}, delay))

    def fail_channel(self, channel: str, error: str | None = None, *, status: int = 200, headers: dict | None = None,
                     body: dict | None = None, delay: float = 0.0, sticky: bool = False) -> None:
        """Script chat.postMessage into `channel`: `error` (an `ok: false` code), or a raw `status`/`body`.
        Once by default; `sticky` until `heal_channel(channel)` (e.g. not_in_channel until invited)."""
        payload = body if body is not None else ({"ok": False, "error": error} if error else None)
        answer = Scripted(status, payload, headers or {}, delay)
        if sticky:
            self.channel_sticky[channel] = answer
        else:
            self.channel_script[channel].append(answer)

    def fail_response(self, status: int, headers: dict | None = None, times: int = 1) -> None:
        """The next `times` response_url posts answer `status` (e.g. 500, or 429 with Retry-After)."""
        self.response_script.extend(Scripted(status, None, headers or {}) for _ in range(times))

    def heal_channel(self, channel: str) -> None:
        self.channel_sticky.pop(channel, None)
        self.channel_script.pop(channel, None)

    def add_user(self, user_id: str, *, is_admin: bool = False, is_owner: bool = False, team_id: str = "T1", **extra: Any) -> None:
        """A user as users.info describes one (is_admin / is_owner decide who may manage a channel)."""
        self.users[user_id] = {"id": user_id, "team_id": team_id, "name": user_id.lower(), "deleted": False,
                               "is_admin": is_admin, "is_owner": is_owner, "is_primary_owner": False,
                               "is_restricted": False, "is_ultra_restricted": False, "is_bot": False} | extra

    def api_calls(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.kind == "api" and c.name == method]

    def responses(self) -> list[Call]:
        return [c for c in self.calls if c.kind == "response_url"]

    def acks(self) -> list[Call]:
        return [c for c in self.calls if c.kind == "socket"]

    def sent(self) -> list[Call]:
        """Everything the bot sent that a user could see."""
        posts = ("chat.postMessage", "chat.postEphemeral")
        return [c for c in self.calls if c.kind == "response_url" or (c.kind == "api" and c.name in posts and c.status == 200)]

    async def wait_for(self, predicate: Callable[["FakeSlack"], bool], timeout: float = 5.0) -> None:
        """Wait until `predicate(self)` holds; raises TimeoutError instead of hanging."""

        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self))

        await asyncio.wait_for(_wait(), timeout)

    async def _record(self, call: Call) -> None:
        if not self.record:
            return
        self.calls.append(call)
        async with self._changed:
            self._changed.notify_all()

    # --- handlers --------------------------------------------------------------------
    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if request.method == "GET":
            return dict(request.query)
        raw = await request.text()
        if not raw:
            return {}
        if request.content_type == "application/json":
            return json.loads(raw)
        return dict(parse_qsl(raw))

    def _scripted(self, method: str, body: dict[str, Any]) -> Scripted | None:
        if self.script[method]:
            return self.script[method].popleft()
        if method == "chat.postMessage":
            channel = str(body.get("channel", ""))
            if self.channel_script.get(channel):
                return self.channel_script[channel].popleft()
            if channel in self.channel_sticky:
                return self.channel_sticky[channel]
            if self.limiter is not None and (refusal := self.limiter.check(channel)) is not None:
                return Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(refusal.whole_seconds)})
        return None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await self._body(request)
        scripted = self._scripted(method, body)
        status = scripted.status if scripted else 200
        await self._record(Call("api", method, body, dict(request.headers), status=status))
        if scripted is not None:
            if scripted.delay:
                await asyncio.sleep(scripted.delay)
            payload = scripted.body if scripted.body is not None else {"ok": False, "error": "scripted"}
            if scripted.status >= 500 and scripted.body is None:  # Slack's 5xx pages are HTML, not JSON
                return web.Response(status=scripted.status, text="<html>upstream error</html>", content_type="text/html", headers=scripted.headers)
            return web.json_response(payload, status=scripted.status, headers=scripted.headers)
        if method == "auth.test":
            return web.json_response({"ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "cytobot", "team_id": "T1", "user_id": "UBOT", "bot_id": "BBOT"})
        if method == "chat.postMessage":
            ts = f"{self._epoch + next(self._ts)}.000100"  # unique, increasing, near the wall clock
            channel = str(body.get("channel", ""))
            self.posted[channel] += 1
            message = {"type": "message", "ts": ts, "text": body.get("text", ""), "bot_id": "BBOT"}
            if isinstance(body.get("metadata"), dict):
                message["metadata"] = body["metadata"]
            if self.record:
                self.history[channel].append(message)
            if self.post_delay:
                await asyncio.sleep(self.post_delay)  # posted already; the answer is what is slow
            return web.json_response({"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text", ""), "ts": ts}})
        if method == "conversations.history":
            oldest = float(body.get("oldest") or 0)
            limit = int(body.get("limit") or 100)
            with_metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
            found = [m for m in reversed(self.history.get(str(body.get("channel", "")), [])) if float(m["ts"]) > oldest][:limit]
            if not with_metadata:
                found = [{k: v for k, v in m.items() if k != "metadata"} for m in found]
            return web.json_response({"ok": True, "messages": found, "has_more": False})
        if method == "chat.postEphemeral":
            return web.json_response({"ok": True, "message_ts": f"{1700000000 + next(self._ts)}.000200"})
        if method == "users.info":
            user = self.users.get(str(body.get("user", "")))
            if user is None:
                return web.json_response({"ok": False, "error": "user_not_found"})
            return web.json_response({"ok": True, "user": user})
        if method == "apps.connections.open":
            return web.json_response({"ok": True, "url": f"ws://{HOST}:{self.port}/socket"})
        return web.json_response({"ok": False, "error": "unknown_method"})

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if self.response_delay:
            await asyncio.sleep(self.response_delay)
        rid = request.match_info["rid"]
        if self.response_script:
            scripted = self.response_script.popleft()
            await self._record(Call("response_url", rid, body, dict(request.headers), status=scripted.status))
            return web.Response(status=scripted.status, text="failed", headers=scripted.headers)
        waiter = self.response_waiters.pop(rid, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(time.perf_counter())
        await self._record(Call("response_url", rid, body, dict(request.headers)))
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}, "connection_info": {"app_id": "A1"}})

        async def pump() -> None:
            while not ws.closed:
                envelope = await self.envelopes.get()
                await ws.send_json(envelope)

        pumper = asyncio.create_task(pump())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._record(Call("socket", "ack", json.loads(msg.data), {}))
        finally:
            pumper.cancel()
            self._sockets.discard(ws)
        return ws
