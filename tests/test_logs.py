"""Logging: text or JSON lines, secrets blanked, escapes neutralised, libraries never at DEBUG."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from adapters.logs import LIBRARY_FLOORS, REDACTED, SQL_LOGGER, configure_logging

SECRET = "xoxb-1-abcdef-secret"


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Logger]]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.level, {name: logging.getLogger(name).level for name in (*LIBRARY_FLOORS, SQL_LOGGER)}
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


# --- secrets where they stand as secrets, not inside ordinary words -------------------------

def test_a_short_database_password_is_blanked_in_urls_not_in_words(captured) -> None:
    """Compose's default password is `cytobot`: the URL loses it, the bot's own name stays."""
    stream, log = captured
    configure_logging("INFO", "text", [], stream=stream)
    log.info("cytobot run serving; db postgresql://cytobot:cytobot@postgres:5432/cytobot; password=cytobot")
    text = stream.getvalue()
    assert f"postgresql://cytobot:{REDACTED}@postgres:5432/cytobot" in text
    assert f"password={REDACTED}" in text
    assert "cytobot.test: cytobot run serving" in text


def test_known_secrets_are_blanked_as_whole_tokens_only(captured) -> None:
    stream, log = captured
    signing = "8f3a9c0d1e2b4f5a6b7c8d9e0f1a2b3c"
    configure_logging("INFO", "text", [signing, "hunter2hunter2"], stream=stream)
    log.info("sig=%s; x%sy stays; hunter2hunter2 goes; hunter2hunter2s stays", signing, signing)
    text = stream.getvalue()
    assert f"sig={REDACTED};" in text
    assert f"x{signing}y stays" in text  # not a token of its own: an ordinary (if odd) word
    assert f"{REDACTED} goes" in text and "hunter2hunter2s stays" in text


def test_tokens_and_authorization_headers_are_blanked_whoever_holds_them(captured) -> None:
    stream, log = captured
    configure_logging("INFO", "json", [], stream=stream)
    log.info("headers {'Authorization': 'Bearer xoxb-1-2-abc', 'User-Agent': 'x'} app xapp-1-A1-2-ff "
             "Authorization: Bot MTEw.abc.def")
    message = json.loads(stream.getvalue())["message"]
    assert "xoxb-1-2-abc" not in message and "xapp-1-A1-2-ff" not in message and "MTEw.abc.def" not in message
    assert f"'Authorization': 'Bearer {REDACTED}'" in message and "'User-Agent': 'x'" in message
    assert f"Authorization: Bot {REDACTED}" in message
    configure_logging("INFO", "text", [], stream=stream)
    log.error("slack_bolt.AsyncSingleTeamAuthorization: Failed to authorize with the given token")
    assert "AsyncSingleTeamAuthorization: Failed to authorize" in stream.getvalue()  # a word after a name, not a credential


def test_weak_secrets_are_named() -> None:
    from adapters.logs import weak_secrets

    assert weak_secrets({"CYTOBOT_DATABASE_URL": "cytobot", "SLACK_SIGNING_SECRET": "8f3a9c0d1e2b4f5a"}) == [
        "CYTOBOT_DATABASE_URL"]


# --- no SQL in the logs unless CYTOBOT_LOG_SQL says so ---------------------------------------

def test_sql_loggers_are_quiet_at_debug_unless_asked(captured) -> None:
    stream, _ = captured
    configure_logging("DEBUG", "text", stream=stream)
    for name in ("sqlalchemy.engine.Engine", "sqlalchemy.pool", "alembic.runtime.migration", "aiosqlite", "asyncpg"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
    configure_logging("WARNING", "text", stream=stream, log_sql=True)
    assert logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)
    assert not logging.getLogger("aiosqlite").isEnabledFor(logging.INFO)
    configure_logging("INFO", "text", stream=stream)
    assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)


# --- through a real `cytobot run` ------------------------------------------------------------

async def _run_and_stop(tmp_path, env: dict[str, str]) -> str:
    import signal

    from tests.conftest import MINI_PACK
    from tests.fakes.bot_process import BotProcess

    bot = await BotProcess.start({"CYTOBOT_CONTENT_DIR": str(MINI_PACK), **env}, cwd=tmp_path)
    try:
        await bot.wait_until("/readyz")
        bot.signal(signal.SIGTERM)
        assert await bot.wait() == 0, bot.output
        return bot.output
    finally:
        await bot.close()


async def test_run_logs_no_sql_and_no_migration_chatter_even_at_debug(tmp_path) -> None:
    """A fresh SQLite database is created and migrated: not one SQLAlchemy, Alembic or aiosqlite
    line at DEBUG; with CYTOBOT_LOG_SQL=1 the statements are there."""
    output = await _run_and_stop(tmp_path, {"CYTOBOT_LOG_LEVEL": "DEBUG"})
    assert "serving" in output
    for library in ("sqlalchemy", "alembic", "aiosqlite", "CREATE TABLE", "SELECT "):
        assert library not in output, output
    (tmp_path / "sql").mkdir()
    asked = await _run_and_stop(tmp_path / "sql", {"CYTOBOT_LOG_SQL": "1"})  # a fresh database
    assert "INFO sqlalchemy.engine.Engine: " in asked and "CREATE TABLE" in asked


async def test_run_with_composes_password_keeps_its_own_name_and_warns(tmp_path) -> None:
    """CYTOBOT_DATABASE_URL with the password `cytobot` (docker-compose's default): the word
    "cytobot" is not blanked from every line, and the short password is a warning."""
    import asyncio

    from tests.fakes.bot_process import BotProcess, free_port

    url = f"postgresql://cytobot:cytobot@127.0.0.1:{free_port()}/cytobot"  # nothing listens there
    bot = await BotProcess.start({"CYTOBOT_DATABASE_URL": url, "CYTOBOT_LOG_LEVEL": "DEBUG"}, cwd=tmp_path)
    try:
        await bot.wait_output("shorter than 8 characters")
        try:
            await asyncio.wait_for(bot.proc.wait(), 5)
        except TimeoutError:
            pass  # a start that retries the database is fine too
    finally:
        await bot.close()
    output = bot.output
    assert "WARNING cytobot.settings: the password in CYTOBOT_DATABASE_URL is shorter than 8 characters" in output
    assert "WARNING cytobot.run: no chat platform configured" in output
    assert REDACTED not in output.replace(f"cytobot:{REDACTED}@", "")  # nowhere but a URL's password
