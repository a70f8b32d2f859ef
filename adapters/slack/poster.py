"""Daily facts on Slack: a core reply in, one `chat.postMessage` out, Slack's answer as an outcome.

The poster makes exactly one request per `post()`. The interactive client (`app.web_client`)
sleeps through 429s and retries server errors, which suits a person waiting for an answer but
not a scheduler serving thousands of channels: it must get "retry after N s" back at once and
serve other channels meanwhile. So the poster builds its own client from the one it is given
(same token, base URL, proxy and TLS settings) with no retry handlers at all, not even
slack_sdk's default connection-error retry: re-sending a post whose request may already have
reached Slack could post it twice, and that decision belongs to the scheduler.

Slack has no idempotency key for `chat.postMessage`, so each post carries its delivery key in
its message metadata (`event_payload.key`). When Slack does not answer in time after the
request went out, the poster looks for that key in the channel's recent history
(`conversations.history`, scopes `channels:history` and `groups:history`) before it sends
again: a post Slack accepted but answered slowly is recorded as sent, never posted twice. What
remains: a process that dies after Slack accepted a post and before the post was marked sent
(its successor does not know to look), see README.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.daily.delivery import Permanent, PostOutcome, RetryAfter, Scope, Sent
from bot.reply import Reply, Visibility

from .render import render_message

log = logging.getLogger("cytobot.slack.poster")

PLATFORM = "slack"
# Slack publishes one message per second per channel and an unstated workspace-wide limit for
# chat.postMessage. One post per second across channels is the only rate it promises; raise it
# with `rate=` if your workspace takes more (a 429 is honoured either way).
RATE = 1.0
TIMEOUT = 10.0  # seconds for one request, connect to last byte
# How long to wait when Slack does not say (it always sends Retry-After with a 429).
RATE_LIMIT_RETRY = 1.0
SERVER_RETRY = 5.0
NETWORK_RETRY = 5.0
# An error this poster does not know asks for no wait of its own: the scheduler holds back the
# whole platform for a RetryAfter's seconds, which one odd channel must not cause; its own
# backoff spaces the retries of that post and bounds their number.
UNKNOWN_RETRY = 0.0

# Message metadata naming the delivery, so a post can be found again (Slack shows it to no one).
EVENT_TYPE = "cytobot_daily_fact"
LOOKUP_LIMIT = 100  # messages read per look, newest first, since the post's first attempt
LOOKUP_SLACK = 60.0  # seconds before the first attempt the look starts (clocks differ)

TRANSIENT = frozenset({"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
                       "request_timeout", "team_added_to_org"})
_INVITE = "invite it with /invite @cytobot in the channel"
CHANNEL_REASONS: dict[str, str] = {
    "not_in_channel": f"cytobot is not a member of this channel: {_INVITE}",
    "channel_not_found": f"Slack cannot find this channel for cytobot: if it is private, {_INVITE}; if it was deleted, "
                         "subscribe again from another channel",
    "is_archived": "This channel is archived: unarchive it, or subscribe again from another channel",
    "restricted_action": "The workspace's settings do not let cytobot post in this channel: a workspace admin has to "
                         "allow apps to post here",
    "restricted_action_read_only_channel": "Only some members may post in this channel: allow cytobot in the channel's "
                                           "posting permissions, or subscribe from another channel",
    "restricted_action_thread_only_channel": "This channel accepts posts only in threads: allow cytobot to post, or "
                                             "subscribe from another channel",
    "restricted_action_non_threadable_channel": "Slack refuses cytobot's posts in this channel: subscribe from another "
                                                "channel",
    "ekm_access_denied": "The workspace's administrators have suspended posting here (Enterprise Key Management)",
    "team_access_not_granted": "cytobot's app is not granted access to the workspace that owns this channel: an org "
                               "admin has to add the app to it",
    "access_denied": "Slack denied cytobot access to this channel: a workspace admin has to allow it",
}
_RESTART = "update SLACK_BOT_TOKEN and restart cytobot"
PLATFORM_REASONS: dict[str, str] = {
    "invalid_auth": f"Slack rejects cytobot's bot token: copy the current Bot User OAuth Token, {_RESTART}",
    "not_authed": "cytobot sent no bot token to Slack: set SLACK_BOT_TOKEN and restart cytobot",
    "account_inactive": f"The Slack app or its workspace was deactivated: reinstall the app, {_RESTART}",
    "token_revoked": f"cytobot's bot token was revoked (was the app uninstalled?): reinstall the app, {_RESTART}",
    "token_expired": f"cytobot's bot token expired (token rotation is on): turn rotation off or {_RESTART}",
    "no_permission": "The bot token lacks the permission to post: reinstall the app from its manifest",
    "not_allowed_token_type": "SLACK_BOT_TOKEN is not a bot token: use the Bot User OAuth Token (xoxb-…)",
    "org_login_required": "The workspace is being migrated into an Enterprise org: resume daily facts once the migration is done",
    "enterprise_is_restricted": "The Enterprise org restricts this app: an org admin has to allow it",
}


def posting_client(client: AsyncWebClient, *, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """A copy of `client` for scheduled posts: same token, URL, proxy and TLS, and no retry handlers."""
    return AsyncWebClient(
        token=client.token,
        base_url=client.base_url,
        ssl=client.ssl,
        proxy=client.proxy,
        session=session,
        trust_env_in_session=client.trust_env_in_session,
        headers={k: v for k, v in client.headers.items() if k.lower() != "user-agent"},
        team_id=client.default_params.get("team_id"),
        logger=client.logger,
        retry_handlers=[],
    )


class SlackPoster:
    """Posts daily facts with the bot token of `client`. Call `aclose()` when done."""

    platform = PLATFORM

    def __init__(self, client: AsyncWebClient, *, rate: float = RATE, timeout: float = TIMEOUT) -> None:
        self.rate = rate
        self.timeout = timeout
        self._template = client
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None
        # Keys whose post may have reached Slack without an answer: key -> wall time of the first try.
        self._uncertain: dict[str, float] = {}
        self._lookup_refused = False  # said once: without the history scopes nothing can be looked up
        self.lookups = 0  # conversations.history calls made (tests, metrics)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
            self._client = None

    def _posting_client(self) -> AsyncWebClient:
        # One session for all posts (connections are reused); created inside the running loop.
        if self._client is None or self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout),
                                                  trust_env=self._template.trust_env_in_session)
            self._client = posting_client(self._template, session=self._session)
        return self._client

    @staticmethod
    def message(reply: Reply, key: str = "") -> dict[str, Any]:
        """The arguments of chat.postMessage for `reply`: the adapter's public rendering (no
        share button; everything escaped, so nobody is pinged) with link previews off, and the
        delivery key in the message metadata."""
        args = {**render_message(dataclasses.replace(reply, visibility=Visibility.PUBLIC)),
                "unfurl_links": False, "unfurl_media": False}
        if key:
            args["metadata"] = {"event_type": EVENT_TYPE, "event_payload": {"key": key}}
        return args

    async def post(self, channel: str, reply: Reply, *, key: str) -> PostOutcome:
        """One post, one outcome; never raises, never sleeps, never retries. A key whose last
        try went unanswered is first looked for in the channel (found: Sent, nothing posted)."""
        if key in self._uncertain:
            found = await self._find(channel, key)
            if found is None:  # the look itself failed: sending could post twice, so wait
                return RetryAfter(NETWORK_RETRY, "Slack did not say whether an earlier try was posted")
            if found:
                self._uncertain.pop(key, None)
                return Sent(found)
        started = time.time()
        try:
            response = await self._posting_client().chat_postMessage(channel=channel, **self.message(reply, key))
            self._uncertain.pop(key, None)
            return Sent(str(response.get("ts") or ""))
        except SlackApiError as exc:
            self._uncertain.pop(key, None)
            return self._failure(channel, exc)
        except (asyncio.TimeoutError, TimeoutError):
            # The request went out; Slack may have posted it. Look now, and again before any resend.
            self._uncertain.setdefault(key, started)
            while len(self._uncertain) > 10_000:  # days that ended without an answer: forget the oldest
                self._uncertain.pop(next(iter(self._uncertain)))
            found = await self._find(channel, key)
            if found:
                self._uncertain.pop(key, None)
                return Sent(found)
            return RetryAfter(NETWORK_RETRY, f"Slack did not answer within {self.timeout:g} s")
        except (aiohttp.ClientError, OSError) as exc:
            return RetryAfter(NETWORK_RETRY, f"cannot reach Slack ({type(exc).__name__})")
        except Exception as exc:  # a bug must not stop the scheduler: report it, retry later
            log.exception("unexpected failure posting to Slack channel %s", channel)
            return RetryAfter(UNKNOWN_RETRY, f"cytobot failed to post ({type(exc).__name__})")

    async def _find(self, channel: str, key: str) -> str | None:
        """The ts of the message carrying `key` in `channel`'s recent history; "" when it is not
        there (or cannot be looked up: sending again is then the old behaviour); None when Slack
        did not answer the look either."""
        if self._lookup_refused:
            return ""
        since = self._uncertain.get(key, time.time()) - LOOKUP_SLACK
        self.lookups += 1
        try:
            response = await self._posting_client().conversations_history(
                channel=channel, oldest=f"{since:.6f}", limit=LOOKUP_LIMIT, include_all_metadata=True)
        except SlackApiError as exc:
            data = getattr(exc.response, "data", None)
            error = str(data.get("error") or "") if isinstance(data, Mapping) else ""
            if error in ("missing_scope", "not_allowed_token_type", "no_permission"):
                self._lookup_refused = True
                log.warning("Slack refuses conversations.history (%s): a post Slack answers slowly may be sent twice; "
                            "add the channels:history and groups:history scopes and reinstall the app", error)
            return ""
        except (asyncio.TimeoutError, TimeoutError, aiohttp.ClientError, OSError):
            return None
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == EVENT_TYPE and payload.get("key") == key:
                return str(message.get("ts") or "found")
        return ""

    def _failure(self, channel: str, exc: SlackApiError) -> PostOutcome:
        response = exc.response
        status = int(getattr(response, "status_code", None) or getattr(response, "status", 0) or 0)
        headers: Mapping[str, str] = getattr(response, "headers", None) or {}
        data = getattr(response, "data", None)
        body: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        error = str(body.get("error") or "")
        if status == 429 or error in ("ratelimited", "rate_limited"):
            return RetryAfter(_retry_after(headers) or RATE_LIMIT_RETRY, "Slack's rate limit was reached")
        if error in PLATFORM_REASONS or error == "missing_scope":
            log.error("Slack refused the bot token posting to %s: %s", channel, error)
            return Permanent(f"{self._platform_reason(error, body)} ({error})", Scope.PLATFORM)
        if error in CHANNEL_REASONS or error.startswith("restricted_action"):
            log.warning("Slack refused a post to %s: %s", channel, error)
            reason = CHANNEL_REASONS.get(error) or CHANNEL_REASONS["restricted_action"]
            return Permanent(f"{reason} ({error})", Scope.CHANNEL)
        if status >= 500 or error in TRANSIENT:
            return RetryAfter(_retry_after(headers) or SERVER_RETRY, f"Slack had a server error ({error or status})")
        log.error("Slack rejected a post to %s: status %s, error %s", channel, status, error or "(none)")
        return RetryAfter(UNKNOWN_RETRY, f"Slack rejected the message ({error or status})")

    @staticmethod
    def _platform_reason(error: str, body: Mapping[str, Any]) -> str:
        if error == "missing_scope":
            needed = str(body.get("needed") or "chat:write").replace(",", ", ")
            return (f"cytobot's Slack app lacks the scope {needed}: add it under OAuth & Permissions, "
                    "reinstall the app and restart cytobot")
        return PLATFORM_REASONS[error]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("Retry-After") or headers.get("retry-after") or ""
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value > 0 else None
