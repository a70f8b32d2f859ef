"""The `cytobot` command: wires the core to the adapters.

This is the composition root, so it lives beside the adapters: `bot/` never imports them.
Platform libraries are imported only by the subcommands that need them, which keeps
`cytobot ask` and the console fast.
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

from bot import __version__
from bot.engine import Engine
from bot.loader import PackError, content_dir_from_env, load_pack
from bot.normalize import plural

PLATFORMS = ("slack", "discord")
FORMATS = ("text", "json", "slack", "discord")
ASK_USAGE = """usage: cytobot ask [--format {text,json,slack,discord}] LINE...

Answer one line as the bot would in chat: a command (compare severity) or a question in plain
words (what is the difference between crs and cytokine storm?). The words need no quotes; a word
starting with "-" is part of the line. --format goes first or last; "--" ends the options.
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
    sub.add_parser("run", help="run every configured chat adapter; the console if none is configured")
    return parser


def load_engine(prefix: str = "/crs") -> Engine | None:
    """The engine on the configured pack, or None after saying on stderr why the pack is refused."""
    try:
        return Engine.from_env(prefix=prefix)
    except PackError as exc:
        print(f"cytobot: the content pack in {content_dir_from_env()} is broken:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        print("Run `cytobot content check` after fixing it.", file=sys.stderr)
        return None


def cmd_content_check(directory: str | None) -> int:
    path = Path(directory).resolve() if directory else content_dir_from_env()
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


def parse_ask(args: Sequence[str]) -> tuple[str, str] | None:
    """(line, format) from the words after `cytobot ask`, or None for a lone --help/-h.

    Never an error: the words are the line (no quotes needed, "-x" is a word of it);
    `--format F` / `--format=F` count only first or last, with F one of FORMATS; `--` ends options."""
    words = list(args)
    if words in (["-h"], ["--help"]):
        return None
    fmt = "text"

    def option(at: int) -> tuple[str, int] | None:
        word = words[at] if -len(words) <= at < len(words) else ""
        if word.startswith("--format="):
            value = word.split("=", 1)[1]
            return (value, 1) if value in FORMATS else None
        if word == "--format" and at + 1 < len(words) and words[at + 1] in FORMATS:
            return words[at + 1], 2
        return None

    ended = False
    while words:
        if words[0] == "--":
            words, ended = words[1:], True
            break
        found = option(0)
        if found is None:
            break
        fmt, words = found[0], words[found[1]:]
    if not ended:
        if len(words) >= 2 and words[-2] == "--format" and words[-1] in FORMATS:
            fmt, words = words[-1], words[:-2]
        elif words and words[-1].startswith("--format=") and words[-1].split("=", 1)[1] in FORMATS:
            fmt, words = words[-1].split("=", 1)[1], words[:-1]
    return " ".join(words), fmt


def cmd_ask(line: str, fmt: str) -> int:
    engine = load_engine()
    if engine is None:
        return 1
    reply = engine.execute(line)
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


def _platform(name: str, module: str):
    import importlib

    return importlib.import_module(f"adapters.{name}.{module}")


async def _serve_all(engine: Engine, names: Sequence[str]) -> None:
    async with asyncio.TaskGroup() as group:
        for name in names:
            group.create_task(_platform(name, "cli").serve(engine))


def cmd_run() -> int:
    configured = [name for name in PLATFORMS if _platform(name, "cli").configured()]
    engine = load_engine()
    if engine is None:
        return 1
    if not configured:
        print("cytobot: no chat platform configured (set SLACK_* or DISCORD_TOKEN); starting the console.", file=sys.stderr)
        from adapters.console.repl import run_console

        return run_console(engine)
    logging.getLogger(__name__).info("running adapters: %s", ", ".join(configured))
    try:
        asyncio.run(_serve_all(engine, configured))
    except KeyboardInterrupt:
        pass
    except BaseExceptionGroup as group:  # an adapter failed (bad settings, rejected token): say which, stop all
        for exc in group.exceptions:
            print(f"cytobot run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "ask":
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        parsed = parse_ask(argv[1:])
        try:
            if parsed is None:
                print(ASK_USAGE)
                return 0
            return cmd_ask(*parsed)
        except BrokenPipeError:  # `cytobot ask ... | head`: the reader has all it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    if argv and argv[0] in PLATFORMS:
        # The platform parses its own options (`cytobot discord --sync`, `cytobot slack --help`).
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return _platform(argv[0], "cli").main(argv[1:])
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.command in (None, "ask", "console", "content") else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "content":
        return cmd_content_check(args.directory)
    if args.command == "run":
        return cmd_run()
    engine = load_engine()
    if engine is None:
        return 1
    from adapters.console.repl import run_console

    return run_console(engine)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
