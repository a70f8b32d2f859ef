"""Logging: text or JSON lines, secrets blanked, escapes neutralised, libraries never at DEBUG."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from adapters.logs import REDACTED, configure_logging

SECRET = "xoxb-1-abcdef-secret"


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Logger]]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.level, {name: logging.getLogger(name).level for name in ("slack_sdk", "slack_bolt", "discord")}
    yield stream, logging.getLogger("cytobot.test")
    for handler in [h for h in root.handlers if getattr(h, "_cytobot", False)]:
        root.removeHandler(handler)
    root.setLevel(saved[0])
    for name, level in saved[1].items():
        logging.getLogger(name).setLevel(level)


def test_text_lines_blank_secrets_and_escape_control_characters(captured) -> None:
    stream, log = captured
    configure_logging("INFO", "text", [SECRET, "short"], stream=stream)
    log.info("token %s then \x1b]0;pwned\x07 and\nFORGED 2026 INFO line", SECRET)
    text = stream.getvalue()
    assert SECRET not in text and REDACTED in text
    assert "\x1b" not in text and "\\x1b" in text and "\x07" not in text
    assert text.count("\n") == 1 and "\\x0aFORGED" in text  # one record, one line


def test_tracebacks_keep_their_lines_but_lose_secrets(captured) -> None:
    stream, log = captured
    configure_logging("INFO", "text", [SECRET], stream=stream)
    try:
        raise RuntimeError(f"bad {SECRET}")
    except RuntimeError:
        log.exception("failed")
    text = stream.getvalue()
    assert "Traceback" in text and text.count("\n") > 2 and SECRET not in text


def test_json_lines_carry_the_command_fields(captured) -> None:
    stream, log = captured
    configure_logging("DEBUG", "json", [SECRET], stream=stream)
    log.info("slack about via command: ok", extra={"platform": "slack", "command": "about", "latency_ms": 0.3})
    log.debug("with %s", SECRET)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["level"], first["logger"], first["platform"], first["command"], first["latency_ms"]) == (
        "INFO", "cytobot.test", "slack", "about", 0.3)
    assert second["message"] == f"with {REDACTED}"


def test_debug_is_for_cytobot_libraries_stay_at_info_or_above(captured) -> None:
    stream, _ = captured
    configure_logging("DEBUG", "text", stream=stream)
    assert logging.getLogger("cytobot.slack").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("slack_sdk.web.async_base_client").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("discord.gateway").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("slack_bolt.App").isEnabledFor(logging.INFO)  # bolt logs bodies at INFO
    configure_logging("ERROR", "text", stream=stream)
    assert not logging.getLogger("discord.gateway").isEnabledFor(logging.WARNING)


def test_reconfiguring_replaces_only_our_own_handler(captured) -> None:
    stream, _ = captured
    other = logging.NullHandler()
    logging.getLogger().addHandler(other)
    try:
        configure_logging("INFO", "text", stream=stream)
        configure_logging("INFO", "json", stream=stream)
        ours = [h for h in logging.getLogger().handlers if getattr(h, "_cytobot", False)]
        assert len(ours) == 1 and other in logging.getLogger().handlers
    finally:
        logging.getLogger().removeHandler(other)
