"""Logging for every `cytobot` command: text or JSON lines on stderr, configured once.

Three rules, because logs are read by people and shipped to systems nobody here controls:
- Libraries never log at DEBUG, whatever `CYTOBOT_LOG_LEVEL` says: slack_sdk, bolt's Socket
  Mode client and discord.py print whole request and response bodies (what users typed, the
  cards we sent) at DEBUG, and bolt prints request bodies at INFO too, so it logs warnings
  only. `CYTOBOT_LOG_LEVEL=DEBUG` is for cytobot's own loggers.
- Every secret the settings hold is blanked from every line, in case a library prints one.
- Control characters are escaped in text lines, so nothing logged can move the cursor of the
  terminal reading it or forge a second line (tracebacks keep their own newlines).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
# The least a library logger is set to, whatever CYTOBOT_LOG_LEVEL says. Bolt (and
# `cytobot.slack.bolt`, the logger we hand it, which its Socket Mode client shares) logs
# request bodies at INFO ("request body: ...", unsigned requests) and whole envelopes at
# DEBUG, so it starts at WARNING; the others print payloads only at DEBUG.
LIBRARY_FLOORS = {"slack_bolt": logging.WARNING, "cytobot.slack.bolt": logging.WARNING, "slack_sdk": logging.INFO,
                  "discord": logging.INFO, "aiohttp": logging.INFO, "asyncio": logging.INFO,
                  "websockets": logging.INFO, "sqlalchemy": logging.INFO, "alembic": logging.INFO,
                  "urllib3": logging.INFO}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but \t and \n (tracebacks)
_MESSAGE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # a message gets no line breaks at all
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_MIN_SECRET = 6  # shorter values would blank ordinary words


class _Scrub:
    def __init__(self, secrets: Iterable[str]):
        # Longest first, so a secret containing another is blanked whole.
        self.secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`. A message is always one line (its newlines are escaped);
    an exception's traceback follows on its own lines."""

    def __init__(self, scrub: _Scrub):
        super().__init__(TEXT_FORMAT)
        self.scrub = scrub

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = _escape(record.message, _MESSAGE_CONTROL)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        return _escape(self.scrub(super().format(record)), _CONTROL)


def _escape(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, any `extra=` fields, exception."""

    def __init__(self, scrub: _Scrub):
        super().__init__()
        self.scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.scrub(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value if isinstance(value, int | float | bool) or value is None else self.scrub(str(value))
        if record.exc_info:
            out["exception"] = self.scrub(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of the record (test captures replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = (),
                      stream: TextIO | None = None) -> logging.Handler:
    """Install cytobot's handler on the root logger (replacing one installed earlier; handlers
    others installed, such as pytest's, stay). Returns the handler."""
    levelno = logging.getLevelName(level.upper())
    if not isinstance(levelno, int):
        raise ValueError(f"unknown log level {level!r}")
    scrub = _Scrub(secrets)
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.setFormatter(JsonFormatter(scrub) if fmt == "json" else TextFormatter(scrub))
    handler._cytobot = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_cytobot", False):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(levelno)
    for name, floor in LIBRARY_FLOORS.items():
        logging.getLogger(name).setLevel(max(levelno, floor))
    return handler
