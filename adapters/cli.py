"""The `cytobot` command: wires the core to the adapters.

This is the composition root, so it lives beside the adapters: `bot/` never imports them.
Platform libraries are imported only by the subcommands that need them, which keeps
`cytobot ask` and the console fast. Settings are read once (`adapters.settings`), and
logging is configured once, after each command has parsed its own options (so `cytobot
slack --log-level ERROR` is obeyed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from adapters.logs import MIN_SECRET, configure_logging, weak_secrets
from adapters.settings import EX_CONFIG, Settings, SettingsError, load_settings
from bot import __version__
from bot.engine import Engine
from bot.loader import PackError, load_pack
from bot.normalize import plural
from bot.reply import Reply
from bot.request import CONSOLE, Request

PLATFORMS = ("slack", "discord")
FORMATS = ("text", "json", "slack", "discord")
ASK_USAGE = """usage: cytobot ask [--format {text,json,slack,discord}] LINE...

Answer one line as the bot would in chat: a command (compare severity) or a question in plain
words (what is the difference between crs and cytokine storm?). The words need no quotes; a word
starting with "-" is part of the line. --format goes first or last (an unknown format is
refused); "--" ends the options.
Exits 0 for any line, 1 only if the content pack is broken."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cytobot", description="A team-chat reference bot for YAML content packs.")
    parser.add_argument("--version", action="version", version=f"cytobot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("console", help="chat with the bot in this terminal")
    # `ask` reads its own arguments (parse_ask): listed here for `cytobot --help` only.
    sub.add_parser("ask", help="answer one line or question, e.g. cytobot ask compare severity", add_help=False)
    content = sub.add_parser("content", help="work with content packs")
    content_sub = content.add_subparsers(dest="content_command", metavar="ACTION", required=True)
    check = content_sub.add_parser("check", help="validate a pack: every problem with file and line")
    check.add_argument("directory", nargs="?", help="pack directory (default: CYTOBOT_CONTENT_DIR or the bundled pack)")
    for name in PLATFORMS:
        p = sub.add_parser(name, help=f"run the {name.capitalize()} adapter (see `cytobot {name} --help`)", add_help=False)
        p.add_argument("args", nargs=argparse.REMAINDER)
    sub.add_parser("run", help="run every configured chat adapter, with /healthz, /readyz and /metrics on CYTOBOT_HTTP_PORT")
    db = sub.add_parser("db", help="the daily-facts database (CYTOBOT_DATABASE_URL)")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser("upgrade", help="create or migrate the database to this version's schema")
    db_sub.add_parser("current", help="show the database's schema revision")
    studio = sub.add_parser("studio", help="see every card of a pack as Slack, Discord and the terminal show it, live, in a browser")
    studio.add_argument("directory", nargs="?", help="pack directory (default: CYTOBOT_CONTENT_DIR or the bundled pack)")
    studio.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765; 0 picks a free one)")
    studio.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, loopback only)")
    studio.add_argument("--questions", metavar="FILE", help="a question file like tests/data/questions.yaml to score")
    return parser


# What the commands that run on this machine alone (ask, console, content check) read: a wrong
# value of anything else (CYTOBOT_HTTP_PORT=bad, a Slack token) is none of their business.
LOCAL_SETTINGS = frozenset({
    "cytobot_content_dir", "cytobot_log_level", "cytobot_log_format", "cytobot_log_sql", "cytobot_history_file",
    "cytobot_cache_dir", "cytobot_database_url", "cytobot_daily_catch_up"})


def load_config(prog: str = "cytobot", *, uses: frozenset[str] | None = None) -> Settings | None:
    """The settings, or None after naming every wrong variable on stderr (exit with EX_CONFIG).
    With `uses`, only those variables are read (the others keep their defaults)."""
    try:
        return load_settings(uses=uses)
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"{prog}: {problem}", file=sys.stderr)
        return None


