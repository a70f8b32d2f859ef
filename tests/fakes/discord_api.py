"""A loopback fake of Discord: the REST API under /api/v10 and a JSON gateway websocket.

An unmodified `discord.Client` logs in, connects, identifies, syncs its commands and answers
interactions against it exactly as it would against discord.com. The fake records every
REST request so tests can assert on what the bot sent, and lets a test dispatch gateway
events (INTERACTION_CREATE, MESSAGE_CREATE) and wait for the interaction's callback or read
the message the bot posts back (POST /channels/{id}/messages).

Posting into a channel behaves as Discord documents it: a wrong token gets 401; answers can be
scripted per channel (403 50001/50013, 404 10003, 5xx, 429 with `retry_after`, `global` and the
`Via` header discord.py looks for, or without it as a Cloudflare ban); an optional
`RateLimiter` answers 429 when the bot goes faster than the limits (50 requests/s globally on
Discord) and counts the violations; and a message sent with a `nonce` and `enforce_nonce` that
repeats one sent in the last `nonce_window` seconds creates nothing and returns the first
message.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.loopback import HOST, LoopbackServer
from tests.fakes.ratelimit import RateLimiter

APP_ID = 1100000000000000001
BOT_ID = 1100000000000000002
GUILD_ID = 1100000000000000003
CHANNEL_ID = 1100000000000000004
OWNER_ID = 1100000000000000005
DM_CHANNEL_ID = 1100000000000000006
ATTACHMENT_SIZE_LIMIT = 8 * 1024 * 1024
ALREADY_ACKNOWLEDGED = 40060  # Discord's error code for a second answer to one interaction
ALL_PERMISSIONS = "2147483647"
# Discord's JSON error bodies for the failures a channel post can meet.
ERRORS: dict[int, tuple[int, str]] = {
    10003: (404, "Unknown Channel"),
    50001: (403, "Missing Access"),
    50013: (403, "Missing Permissions"),
    0: (401, "401: Unauthorized"),
}
# Discord says an enforced nonce is checked "in the past few minutes"; the exact window is not published.
NONCE_WINDOW = 300.0


@dataclass(frozen=True, slots=True)
class ChannelAnswer:
    """A canned answer for a post into one channel; `delay` holds it back (a slow Discord)."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def error_answer(code: int, *, message: str | None = None, delay: float = 0.0) -> ChannelAnswer:
    """Discord's answer for a known error code (10003, 50001, 50013, or 0 for a bad token)."""
    status, text = ERRORS[code]
    return ChannelAnswer(status, {"message": message or text, "code": code}, {}, delay)


def rate_limited(retry_after: float, *, is_global: bool = False, via: bool = True) -> ChannelAnswer:
    """A 429 as Discord sends it. Without `via` it looks like a Cloudflare ban to discord.py
    (Discord's own 429s carry a `Via` header; Cloudflare's do not)."""
    headers = {"Retry-After": str(max(1, round(retry_after))), "X-RateLimit-Scope": "global" if is_global else "user"}
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    if not via:
        return ChannelAnswer(429, "error code: 1015", headers)
    headers["Via"] = "1.1 google"
    return ChannelAnswer(429, {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global, "code": 0}, headers)


@dataclass(frozen=True, slots=True)
class Call:
    """One REST request the fake received."""

    method: str
    path: str  # without the /api/v10 prefix, e.g. "/interactions/1/tok/callback"
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    at: float = field(default_factory=time.perf_counter)
    status: int = 200


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py only parses a body as JSON when Content-Type is exactly application/json.
    return web.Response(status=status, body=json.dumps(data).encode(), headers={"Content-Type": "application/json"})


def user_payload(user_id: int, username: str, *, global_name: str | None = None, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": username,
        "discriminator": "0",
        "global_name": global_name,
        "avatar": None,
        "bot": bot,
    }


