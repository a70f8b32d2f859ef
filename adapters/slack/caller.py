"""Who is asking, in Slack terms: a core `Caller` from a slash command, a button or an event.

Whether someone may manage the channel's settings (daily facts) needs an API call
(`users.info`), so it is a lazy check the core awaits only for commands that change
something: lookups never pay for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.request import Caller

log = logging.getLogger("cytobot.slack")

PLATFORM = "slack"
MANAGERS = "workspace admins and owners, or the users listed in CYTOBOT_SLACK_ADMINS"
ROLE_CACHE_SECONDS = 300.0


def admin_ids(env: Mapping[str, str]) -> frozenset[str]:
    """User ids from CYTOBOT_SLACK_ADMINS (comma or space separated)."""
    raw = env.get("CYTOBOT_SLACK_ADMINS", "")
    return frozenset(part.strip() for part in raw.replace(",", " ").split() if part.strip())


class Roles:
    """Whether a user is a workspace admin or owner, from `users.info`, cached for a few minutes."""

    def __init__(self, admins: Iterable[str] = (), *, ttl: float = ROLE_CACHE_SECONDS):
        self.admins = frozenset(admins)
        self.ttl = ttl
        self._cache: dict[str, tuple[float, bool]] = {}

    def check(self, client: AsyncWebClient, user_id: str) -> Callable[[], Awaitable[bool]]:
        async def may_manage() -> bool:
            if user_id in self.admins:
                return True
            if not user_id:
                return False
            cached = self._cache.get(user_id)
            if cached is not None and time.monotonic() - cached[0] < self.ttl:
                return cached[1]
            try:
                user = (await client.users_info(user=user_id)).get("user") or {}
            except SlackApiError as exc:
                log.warning("users.info failed (%s); treating the user as not an admin", exc.response.get("error"))
                return False
            allowed = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
            self._cache[user_id] = (time.monotonic(), allowed)
            return allowed

        return may_manage


def caller_from(body: Mapping[str, Any], client: AsyncWebClient, roles: Roles) -> Caller:
    """The caller of a slash command (flat fields), a block action (nested `user`, `channel`) or
    an Events API callback (`event` with `user`, `channel`, `channel_type`; `team_id` on the body)."""
    event = body.get("event") if isinstance(body.get("event"), Mapping) else {}
    user = body.get("user") if isinstance(body.get("user"), Mapping) else {}
    channel = body.get("channel") if isinstance(body.get("channel"), Mapping) else {}
    team = body.get("team") if isinstance(body.get("team"), Mapping) else {}
    user_id = str(body.get("user_id") or user.get("id") or event.get("user") or "")
    channel_id = str(body.get("channel_id") or channel.get("id") or (body.get("container") or {}).get("channel_id")
                     or event.get("channel") or "")
    # Events carry no user name: the id stands in (it is never rendered as a mention).
    name = str(body.get("user_name") or user.get("name") or user.get("username") or user_id)
    return Caller(
        platform=PLATFORM,
        workspace=str(body.get("team_id") or team.get("id") or event.get("team") or ""),
        channel=channel_id,
        user_id=user_id,
        display_name=name,
        is_direct=event.get("channel_type") == "im" or channel_id.startswith("D"),
        may_manage=roles.check(client, user_id),
        managers=MANAGERS,
    )
