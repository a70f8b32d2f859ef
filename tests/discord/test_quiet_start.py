"""Start-up says nothing a user cannot act on: discord.py's voice warnings are off, others stay."""

from __future__ import annotations

import logging
from typing import Any

import discord

from adapters.discord.client import build_client


async def test_no_pynacl_or_davey_warning_when_the_client_starts(engine: Any, caplog: Any, monkeypatch: Any) -> None:
    caplog.set_level(logging.DEBUG)
    # As in a fresh process without the voice libraries (the suite may have built a client already).
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True)
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", True)
    client = build_client(engine)
    try:
        said = [r.getMessage() for r in caplog.records]
        assert not [m for m in said if "PyNaCl" in m or "davey" in m], said
        logging.getLogger("discord.client").warning("a warning worth reading")
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == ["a warning worth reading"]
    finally:
        await client.close()
