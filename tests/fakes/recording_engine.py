"""A stand-in for the core that records what an adapter hands it, then answers as the real one.

Permission tests drive the real adapters (signed Slack requests, Discord interactions) into
this object: for every request it awaits `request.caller.can_manage()` (the adapter's real
check: users.info on Slack, resolved permissions on Discord) and keeps the caller and the
answer, then lets the real engine answer so the adapter completes its round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.reply import Reply
from bot.request import Caller, Request


@dataclass(frozen=True, slots=True)
class Seen:
    request: Request
    caller: Caller
    can_manage: bool


class RecordingEngine:
    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.seen: list[Seen] = []

    def __getattr__(self, name: str) -> Any:  # commands, complete, prefix...: the real engine's
        return getattr(self._engine, name)

    async def handle(self, request: Request) -> Reply:
        allowed = await request.caller.can_manage()
        self.seen.append(Seen(request, request.caller, allowed))
        return await self._engine.handle(request)