def setup_logging(app: Settings, level: str | None = None, *, quiet: bool = False) -> None:
    """`level` (a command's --log-level) wins over CYTOBOT_LOG_LEVEL; `quiet` commands (console,
    ask, content) log warnings only unless CYTOBOT_LOG_LEVEL is set."""
    if level is None:
        explicit = "cytobot_log_level" in app.model_fields_set
        level = app.cytobot_log_level if explicit or not quiet else "WARNING"
    named = app.named_secrets()
    # The database password is blanked where it stands in a URL (or after "password="); as a
    # bare word only when long enough not to be an ordinary word too (Compose's `cytobot`).
    secrets = [v for k, v in named.items() if k != "CYTOBOT_DATABASE_URL" or len(v) >= MIN_SECRET]
    configure_logging(level, app.cytobot_log_format, secrets, log_sql=app.cytobot_log_sql)
    weak = weak_secrets(named)
    if weak:
        names = ["the password in CYTOBOT_DATABASE_URL" if n == "CYTOBOT_DATABASE_URL" else n for n in weak]
        logging.getLogger("cytobot.settings").warning(
            "%s %s shorter than %d characters: choose a longer, random one", ", ".join(names),
            "is" if len(names) == 1 else "are", MIN_SECRET)


def pack_refused(directory: Path, exc: PackError) -> None:
    print(f"cytobot: the content pack in {directory} is broken:", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)
    print("Run `cytobot content check` after fixing it.", file=sys.stderr)


def load_engine(app: Settings, prefix: str = "/crs") -> Engine | None:
    """The engine on the configured pack, or None after saying on stderr why the pack is refused."""
    try:
        return Engine.load(app.content_dir, prefix=prefix)
    except PackError as exc:
        pack_refused(app.content_dir, exc)
        return None


def cmd_content_check(app: Settings, directory: str | None) -> int:
    path = Path(directory).resolve() if directory else app.content_dir
    try:
        pack = load_pack(path)
    except PackError as exc:
        for problem in exc.problems:
            print(problem)
        print(f"{plural(len(exc.problems), 'problem')} in {path}: the pack is refused.", file=sys.stderr)
        return 1
    sections = sum(len(t.sections) for t in pack.topics)
    aspects = sum(len(c.aspects) for c in pack.comparisons)
    counts = ", ".join(plural(n, what) for n, what in (
        (len(pack.files), "file"), (len(pack.topics), "topic"), (sections, "section"), (len(pack.comparisons), "comparison"),
        (aspects, "aspect"), (len(pack.facts), "fact"), (len(pack.sources), "source"), (len(pack.scales), "grading scale")))
    print(f"ok: {pack.info.name} v{pack.info.version} ({path}): {counts}")
    return 0


class AskUsage(ValueError):
    """`cytobot ask` options it cannot read (an unknown --format); the message says what to type."""


def _format_value(value: str | None) -> str:
    formats = ", ".join(FORMATS)
    if value is None or value == "":
        raise AskUsage(f"--format needs a value: one of {formats} (e.g. cytobot ask compare severity --format json)")
    if value not in FORMATS:
        raise AskUsage(f"unknown format {value[:40]!r}: use one of {formats} "
                       "(or put -- before the line to ask about the words themselves)")
    return value


def parse_ask(args: Sequence[str]) -> tuple[str, str] | None:
    """(line, format) from the words after `cytobot ask`, or None for a lone --help/-h.

    The words are the line (no quotes needed, "-x" is a word of it); `--format F` /
    `--format=F` count only first or last, and `--` ends options. An unknown or missing F
    raises AskUsage (it is never read as part of the question)."""
    words = list(args)
    if words in (["-h"], ["--help"]):
        return None
    fmt = "text"
    ended = False
    while words:
        if words[0] == "--":
            words, ended = words[1:], True
            break
        if words[0].startswith("--format="):
            fmt, words = _format_value(words[0].split("=", 1)[1]), words[1:]
        elif words[0] == "--format":
            fmt, words = _format_value(words[1] if len(words) > 1 else None), words[2:]
        else:
            break
    if not ended and words:
        if words[-1].startswith("--format="):
            fmt, words = _format_value(words[-1].split("=", 1)[1]), words[:-1]
        elif len(words) >= 2 and words[-2] == "--format":
            fmt, words = _format_value(words[-1]), words[:-2]
        elif words[-1] == "--format":
            _format_value(None)
    return " ".join(words), fmt


async def _ask(app: Settings, engine: Engine, line: str) -> Reply:
    """One line as the console channel: `daily` commands open the database (so subscriptions
    persist between calls); lookups never do."""
    from adapters.daily import LazyDaily, with_service

    daily = LazyDaily(engine, url=app.cytobot_database_url.get_secret_value(), catch_up=app.cytobot_daily_catch_up)
    try:
        return await with_service(engine, daily).handle(Request.text(line, CONSOLE))
    finally:
        await daily.close()