class FakeDiscord(LoopbackServer):
    """Start with `await fake.start()`; `api_url` is the REST base, `gateway_url` the websocket."""

    def __init__(self, token: str = "test-token") -> None:
        super().__init__()
        self.token = token  # the only bot token the fake accepts
        self.calls: list[Call] = []
        self.identifies: list[dict[str, Any]] = []
        self.dispatched: list[str] = []  # interaction ids sent over the gateway
        self.synced: dict[int | None, list[dict[str, Any]]] = {}  # guild id (None = global) -> commands
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1200000000000000000)
        self._seq = itertools.count(1)
        self._answered: dict[str, int] = {}  # interaction id -> number of callbacks received
        self._callback_waiters: dict[str, asyncio.Future[Call]] = {}
        # POST /channels/{id}/messages
        self.record = True  # benchmarks switch recording off to keep memory flat
        self.channel_script: dict[str, deque[ChannelAnswer]] = defaultdict(deque)
        self.channel_sticky: dict[str, ChannelAnswer] = {}
        self.limiter: RateLimiter | None = None
        self.nonce_window = NONCE_WINDOW
        self.posted: Counter[str] = Counter()  # channel id -> messages created (kept with record off)
        self.nonce_hits = 0  # posts answered with an earlier message because of an enforced nonce
        self._nonces: dict[str, tuple[float, dict[str, Any]]] = {}

    # --- lifecycle -------------------------------------------------------------------
    def routes(self, router: web.UrlDispatcher) -> None:
        r = router
        r.add_get("/gateway", self._gateway)
        r.add_get("/api/v10/users/@me", self._me)
        r.add_get("/api/v10/oauth2/applications/@me", self._application)
        r.add_get("/api/v10/gateway", self._gateway_info)
        r.add_get("/api/v10/gateway/bot", self._gateway_info)
        r.add_put("/api/v10/applications/{app}/commands", self._sync)
        r.add_put("/api/v10/applications/{app}/guilds/{guild}/commands", self._sync)
        r.add_post("/api/v10/interactions/{id}/{token}/callback", self._callback)
        r.add_post("/api/v10/webhooks/{app}/{token}", self._followup)
        r.add_patch("/api/v10/webhooks/{app}/{token}/messages/{message}", self._edit_webhook_message)
        r.add_post("/api/v10/channels/{channel}/messages", self._channel_message)

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{HOST}:{self.port}/gateway"

    # --- what tests read -------------------------------------------------------------
    def calls_to(self, method: str, prefix: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.startswith(prefix)]

    def fail_channel(self, channel: int | str, answer: ChannelAnswer, *, sticky: bool = False) -> None:
        """Answer the next post into `channel` with `answer` (see `error_answer`, `rate_limited`);
        `sticky` answers every post until `heal_channel` (e.g. a permission that stays missing)."""
        if sticky:
            self.channel_sticky[str(channel)] = answer
        else:
            self.channel_script[str(channel)].append(answer)

    def heal_channel(self, channel: int | str) -> None:
        self.channel_sticky.pop(str(channel), None)
        self.channel_script.pop(str(channel), None)

    def rejected(self) -> list[Call]:
        """Requests the fake refused (e.g. a second answer to one interaction)."""
        return [c for c in self.calls if c.status >= 400]

    def answers(self, interaction_id: str) -> int:
        """How many callbacks the interaction received (Discord accepts exactly one)."""
        return self._answered.get(interaction_id, 0)

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> None:
        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(_wait(), timeout)

    async def wait_connected(self, timeout: float = 5.0) -> None:
        await self.wait_for(lambda: bool(self.identifies) and bool(self._sockets), timeout)

    # --- gateway events --------------------------------------------------------------
    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        frame = json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data})
        for ws in list(self._sockets):
            await ws.send_str(frame)

    def interaction(
        self,
        type: int,
        data: dict[str, Any],
        *,
        nick: str | None = "Ada",
        username: str = "ada",
        user_id: int = 1300000000000000001,
        in_guild: bool = True,
        message: dict[str, Any] | None = None,
        permissions: str = ALL_PERMISSIONS,
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload as Discord sends it; `permissions` is the member's
        permission set in this channel (overwrites applied), as Discord resolves it."""
        iid = str(next(self._ids))
        user = user_payload(user_id, username, global_name=None)
        payload: dict[str, Any] = {
            "id": iid,
            "application_id": str(APP_ID),
            "type": type,
            "token": f"token-{iid}",
            "version": 1,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "locale": "en-US",
            "app_permissions": "19456",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "data": data,
        }
        if in_guild:
            payload.update(
                guild_id=str(GUILD_ID),
                guild_locale="en-US",
                context=0,
                channel_id=str(CHANNEL_ID),
                channel={
                    "id": str(CHANNEL_ID),
                    "type": 0,
                    "guild_id": str(GUILD_ID),
                    "name": "general",
                    "position": 0,
                    "permission_overwrites": [],
                    "nsfw": False,
                    "parent_id": None,
                    "topic": None,
                    "last_message_id": None,
                    "rate_limit_per_user": 0,
                },
                member={
                    "user": user,
                    "nick": nick,
                    "roles": [],
                    "joined_at": "2024-01-01T00:00:00+00:00",
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                    "permissions": permissions,
                    "avatar": None,
                },
            )
        else:
            payload.update(user=user, context=1, channel_id=str(CHANNEL_ID),
                           channel={"id": str(CHANNEL_ID), "type": 1, "recipients": [user]})
        if message is not None:
            payload["message"] = message
        return payload

    async def send_interaction(self, payload: dict[str, Any]) -> asyncio.Future[Call]:
        """Dispatch INTERACTION_CREATE; the future resolves with the interaction's first callback."""
        waiter: asyncio.Future[Call] = asyncio.get_running_loop().create_future()
        self._callback_waiters[payload["id"]] = waiter
        self.dispatched.append(payload["id"])
        await self.dispatch("INTERACTION_CREATE", payload)
        return waiter

    async def interact(self, payload: dict[str, Any], timeout: float = 5.0) -> Call:
        return await asyncio.wait_for(await self.send_interaction(payload), timeout)

    def message(
        self,
        content: str,
        *,
        author_id: int = 1300000000000000001,
        username: str = "ada",
        bot: bool = False,
        in_guild: bool = True,
        channel_id: int | None = None,
        mentions: tuple[int, ...] = (),
        mention_everyone: bool = False,
        type: int = 0,
    ) -> dict[str, Any]:
        """A MESSAGE_CREATE payload as Discord sends it: in the guild channel, or in a DM channel.
        `mentions` are user ids mentioned (Discord lists them whatever the bot's intents)."""
        channel = channel_id or (CHANNEL_ID if in_guild else DM_CHANNEL_ID)
        author = user_payload(author_id, username, bot=bot)
        payload: dict[str, Any] = {
            "id": str(next(self._ids)),
            "channel_id": str(channel),
            "type": type,
            "content": content,
            "author": author,
            "embeds": [],
            "attachments": [],
            "components": [],
            "mentions": [user_payload(uid, "cytobot" if uid == BOT_ID else f"user{uid}", bot=uid == BOT_ID) for uid in mentions],
            "mention_roles": [],
            "mention_everyone": mention_everyone,
            "pinned": False,
            "tts": False,
            "timestamp": "2024-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "flags": 0,
        }
        if in_guild:
            payload["guild_id"] = str(GUILD_ID)
            payload["member"] = {"roles": [], "joined_at": "2024-01-01T00:00:00+00:00", "deaf": False, "mute": False,
                                 "flags": 0, "nick": None, "avatar": None}
        return payload

    async def send_message(self, payload: dict[str, Any]) -> None:
        """Dispatch MESSAGE_CREATE; what the bot posts back shows up in `channel_posts`."""
        await self.dispatch("MESSAGE_CREATE", payload)

    def channel_posts(self, channel_id: int | str | None = None) -> list[Call]:
        """Every POST /channels/{id}/messages received (replies to mentions and DMs, daily facts;
        refused ones included), optionally for one channel."""
        prefix = f"/channels/{channel_id}/messages" if channel_id else "/channels/"
        return [c for c in self.calls_to("POST", prefix) if c.path.endswith("/messages")]

    # --- REST handlers ---------------------------------------------------------------
    async def _record(self, request: web.Request, status: int = 200, *, body: Any = None, keep: bool = True) -> Call:
        if body is None:
            raw = await request.read()
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
        path = request.path.removeprefix("/api/v10")
        call = Call(request.method, path, dict(request.query), body, dict(request.headers), status=status)
        if keep:
            self.calls.append(call)
            async with self._changed:
                self._changed.notify_all()
        return call

    def _message(self, body: dict[str, Any], *, channel_id: int = CHANNEL_ID) -> dict[str, Any]:
        """The message object Discord would hand back for a message the bot created."""
        return {
            "id": str(next(self._ids)),
            "channel_id": str(channel_id),
            "type": 0,
            "content": body.get("content") or "",
            "author": user_payload(BOT_ID, "cytobot", bot=True),
            "embeds": body.get("embeds", []),
            "components": body.get("components", []),
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": "2024-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "flags": body.get("flags", 0),
            "application_id": str(APP_ID),
        }

    async def _me(self, request: web.Request) -> web.Response:
        await self._record(request)
        if request.headers.get("Authorization", "") != f"Bot {self.token}":
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        return _json(user_payload(BOT_ID, "cytobot", bot=True) | {"flags": 0, "mfa_enabled": True, "verified": True})

    async def _application(self, request: web.Request) -> web.Response:
        await self._record(request)
        return _json(
            {
                "id": str(APP_ID),
                "name": "cytobot",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": user_payload(OWNER_ID, "owner"),
                "verify_key": "0" * 64,
                "flags": 0,
                "summary": "",
                "team": None,
            }
        )

    async def _gateway_info(self, request: web.Request) -> web.Response:
        await self._record(request)
        return _json({"url": self.gateway_url, "shards": 1,
                      "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}})

    async def _sync(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        guild = request.match_info.get("guild")
        out = []
        for command in call.body or []:
            out.append(command | {"id": str(next(self._ids)), "application_id": str(APP_ID), "version": "1",
                                  **({"guild_id": guild} if guild else {})})
        self.synced[int(guild) if guild else None] = call.body or []
        async with self._changed:
            self._changed.notify_all()
        return _json(out)

    async def _callback(self, request: web.Request) -> web.Response:
        iid = request.match_info["id"]
        count = self._answered.get(iid, 0) + 1
        self._answered[iid] = count
        if count > 1:
            await self._record(request, status=400)
            return _json({"message": "Interaction has already been acknowledged.", "code": ALREADY_ACKNOWLEDGED}, 400)
        call = await self._record(request)
        waiter = self._callback_waiters.pop(iid, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(call)
        body = call.body or {}
        rtype = body.get("type")
        data = body.get("data") or {}
        resource: dict[str, Any] = {"type": rtype}
        interaction: dict[str, Any] = {"id": iid, "type": 2}
        if rtype in (4, 5):
            message = self._message(data)
            resource["message"] = message
            interaction.update(response_message_id=message["id"], response_message_loading=rtype == 5,
                               response_message_ephemeral=bool(data.get("flags", 0) & 64))
        return _json({"interaction": interaction, "resource": resource})

    async def _followup(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        return _json(self._message(call.body or {}))

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        return _json(self._message(call.body or {}))

    def _channel_answer(self, request: web.Request, channel: str) -> ChannelAnswer | None:
        if request.headers.get("Authorization", "") != f"Bot {self.token}":
            return error_answer(0)
        if self.channel_script.get(channel):
            return self.channel_script[channel].popleft()
        if channel in self.channel_sticky:
            return self.channel_sticky[channel]
        if self.limiter is not None and (refusal := self.limiter.check(channel)) is not None:
            return rate_limited(refusal.retry_after, is_global=refusal.scope == "global")
        return None

    async def _channel_message(self, request: web.Request) -> web.Response:
        channel = request.match_info["channel"]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = raw.decode("utf-8", "replace")
        answer = self._channel_answer(request, channel)
        status = answer.status if answer is not None else 200
        await self._record(request, status, body=body, keep=self.record)
        if answer is not None:
            if answer.delay:
                await asyncio.sleep(answer.delay)
            if isinstance(answer.body, str):
                return web.Response(status=answer.status, text=answer.body, headers=answer.headers)
            return web.Response(status=answer.status, body=json.dumps(answer.body).encode(),
                                headers={"Content-Type": "application/json", **answer.headers})
        if not isinstance(body, dict):
            return _json({"message": "Invalid Form Body", "code": 50035}, 400)
        nonce = body.get("nonce")
        now = time.monotonic()
        if nonce is not None and body.get("enforce_nonce"):
            if len(str(nonce)) > 25:
                return _json({"message": "Invalid Form Body", "code": 50035,
                              "errors": {"nonce": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 25 or fewer in length."}]}}}, 400)
            seen = self._nonces.get(str(nonce))
            if seen is not None and now - seen[0] <= self.nonce_window:
                self.nonce_hits += 1
                return _json(seen[1])
        message = self._message(body, channel_id=int(channel))
        if nonce is not None:
            message["nonce"] = str(nonce)
            if body.get("enforce_nonce"):
                self._nonces[str(nonce)] = (now, message)
        self.posted[channel] += 1
        return _json(message)

    # --- gateway ---------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None}))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op = frame.get("op")
                if op == 1:  # heartbeat
                    await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
                elif op == 2:  # identify
                    self.identifies.append(frame["d"])
                    shard = frame["d"].get("shard") or [0, 1]  # READY names the shard that identified
                    await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": next(self._seq), "d": self._ready(shard)}))
                    async with self._changed:
                        self._changed.notify_all()
        finally:
            self._sockets.discard(ws)
        return ws

    def _ready(self, shard: list[int]) -> dict[str, Any]:
        return {
            "v": 10,
            "user": user_payload(BOT_ID, "cytobot", bot=True) | {"flags": 0, "mfa_enabled": True, "verified": True},
            "guilds": [],
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(APP_ID), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "shard": shard,
        }
