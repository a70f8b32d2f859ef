"""Daily facts on Discord: a core reply in, one channel message out, Discord's answer as an outcome.

Why one plain HTTP request instead of `channel.send()`: discord.py's HTTP layer sleeps through
every 429 shorter than 30 s (`max_ratelimit_timeout` cannot be set lower), holds a global lock
while it does, and retries 500/502/504 five times with sleeps of up to 9 s. A scheduler serving
thousands of channels must not wait inside one post: it needs "retry after N s" back at once so
it can serve the other channels. So the poster sends exactly one request per `post()` and maps
the answer, while everything Discord-specific still comes from discord.py: the URL (`Route`, so
`point_discord_py_at` applies), the payload (`handle_message_parameters`, the builder
`Messageable.send` uses), the token and user agent of the logged-in client, and the response
parsing (`json_or_text`, `HTTPException` for the error code and text).

De-duplication: every post carries a `nonce` derived from the scheduler's key (unique per
subscription and local date) with `enforce_nonce`, so a resend after a crash or a lost
response returns the message already created instead of posting again. Discord checks the
nonce only "in the past few minutes" (its documentation gives no exact window), so a resend
after a longer outage is not covered by it; the scheduler's claim in its database is.

Invalid requests: Discord bans an IP for a while after 10,000 requests answered 401, 403 or 429
within 10 minutes. So 401 and every 403/404 are permanent (never retried here), and after a
global 429 or a Cloudflare ban the poster answers "retry after" for every channel without
sending anything until the wait is over.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import discord
from discord.http import Route, handle_message_parameters, json_or_text

from bot.daily.delivery import Permanent, PostOutcome, RetryAfter, Scope, Sent
from bot.reply import Reply, Visibility

from .render import render

log = logging.getLogger("cytobot.discord.poster")

PLATFORM = "discord"
# Discord accepts 50 requests per second from one bot across the whole API (interaction
# responses excepted); a 429 beyond it is honoured, and it counts toward the IP ban.
RATE = 50.0
TIMEOUT = 10.0  # seconds for one request, connect to last byte
NONCE_MAX = 25  # Discord's limit on a nonce's length
# How long to wait when Discord does not say: server errors and network failures are usually
# short. An answer the poster does not understand asks for no wait of its own: the scheduler
# holds back the whole platform for a RetryAfter's seconds, which one odd channel must not
# cause; its own backoff spaces the retries of that post and bounds their number.
SERVER_RETRY = 5.0
NETWORK_RETRY = 5.0
NOT_READY_RETRY = 5.0
UNKNOWN_RETRY = 0.0
# A 429 without Discord's `Via` header comes from Cloudflare: the IP is banned "for a period of
# time" Discord does not publish. One hour is our own cautious guess when no Retry-After comes.
CLOUDFLARE_BAN_RETRY = 3600.0

UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
CANNOT_SEND_TO_USER = 50007
NOT_TEXT_CHANNEL = 50008
ARCHIVED_THREAD = 50083
LOCKED_THREAD = 160005

_CHANNEL_REASONS: dict[int, str] = {
    UNKNOWN_CHANNEL: "Discord no longer knows this channel (deleted?): subscribe again from a channel that exists",
    UNKNOWN_GUILD: "cytobot is no longer in this server: invite the bot again, then resume",
    MISSING_ACCESS: "cytobot cannot see this channel: give its role View Channel here (channel settings > Permissions)",
    MISSING_PERMISSIONS: "cytobot may not post here: give its role Send Messages and Embed Links in this channel",
    CANNOT_SEND_TO_USER: "Discord does not let cytobot message this user (DMs closed or no shared server)",
    NOT_TEXT_CHANNEL: "This is not a text channel, so cytobot cannot post in it: subscribe from a text channel",
    ARCHIVED_THREAD: "This thread is archived: unarchive it, or subscribe from a channel instead",
    LOCKED_THREAD: "This thread is locked: unlock it, or subscribe from a channel instead",
}
_BAD_TOKEN = ("Discord rejected cytobot's bot token (401): it was reset or is wrong. Put the current token "
              "from the Developer Portal (Bot > Reset Token) in DISCORD_TOKEN and restart cytobot")


def nonce_for(key: str) -> str:
    """A deterministic nonce for `key`, within Discord's 25 characters (92 bits of SHA-256:
    two different keys colliding is not a practical concern)."""
    return "cb" + hashlib.sha256(key.encode("utf-8")).hexdigest()[: NONCE_MAX - 2]


class DiscordPoster:
    """Posts daily facts for one logged-in `discord.Client`. Call `aclose()` when done."""

    platform = PLATFORM

    def __init__(self, client: discord.Client, *, rate: float = RATE, timeout: float = TIMEOUT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.rate = rate
        self.timeout = timeout
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._blocked_until = 0.0  # after a global 429 or a Cloudflare ban: no request before this
        self._blocked_reason = ""

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    @staticmethod
    def payload(reply: Reply, key: str) -> dict[str, Any]:
        """The JSON body for `reply`: the adapter's public rendering (no share button, nobody
        pinged) with the nonce for `key`, built as `Messageable.send` builds it."""
        message = render(dataclasses.replace(reply, visibility=Visibility.PUBLIC))
        params = handle_message_parameters(
            content=message.content if message.content is not None else discord.utils.MISSING,
            embeds=list(message.embeds),
            nonce=nonce_for(key),
            allowed_mentions=discord.AllowedMentions.none(),
        )
        assert params.payload is not None  # no files: always a JSON payload
        return params.payload

    async def post(self, channel: str, reply: Reply, *, key: str) -> PostOutcome:
        """One request, one outcome; never raises, never sleeps, never retries."""
        try:
            return await self._post(channel, reply, key)
        except Exception as exc:  # a bug must not stop the scheduler: report it, retry later
            log.exception("unexpected failure posting to Discord channel %s", channel)
            return RetryAfter(UNKNOWN_RETRY, f"cytobot failed to post ({type(exc).__name__})")

    async def _post(self, channel: str, reply: Reply, key: str) -> PostOutcome:
        if not channel.isdigit():
            return Permanent(f"{channel!r} is not a Discord channel id: subscribe again from the channel itself")
        wait = self._blocked_until - self._clock()
        if wait > 0:
            return RetryAfter(wait, self._blocked_reason)
        http = self.client.http
        if not http.token:
            return RetryAfter(NOT_READY_RETRY, "cytobot has not logged in to Discord yet")
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=int(channel))
        headers = {"User-Agent": http.user_agent, "Authorization": f"Bot {http.token}", "Content-Type": "application/json"}
        body = json.dumps(self.payload(reply, key), separators=(",", ":"), ensure_ascii=True)
        try:
            async with self._http_session().post(route.url, data=body, headers=headers, proxy=http.proxy,
                                                 proxy_auth=http.proxy_auth) as response:
                data = await json_or_text(response)
                return self._outcome(channel, response, data)
        except (asyncio.TimeoutError, TimeoutError):
            return RetryAfter(NETWORK_RETRY, f"Discord did not answer within {self.timeout:g} s")
        except (aiohttp.ClientError, OSError) as exc:
            return RetryAfter(NETWORK_RETRY, f"cannot reach Discord ({type(exc).__name__})")

    def _outcome(self, channel: str, response: aiohttp.ClientResponse, data: dict[str, Any] | str) -> PostOutcome:
        status = response.status
        if 200 <= status < 300:
            message_id = str(data.get("id", "")) if isinstance(data, dict) else ""
            return Sent(message_id)
        if status == 429:
            return self._rate_limited(response, data)
        error = discord.HTTPException(response, data)
        if status == 401:
            log.error("Discord rejected the bot token (401) posting to channel %s", channel)
            return Permanent(_BAD_TOKEN, Scope.PLATFORM)
        if error.code in _CHANNEL_REASONS or status == 403 or (status == 404 and error.code):
            # Never retried: each 403 counts toward Discord's ban on invalid requests.
            known = _CHANNEL_REASONS.get(error.code)
            reason = f"{known} (Discord error {error.code})" if known else \
                f"Discord refused the post ({status}, code {error.code}: {_short(error.text)})"
            log.warning("Discord refused a post to channel %s: %s code %s", channel, status, error.code)
            return Permanent(reason, Scope.CHANNEL)
        if status >= 500:
            return RetryAfter(_retry_after_header(response) or SERVER_RETRY, f"Discord had a server error ({status})")
        log.error("Discord rejected a post to channel %s: %s code %s %s", channel, status, error.code, _short(error.text))
        return RetryAfter(UNKNOWN_RETRY, f"Discord rejected the message ({status}, code {error.code})")

    def _rate_limited(self, response: aiohttp.ClientResponse, data: dict[str, Any] | str) -> PostOutcome:
        header = _retry_after_header(response)
        if not response.headers.get("Via") or not isinstance(data, dict):
            # Not Discord's own limiter: Cloudflare refuses this IP. Stop everything until it lifts.
            wait = header or CLOUDFLARE_BAN_RETRY
            reason = "Discord's network (Cloudflare) is refusing this bot's address for too many invalid requests"
            log.error("Discord answered 429 without a Via header (Cloudflare ban); pausing every post for %.0f s", wait)
            self._block(wait, reason)
            return RetryAfter(wait, reason)
        try:
            wait = float(data.get("retry_after") or header or 1.0)
        except (TypeError, ValueError):
            wait = header or 1.0
        if data.get("global") or response.headers.get("X-RateLimit-Global"):
            reason = "Discord's global rate limit for this bot was reached"
            self._block(wait, reason)
            return RetryAfter(wait, reason)
        return RetryAfter(wait, "Discord's rate limit for this channel was reached")

    def _block(self, seconds: float, reason: str) -> None:
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)
        self._blocked_reason = reason


def _retry_after_header(response: aiohttp.ClientResponse) -> float | None:
    try:
        value = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return value if value > 0 else None


def _short(text: str, limit: int = 120) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