def cmd_ask(app: Settings, line: str, fmt: str) -> int:
    engine = load_engine(app)
    if engine is None:
        return 1
    reply = asyncio.run(_ask(app, engine, line))
    if fmt == "json":
        print(json.dumps(reply.to_dict(), ensure_ascii=False, indent=2))
    elif fmt in PLATFORMS:
        render = _platform(fmt, "render").render_message
        print(json.dumps(render(reply), ensure_ascii=False, indent=2))
    elif sys.stdout.isatty():
        from rich.console import Console

        from adapters.console.render import render_reply

        Console(soft_wrap=False).print(render_reply(reply))
    else:  # a pipe or a file: plain lines, one table row per line, for grep
        from adapters.console.render import render_plain

        print(render_plain(reply))
    return 0


def cmd_db(app: Settings, action: str) -> int:
    """`cytobot db upgrade` / `cytobot db current`, on CYTOBOT_DATABASE_URL."""
    from adapters.daily import database_errors, explain
    from bot.daily import migrate
    from bot.daily.database import create_engine, describe

    url = app.cytobot_database_url.get_secret_value()
    where = describe(url)

    async def run() -> str:
        engine = create_engine(url)
        try:
            if action == "upgrade":
                before = await migrate.current(engine)
                revision = await migrate.upgrade(engine, where)
                was = ", ".join(before) or "empty"
                return f"{where}: at revision {revision} (head)" + ("" if was == revision else f", upgraded from {was}")
            revisions = await migrate.current(engine)
            if not revisions:
                return f"{where}: no schema yet (run `cytobot db upgrade`, or start the bot, which does it)"
            head = migrate.head()
            notes = []
            for revision in revisions:
                if revision == head:
                    notes.append(f"{revision} (head)")
                elif revision in migrate.known():
                    notes.append(f"{revision} (this cytobot knows up to {head}: run `cytobot db upgrade`)")
                else:
                    notes.append(f"{revision} (newer than this cytobot, which knows up to {head}: it will refuse to start)")
            return f"{where}: at revision {', '.join(notes)}"
        finally:
            await engine.dispose()

    try:
        print(asyncio.run(run()))
    except database_errors() as exc:
        print(f"cytobot db {action}: {explain(exc, url)}", file=sys.stderr)
        return 1
    return 0


def _platform(name: str, module: str):
    import importlib

    return importlib.import_module(f"adapters.{name}.{module}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "ask":
        try:
            parsed = parse_ask(argv[1:])
        except AskUsage as exc:
            print(f"cytobot ask: {exc}", file=sys.stderr)
            return 2
        try:
            if parsed is None:
                print(ASK_USAGE)
                return 0
            app = load_config(uses=LOCAL_SETTINGS)
            if app is None:
                return EX_CONFIG
            setup_logging(app, quiet=True)
            return cmd_ask(app, *parsed)
        except BrokenPipeError:  # `cytobot ask ... | head`: the reader has all it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    if argv and argv[0] in PLATFORMS:
        # The platform parses its own options (`cytobot discord --sync`, `cytobot slack --help`),
        # then reads the settings and sets up logging with its --log-level.
        return _platform(argv[0], "cli").main(argv[1:])
    args = _parser().parse_args(argv)
    app = load_config(uses=None if args.command in ("run", "db") else LOCAL_SETTINGS)
    if app is None:
        return EX_CONFIG
    setup_logging(app, quiet=args.command != "run")
    if args.command == "content":
        return cmd_content_check(app, args.directory)
    if args.command == "run":
        from adapters.launch import run_all

        return run_all(app)
    if args.command == "db":
        return cmd_db(app, args.db_command)
    if args.command == "studio":
        from adapters.studio.server import run as run_studio

        return run_studio(Path(args.directory).resolve() if args.directory else app.content_dir, host=args.host,
                          port=args.port, questions_file=Path(args.questions) if args.questions else None)
    engine = load_engine(app)
    if engine is None:
        return 1
    from adapters.console.history import ENV, history_file
    from adapters.console.repl import run_console

    env = {k: v for k, v in os.environ.items() if k != ENV}  # XDG_STATE_HOME and the like
    if app.cytobot_history_file is not None:  # from the environment or .env; "" keeps no history
        env[ENV] = app.cytobot_history_file
    return run_console(engine, history_path=history_file(env), database_url=app.cytobot_database_url.get_secret_value(),
                       catch_up=app.cytobot_daily_catch_up)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
