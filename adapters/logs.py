"""Logging for every `cytobot` command: text or JSON lines on stderr, configured once.

The rules, because logs are read by people and shipped to systems nobody here controls:
- Libraries never log at DEBUG, whatever `CYTOBOT_LOG_LEVEL` says: slack_sdk, bolt's Socket
  Mode client and discord.py print whole request and response bodies (what users typed, the
  cards we sent) at DEBUG, and bolt prints request bodies at INFO too, so it logs warnings
  only. `CYTOBOT_LOG_LEVEL=DEBUG` is for cytobot's own loggers.
- No library logs SQL: SQLAlchemy at INFO echoes every statement (channel, workspace and user
  ids, event keys) and aiosqlite at DEBUG every operation with its parameters, so both, and
  Alembic's start-up chatter, log warnings only. `CYTOBOT_LOG_SQL=1` turns the statement echo
  (with parameters) back on, for debugging a database only.
- Secrets are blanked where they occur as secrets: the password of a URL, an Authorization
  header's credentials, Slack tokens (xoxb-, xapp-...), and each secret the settings hold
  (bot tokens, the signing secret) as a whole token, never as part of another word: a
  database password `cytobot` blanks `postgresql://u:cytobot@db`, not "cytobot run". A secret
  shorter than 8 characters is a configuration warning (`weak_secrets`).
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
                  "websockets": logging.INFO, "urllib3": logging.INFO,
                  # SQL: statements, parameters and migration chatter, unless CYTOBOT_LOG_SQL asks.
                  "sqlalchemy": logging.WARNING, "alembic": logging.WARNING, "aiosqlite": logging.WARNING,
                  "asyncpg": logging.WARNING}
SQL_LOGGER = "sqlalchemy.engine"  # statements and parameters at INFO: on only with CYTOBOT_LOG_SQL
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but \t and \n (tracebacks)
_MESSAGE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # a message gets no line breaks at all
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
MIN_SECRET = 8  # a shorter secret is a configuration warning (and too weak to be one)
# Secrets by where they stand, whoever holds them: a URL's password (scheme://user:PASSWORD@),
# an Authorization header's credentials, Slack tokens.
_SHAPES = (
    re.compile(r"(?<=[A-Za-z0-9+.-]://)([^\s/@:]*:)[^\s/@]+(?=@)"),
    re.compile(r"(?i)(?<=authorization)(['\"]?\s*[:=]\s*['\"]?(?:bearer|bot|basic)\s+)[^\s'\",}]+"),
    re.compile(r"(?i)(?<=password)(['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"),
    re.compile(r"(?<![A-Za-z0-9])()xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"(?<![A-Za-z0-9])()xapp-[A-Za-z0-9-]+"),
)
_WORD = "A-Za-z0-9"


class _Scrub:
    def __init__(self, secrets: Iterable[str]):
        # Each known secret as a whole token (not inside a longer word), longest first so a
        # secret containing another is blanked whole.
        known = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.known = (re.compile("|".join(rf"(?<![{_WORD}]){re.escape(s)}(?![{_WORD}])" for s in known))
                      if known else None)

    def __call__(self, text: str) -> str:
        for shape in _SHAPES:
            text = shape.sub(lambda m: m.group(1) + REDACTED, text)
        if self.known is not None:
            text = self.known.sub(REDACTED, text)
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
                      stream: TextIO | None = None, *, log_sql: bool = False) -> logging.Handler:
    """Install cytobot's handler on the root logger (replacing one installed earlier; handlers
    others installed, such as pytest's, stay). Returns the handler. `secrets` are blanked as
    whole tokens; `log_sql` (CYTOBOT_LOG_SQL) shows SQLAlchemy's statements and parameters."""
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
    logging.getLogger(SQL_LOGGER).setLevel(logging.INFO if log_sql else logging.NOTSET)
    return handler


def weak_secrets(named: dict[str, str]) -> list[str]:
    """The names of the secrets shorter than MIN_SECRET characters, for a start-up warning."""
    return sorted(name for name, value in named.items() if value and len(value) < MIN_SECRET)
