"""@mentions and direct messages on Slack: Events API `app_mention` and `message.im`.

`@cytobot <question or command>` in a channel is answered in a thread under the message; a
direct message to the app is answered in the DM. Both go through `engine.handle` with the
typed line, like the slash command, and are rendered by the same renderer within the same
limits. A reply nobody else needs (an error, "not covered") is posted ephemerally in a channel.

Never answered twice. Slack retries an event it thinks was not acknowledged (X-Slack-Retry-Num),
and bolt does not de-duplicate, so the handler records each message (team, channel, ts) before
answering and drops a second delivery of it: a retry, or the same message reaching both handlers.
The record is `SeenEvents`. `cytobot run` / `cytobot slack` pass `bot.daily.seen.DatabaseSeen`,
a table with a unique key in the bot's database, so with several replicas on one PostgreSQL a
retry reaching another replica is dropped too. `MemorySeen`, the default where no database is
open, keeps the last hour in this process: one answer per message for one process (Socket Mode
or HTTP). If answering fails before anything was posted, the record is dropped again, so
Slack's retry gets a second chance.

Ignored: the bot's own messages, other bots' messages (`bot_id`), and message subtypes (edits,
deletions, joins, file shares...). Logs name the event kind and channel, never what was typed.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Protocol

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.inflight import INFLIGHT
from adapters.observe import counted_on_delivery
from adapters.slack.caller import Roles, caller_from
from adapters.slack.render import render_message
from bot.reply import Reply
from bot.request import Origin, Request

log = logging.getLogger("cytobot.slack.events")

SEEN_SECONDS = 3600.0  # Slack retries within minutes; an hour leaves a wide margin
SEEN_MAX = 50_000  # messages remembered at most, oldest forgotten first


class EngineLike(Protocol):
    async def handle(self, request: Request) -> Reply: ...


class SeenEvents(Protocol):
    """Which messages have been taken on. `first_time` must be atomic: of two concurrent calls
    with one key, exactly one gets True."""

    async def first_time(self, key: str) -> bool: ...

    async def forget(self, key: str) -> None: ...


class MemorySeen:
    """Messages taken on by this process in the last `ttl` seconds (at most `limit` of them)."""

    def __init__(self, ttl: float = SEEN_SECONDS, limit: int = SEEN_MAX, clock: Any = time.monotonic):
        self.ttl, self.limit, self.clock = ttl, limit, clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def first_time(self, key: str) -> bool:
        now = self.clock()
        while self._seen and (len(self._seen) >= self.limit or now - next(iter(self._seen.values())) > self.ttl):
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True

    async def forget(self, key: str) -> None:
        self._seen.pop(key, None)


def _ignored(event: Mapping[str, Any], context: Mapping[str, Any]) -> str | None:
    """Why an event gets no answer, or None."""
    if event.get("subtype"):
        return "subtype"  # edits, deletions, joins, bot_message, file shares...
    if event.get("bot_id") or event.get("bot_profile"):
        return "bot"
    user = event.get("user")
    if not user:
        return "no user"
    if user == context.get("bot_user_id"):
        return "self"
    return None


def register_events(app: AsyncApp, engine: EngineLike, *, roles: Roles, seen: SeenEvents | None = None) -> None:
    """Add the `app_mention` and `message` (DM) listeners to `app`."""
    seen = seen or MemorySeen()

    @INFLIGHT.tracked  # a shutdown waits for the answer to be posted
    async def answer(body: Mapping[str, Any], event: Mapping[str, Any], client: AsyncWebClient,
                     headers: Mapping[str, Any], origin: Origin, thread_ts: str | None) -> None:
        channel = str(event.get("channel") or "")
        key = f"{body.get('team_id') or event.get('team') or ''}:{channel}:{event.get('ts') or body.get('event_id')}"
        if not await seen.first_time(key):
            retry = _header(headers, "x-slack-retry-num")
            log.info("%s in %s already answered; delivery ignored (retry %s)", origin.value, channel, retry or "none")
            return
        posted = False
        try:
            with counted_on_delivery() as delivery:  # counted once we know whether the answer was posted
                try:
                    caller = caller_from(body, client, roles)
                    reply = await engine.handle(Request.text(str(event.get("text") or ""), caller, public=True, origin=origin))
                    message = {**render_message(reply), "unfurl_links": False, "unfurl_media": False}
                    if reply.is_error and not caller.is_direct:
                        # Only the asker needs to see "not covered" or "did you mean": keep the thread clean.
                        await client.chat_postEphemeral(channel=channel, user=caller.user_id, thread_ts=thread_ts, **message)
                    else:
                        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message)
                    posted = True
                except SlackApiError as exc:
                    log.warning("could not answer a %s in %s: %s", origin.value, channel, exc.response.get("error"))
                except Exception:
                    log.exception("answering a %s in %s failed", origin.value, channel)
                finally:
                    if not posted:
                        delivery.failed()
        finally:
            if not posted:
                await seen.forget(key)  # nothing reached the user: let Slack's retry try again

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient,
                         context: dict[str, Any], request: Any) -> None:
        why = _ignored(event, context)
        if why is not None or str(event.get("channel", "")).startswith("D"):
            return  # DMs arrive as message.im, answered there
        thread = str(event.get("thread_ts") or event.get("ts") or "") or None
        await answer(body, event, client, request.headers, Origin.MENTION, thread)

    @app.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient,
                         context: dict[str, Any], request: Any) -> None:
        if event.get("channel_type") != "im" or _ignored(event, context) is not None:
            return
        # In the DM itself; in a thread only if the question was asked in one.
        await answer(body, event, client, request.headers, Origin.DIRECT, event.get("thread_ts"))


def _header(headers: Mapping[str, Any], name: str) -> str:
    value = headers.get(name) or headers.get(name.title()) or ""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return str(value)
