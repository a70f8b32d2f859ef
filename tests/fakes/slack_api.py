"""A loopback fake of Slack: Web API, `response_url` endpoints and a Socket Mode websocket.

The real bolt app talks HTTP to it exactly as it would to slack.com; the fake records every
request so tests can assert on what the bot sent. Failures (429 with Retry-After, 500,
`ok: false` errors) can be scripted per API method.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.fakes.loopback import HOST, LoopbackServer



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
    """A canned answer for the next call of one API method."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack(LoopbackServer):
    """Start with `await fake.start()`; `api_url` is the Web API base (ends with '/')."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.script: dict[str, deque[Scripted]] = defaultdict(deque)
        self.envelopes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._changed = asyncio.Condition()
        self._ts = itertools.count(1)
        # Optional: a future per response_url id, resolved when that id is posted to (benchmarks).
        self.response_waiters: dict[str, asyncio.Future[float]] = {}
        self.record = True  # benchmarks switch recording off to keep memory flat
        self.response_delay = 0.0  # seconds each response_url post takes (an answer still in flight)

    # --- lifecycle -------------------------------------------------------------------
    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/api/{method}", self._api)
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
    def fail_next(self, method: str, status: int = 200, body: dict | None = None, headers: dict | None = None) -> None:
        self.script[method].append(Scripted(status, body, headers or {}))

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
        raw = await request.text()
        if not raw:
            return {}
        if request.content_type == "application/json":
            return json.loads(raw)
        return dict(parse_qsl(raw))

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await self._body(request)
        scripted = self.script[method].popleft() if self.script[method] else None
        status = scripted.status if scripted else 200
        await self._record(Call("api", method, body, dict(request.headers), status=status))
        if scripted is not None:
            payload = scripted.body if scripted.body is not None else {"ok": False, "error": "scripted"}
            return web.json_response(payload, status=scripted.status, headers=scripted.headers)
        if method == "auth.test":
            return web.json_response({"ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "cytobot", "team_id": "T1", "user_id": "UBOT", "bot_id": "BBOT"})
        if method == "chat.postMessage":
            ts = f"{1700000000 + next(self._ts)}.000100"
            return web.json_response({"ok": True, "channel": body.get("channel"), "ts": ts, "message": {"text": body.get("text", ""), "ts": ts}})
        if method == "chat.postEphemeral":
            return web.json_response({"ok": True, "message_ts": f"{1700000000 + next(self._ts)}.000200"})
        if method == "apps.connections.open":
            return web.json_response({"ok": True, "url": f"ws://{HOST}:{self.port}/socket"})
        return web.json_response({"ok": False, "error": "unknown_method"})

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if self.response_delay:
            await asyncio.sleep(self.response_delay)
        rid = request.match_info["rid"]
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
