"""The `cytobot` command: wires the core to the adapters.

This is the composition root, so it lives beside the adapters: `bot/` never imports them.
Platform libraries are imported only by the subcommands that need them, which keeps
`cytobot ask` and the console fast. Settings are read once (`adapters.settings`), and
logging is configured once, after each command has parsed its own options (so `cytobot
slack --log-level ERROR` is obeyed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from adapters.logs import configure_logging
from adapters.settings import EX_CONFIG, Settings, SettingsError, load_settings
from bot import __version__
from bot.engine import Engine
from bot.loader import PackError, load_pack

PLATFORMS = ("slack", "discord")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cytobot", description="A team-chat reference bot for YAML content packs.")
    parser.add_argument("--version", action="version", version=f"cytobot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("console", help="chat with the bot in this terminal")
    ask = sub.add_parser("ask", help='answer one line, e.g. cytobot ask "compare severity"')
    ask.add_argument("line", help="what a chat user would type after the slash command")
    ask.add_argument("--format", choices=("text", "json", "slack", "discord"), default="text")
    content = sub.add_parser("content", help="work with content packs")
    content_sub = content.add_subparsers(dest="content_command", metavar="ACTION", required=True)
    check = content_sub.add_parser("check", help="validate a pack: every problem with file and line")
    check.add_argument("directory", nargs="?", help="pack directory (default: CYTOBOT_CONTENT_DIR or the bundled pack)")
    for name in PLATFORMS:
        p = sub.add_parser(name, help=f"run the {name.capitalize()} adapter (see `cytobot {name} --help`)", add_help=False)
        p.add_argument("args", nargs=argparse.REMAINDER)
    sub.add_parser("run", help="run every configured chat adapter, with /healthz, /readyz and /metrics on CYTOBOT_HTTP_PORT")
    return parser


def load_config(prog: str = "cytobot") -> Settings | None:
    """The settings, or None after naming every wrong variable on stderr (exit with EX_CONFIG)."""
    try:
        return load_settings()
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
    configure_logging(level, app.cytobot_log_format, app.secrets())


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
        print(f"{len(exc.problems)} problem(s) in {path}: the pack is refused.", file=sys.stderr)
        return 1
    sections = sum(len(t.sections) for t in pack.topics)
    aspects = sum(len(c.aspects) for c in pack.comparisons)
    print(
        f"ok: {pack.info.name} v{pack.info.version} ({path}): {len(pack.files)} files, {len(pack.topics)} topics, "
        f"{sections} sections, {len(pack.comparisons)} comparisons, {aspects} aspects, {len(pack.facts)} facts, "
        f"{len(pack.sources)} sources, {len(pack.scales)} grading scales"
    )
    return 0


def cmd_ask(app: Settings, line: str, fmt: str) -> int:
    engine = load_engine(app)
    if engine is None:
        return 1
    reply = engine.execute(line)
    if fmt == "json":
        print(json.dumps(reply.to_dict(), ensure_ascii=False, indent=2))
    elif fmt in PLATFORMS:
        render = _platform(fmt, "render").render_message
        print(json.dumps(render(reply), ensure_ascii=False, indent=2))
    else:
        from rich.console import Console

        from adapters.console.render import render_reply

        Console(soft_wrap=False).print(render_reply(reply))
    return 0


def _platform(name: str, module: str):
    import importlib

    return importlib.import_module(f"adapters.{name}.{module}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in PLATFORMS:
        # The platform parses its own options (`cytobot discord --sync`, `cytobot slack --help`),
        # then reads the settings and sets up logging with its --log-level.
        return _platform(argv[0], "cli").main(argv[1:])
    args = _parser().parse_args(argv)
    app = load_config()
    if app is None:
        return EX_CONFIG
    setup_logging(app, quiet=args.command != "run")
    if args.command == "ask":
        return cmd_ask(app, args.line, args.format)
    if args.command == "content":
        return cmd_content_check(app, args.directory)
    if args.command == "run":
        from adapters.launch import run_all

        return run_all(app)
    engine = load_engine(app)
    if engine is None:
        return 1
    from adapters.console.repl import run_console

    return run_console(engine, history=app.cytobot_history_file)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
