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
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import __version__
from bot.engine import Engine
from bot.loader import PackError, content_dir_from_env, load_pack

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
    else:
        from rich.console import Console

        from adapters.console.render import render_reply

        Console(soft_wrap=False).print(render_reply(reply))
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
    if argv and argv[0] in PLATFORMS:
        # The platform parses its own options (`cytobot discord --sync`, `cytobot slack --help`).
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return _platform(argv[0], "cli").main(argv[1:])
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.command in (None, "ask", "console", "content") else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "ask":
        return cmd_ask(args.line, args.format)
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
