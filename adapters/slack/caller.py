"""Who is asking, in Slack terms: a core `Caller` from a slash command, a button or an event.

Whether someone may manage the channel's settings (daily facts) needs an API call
(`users.info`), so it is a lazy check the core awaits only for commands that change
something: lookups never pay for it.

Who counts as a manager: the user ids in CYTOBOT_SLACK_ADMINS, and admins and owners of the
workspace the request came from. The check fails closed: a users.info that fails, times out or
answers something unexpected means "not allowed" (logged with the error code only, never a
token or a response body), and is not cached, so the next attempt asks again. Answers are
cached for a few minutes in a bounded cache, and concurrent checks for one user share one
request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.request import Caller

log = logging.getLogger("cytobot.slack")

PLATFORM = "slack"
MANAGERS = "workspace admins and owners, or the users listed in CYTOBOT_SLACK_ADMINS"
ROLE_CACHE_SECONDS = 300.0
ROLE_CACHE_SIZE = 10_000  # users remembered at once; the oldest answer is forgotten first
LOOKUP_TIMEOUT = 10.0  # seconds for one users.info, retries of the client included


def is_manager(user: Any, workspace: str) -> bool:
    """Whether a users.info `user` object is an admin or owner of `workspace`.

    Only an explicit `true` counts. Deactivated users, bots, guests and people from another
    organisation (a Slack Connect channel: `is_stranger`, or a home team that is not this
    workspace nor one of their Enterprise Grid workspaces) never do, whatever their own
    workspace makes them.
    """
    if not isinstance(user, Mapping):
        return False
    if any(user.get(flag) is True for flag in ("deleted", "is_bot", "is_restricted", "is_ultra_restricted", "is_stranger")):
        return False
    home = user.get("team_id")
    if workspace and home and home != workspace:
        enterprise = user.get("enterprise_user")
        teams = enterprise.get("teams") if isinstance(enterprise, Mapping) else None
        if not isinstance(teams, list) or workspace not in teams:
            return False
    return any(user.get(flag) is True for flag in ("is_admin", "is_owner", "is_primary_owner"))


class Roles:
    """Who may manage channel settings: listed ids, or workspace admins and owners (users.info)."""

    def __init__(self, admins: Iterable[str] = (), *, ttl: float = ROLE_CACHE_SECONDS, size: int = ROLE_CACHE_SIZE,
                 timeout: float = LOOKUP_TIMEOUT, clock: Callable[[], float] = time.monotonic):
        self.admins = frozenset(admins)
        self.ttl = ttl
        self.size = size
        self.timeout = timeout
        self._clock = clock
        self._cache: OrderedDict[tuple[str, str], tuple[float, bool]] = OrderedDict()
        self._pending: dict[tuple[str, str], asyncio.Future[bool | None]] = {}

    def check(self, client: AsyncWebClient, user_id: str, workspace: str = "") -> Callable[[], Awaitable[bool]]:
        """The lazy check a `Caller` carries; nothing is asked until the core awaits it."""

        async def may_manage() -> bool:
            return await self.may_manage(client, user_id, workspace)

        return may_manage

    async def may_manage(self, client: AsyncWebClient, user_id: str, workspace: str = "") -> bool:
        if user_id in self.admins:
            return True
        if not user_id:
            return False
        key = (workspace, user_id)
        cached = self._cache.get(key)
        if cached is not None and self._clock() - cached[0] < self.ttl:
            return cached[1]
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._lookup(client, user_id, workspace))
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        allowed = await asyncio.shield(pending)
        if allowed is None:
            return False
        self._remember(key, allowed)
        return allowed

    def _remember(self, key: tuple[str, str], allowed: bool) -> None:
        self._cache[key] = (self._clock(), allowed)
        self._cache.move_to_end(key)
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)

    async def _lookup(self, client: AsyncWebClient, user_id: str, workspace: str) -> bool | None:
        """True/False from users.info, or None when Slack could not say (not cached)."""
        try:
            response = await asyncio.wait_for(client.users_info(user=user_id), self.timeout)
        except SlackApiError as exc:
            data = getattr(exc.response, "data", None)
            error = data.get("error") if isinstance(data, Mapping) else None
            log.warning("users.info failed for %s (%s); treating the user as not an admin", user_id, error or "no error code")
            return None
        except (asyncio.TimeoutError, TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("users.info unreachable for %s (%s); treating the user as not an admin", user_id, type(exc).__name__)
            return None
        user = response.get("user")
        if not isinstance(user, Mapping):
            log.warning("users.info answered without a user object for %s; treating the user as not an admin", user_id)
            return None
        return is_manager(user, workspace)


def caller_from(body: Mapping[str, Any], client: AsyncWebClient, roles: Roles) -> Caller:
    """The caller of a slash command (flat fields), a block action (nested `user`, `channel`) or
    an Events API callback (`event` with `user`, `channel`, `channel_type`; `team_id` on the body)."""
    event = body.get("event") if isinstance(body.get("event"), Mapping) else {}
    user = body.get("user") if isinstance(body.get("user"), Mapping) else {}
    channel = body.get("channel") if isinstance(body.get("channel"), Mapping) else {}
    team = body.get("team") if isinstance(body.get("team"), Mapping) else {}
    container = body.get("container") if isinstance(body.get("container"), Mapping) else {}
    user_id = str(body.get("user_id") or user.get("id") or event.get("user") or "")
    channel_id = str(body.get("channel_id") or channel.get("id") or container.get("channel_id") or event.get("channel") or "")
    # Events carry no user name: the id stands in (it is never rendered as a mention).
    name = str(body.get("user_name") or user.get("name") or user.get("username") or user_id)
    workspace = str(body.get("team_id") or team.get("id") or event.get("team") or user.get("team_id") or "")
    return Caller(
        platform=PLATFORM,
        workspace=workspace,
        channel=channel_id,
        user_id=user_id,
        display_name=name,
        is_direct=event.get("channel_type") == "im" or channel_id.startswith("D"),
        may_manage=roles.check(client, user_id, workspace),
        managers=MANAGERS,
    )
