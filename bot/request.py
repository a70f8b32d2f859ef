"""Who is asking, and what: the one request every adapter hands the core.

Slash commands, typed options, @mentions, DMs, buttons and scheduled posts all arrive as a
`Request`. Lookups ignore the caller; commands that change something (daily subscriptions)
read it. Nothing here knows a platform: adapters fill these fields from their own events.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

log = logging.getLogger(__name__)

# An adapter may know up front whether the caller may manage the channel (Discord resolves
# permissions into the interaction), or only after asking its platform (Slack's users.info):
# then it passes a coroutine function, which the core awaits only when a command needs it.
ManageCheck = bool | Callable[[], Awaitable[bool]]


class Origin(str, Enum):
    """How the request reached the bot; for logs, metrics and reply placement."""

    COMMAND = "command"  # slash command, typed options, console line, `cytobot ask`
    MENTION = "mention"  # @bot in a channel
    DIRECT = "direct"  # a direct message to the bot
    BUTTON = "button"  # a button on an earlier reply (share)
    SCHEDULE = "schedule"  # the daily-fact scheduler


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking and where. `workspace` is a Slack team or a Discord guild ("" when none)."""

    platform: str = "console"
    workspace: str = ""
    channel: str = "console"
    user_id: str = "console"
    display_name: str = ""
    is_direct: bool = False
    may_manage: ManageCheck = False
    # Who may change channel settings here, in words, for refusals ("members with Manage Channels").
    managers: str = ""

    async def can_manage(self) -> bool:
        """Whether the caller may change this channel's settings; a failing check means no."""
        check = self.may_manage
        if isinstance(check, bool):
            return check
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            return bool(result)
        except Exception:
            log.exception("permission check failed on %s; treating the caller as not allowed", self.platform)
            return False


CONSOLE = Caller(platform="console", channel="console", user_id="console", display_name="console", may_manage=True,
                 managers="anyone at the console")


@dataclass(frozen=True, slots=True)
class Request:
    """A line as typed (`line`), or a command with typed options (`command` and `args`)."""

    line: str | None = None
    command: str | None = None
    args: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    caller: Caller = CONSOLE
    public: bool = False
    origin: Origin = Origin.COMMAND

    @classmethod
    def text(cls, line: str, caller: Caller = CONSOLE, *, public: bool = False, origin: Origin = Origin.COMMAND) -> Request:
        return cls(line=line, caller=caller, public=public, origin=origin)

    @classmethod
    def options(cls, command: str, args: Mapping[str, object] | None = None, caller: Caller = CONSOLE, *,
                public: bool = False, origin: Origin = Origin.COMMAND) -> Request:
        return cls(command=command, args=MappingProxyType(dict(args or {})), caller=caller, public=public, origin=origin)
