"""`cytobot studio`: the pack studio's web server (aiohttp, Jinja2 pages, a small script).

The server renders every page on the server with Jinja2 (autoescape on, so every piece of pack
text is escaped) from the engine the bot uses; the page's script only fetches those fragments,
follows the server-sent events that announce a reload, filters the index as you type and copies
JSON. Nothing comes from the network: the script and the style sheet ship in this package.

Safety: loopback by default; only GET endpoints, plus one POST that scores a question file sent
by the page and stores nothing; a Host check (no DNS rebinding) and an Origin check on the POST;
a Content-Security-Policy that allows scripts and styles from this server only (no inline
script, no inline style, no outside origin).

Live: a `ContentReloader` (adapters/reload.py), the reload path `cytobot run` uses, polls the
pack; when a reload finishes, good or refused, every open page is told over /events and fetches
what it shows again. A refused edit keeps the last good pack and lists its problems, each with
file and line as `content check` prints them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from adapters.reload import ContentReloader, build_catalog
from bot import __version__
from bot.engine import Engine
from bot.loader import PackError
from bot.normalize import plural

from . import markup, pack, questions
from .limits import NEAR

log = logging.getLogger("cytobot.studio")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
POLL_SECONDS = 0.25  # the studio polls faster than a deployment: the author is waiting
KEEPALIVE = 15.0
STATIC = Path(__file__).parent / "static"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
WILDCARDS = ("0.0.0.0", "::", "")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def templates() -> Environment:
    env = Environment(loader=PackageLoader("adapters.studio", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["mrkdwn"] = markup.slack_mrkdwn
    env.filters["slack_plain"] = markup.slack_plain
    env.filters["discord_md"] = markup.discord_markdown
    env.filters["pct"] = lambda x: f"{x:.0%}"
    env.globals["near"] = NEAR
    return env


class StudioReloader(ContentReloader):
    """The bot's reloader, telling the studio when each reload attempt ends."""

    def __init__(self, *args, on_done, **kwargs):
        super().__init__(*args, **kwargs)
        self._on_done = on_done

    async def reload(self, reason: str) -> bool:
        swapped = await super().reload(reason)
        self._on_done(swapped)
        return swapped


class Studio:
    def __init__(self, engine: Engine, directory: Path, *, questions_file: Path | None = None,
                 poll_seconds: float = POLL_SECONDS):
        self.engine = engine
        self.directory = directory
        self.questions_file = questions_file
        self.version = 1  # bumped after every reload attempt; pages refetch when it changes
        self.changed = asyncio.Condition()
        self.env = templates()
        self.reloader = StudioReloader([engine], directory, poll_seconds=poll_seconds, on_done=self._reloaded)
        self._entries: tuple[int, list[pack.Entry]] | None = None
        self.allowed_hosts: set[str] = set()
        self.closing = False
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ state

    def _reloaded(self, swapped: bool) -> None:
        self.version += 1
        task = asyncio.get_running_loop().create_task(self._notify())
        self._tasks.add(task)  # kept until done, so it is not collected half-way
        task.add_done_callback(self._tasks.discard)

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def entries(self) -> list[pack.Entry]:
        generation = self.engine.generation
        if self._entries is None or self._entries[0] != generation:
            self._entries = (generation, pack.entries(self.engine))
        return self._entries[1]

    def problems(self) -> list[str]:
        return [str(p) for p in self.reloader.problems]

    def render(self, template: str, **context) -> str:
        info = self.engine.catalog.info
        return self.env.get_template(template).render(info=info, version=self.version, studio=self, **context)

    def html(self, template: str, **context) -> web.Response:
        return web.Response(text=self.render(template, **context), content_type="text/html", charset="utf-8")

    # ------------------------------------------------------------------ pages

    async def page(self, request: web.Request) -> web.Response:
        return self.html("page.html", index=self._index(""), home=self._home(), status=self._status(),
                         cytobot_version=__version__)

    def _index(self, query: str) -> str:
        found = pack.search(self.entries(), query)
        groups, left = pack.grouped(found)
        return self.render("index.html", groups=groups, left=left, query=query, found=len(found))

    def _status(self) -> str:
        return self.render("status.html", problems=self.problems(), directory=self.directory)

    def _home(self) -> str:
        cat = self.engine.catalog
        counts = [plural(len(cat.topics), "topic"), plural(sum(len(t.sections) for t in cat.topics.values()), "section"),
                  plural(len(cat.comparisons), "comparison"), plural(len(cat.facts), "fact"),
                  plural(len(cat.sources), "source"), plural(len(cat.scales), "grading scale")]
        return self.render("home.html", counts=counts, scales=list(cat.scales.values()))

    async def index(self, request: web.Request) -> web.Response:
        return self.html_text(self._index(request.query.get("q", "")[:200]))

    async def status(self, request: web.Request) -> web.Response:
        return self.html_text(self._status())

    async def home(self, request: web.Request) -> web.Response:
        return self.html_text(self._home())

    def html_text(self, text: str) -> web.Response:
        return web.Response(text=text, content_type="text/html", charset="utf-8")

    async def card(self, request: web.Request) -> web.Response:
        line = request.query.get("line", "").strip()[:500] or "help"
        choice = pack.choice_of(self.engine, line)
        view = pack.card_view(self.engine, line, [choice] if choice else [])
        return self.html("card.html", view=view)

    async def scale(self, request: web.Request) -> web.Response:
        scale = self.engine.catalog.scales.get(request.query.get("id", ""))
        if scale is None:
            return self.html("missing.html", what="grading scale", name=request.query.get("id", ""),
                             scales=list(self.engine.catalog.scales.values()))
        grades, rows = pack.scale_table(scale)
        sources = [self.engine.catalog.sources[s] for s in pack.scale_sources(scale) if s in self.engine.catalog.sources]
        return self.html("scale.html", scale=scale, grades=grades, rows=rows, sources=sources)

    async def coverage(self, request: web.Request) -> web.Response:
        return self.html("coverage.html", rows=pack.coverage(self.engine))

    async def ask(self, request: web.Request) -> web.Response:
        question = request.query.get("q", "").strip()[:500]
        if not question:
            return self.html("ask.html", explanation=None, view=None)
        explanation = questions.explain(self.engine, question)
        view = pack.view_of(explanation.landed, explanation.reply)
        return self.html("ask.html", explanation=explanation, view=view)

    async def questions_page(self, request: web.Request) -> web.Response:
        results, error = None, None
        if self.questions_file is not None:
            try:
                text = await asyncio.to_thread(self.questions_file.read_text, encoding="utf-8")
                results = questions.score_file(self.engine, text)
            except OSError as exc:
                error = f"Could not read {self.questions_file}: {exc.strerror or exc}. Check the path given to --questions."
            except questions.QuestionFileError as exc:
                error = f"{self.questions_file}: {exc}"
        return self.html("questions.html", results=results, error=error, name=str(self.questions_file or ""))

    async def questions_run(self, request: web.Request) -> web.Response:
        """Score a question file the page read from the author's disk. Stores nothing."""
        if request.content_length is not None and request.content_length > questions.MAX_FILE:
            return self.html("questions.html", results=None, name="",
                             error=f"That file is over {questions.MAX_FILE:,} bytes; split it into smaller files.")
        body = await request.content.read(questions.MAX_FILE + 1)
        name = unquote(request.headers.get("X-File-Name", ""))[:200] or "the file"
        try:
            results = questions.score_file(self.engine, body.decode("utf-8", "replace"))
            error = None
        except questions.QuestionFileError as exc:
            results, error = None, f"{name}: {exc}"
        return self.html("questions.html", results=results, error=error, name=name)

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: the pack's version now, and again after every reload attempt."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await response.prepare(request)
        seen = None
        try:
            while not self.closing:
                if seen != self.version:
                    seen = self.version
                    data = json.dumps({"version": seen, "ok": not self.reloader.problems})
                    await response.write(f"event: pack\ndata: {data}\n\n".encode())
                else:
                    await response.write(b": keepalive\n\n")
                async with self.changed:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self.changed.wait(), KEEPALIVE)
        except ConnectionResetError:  # the page went away
            pass
        return response

    async def _close_streams(self, app: web.Application) -> None:
        self.closing = True
        await self._notify()

    # ------------------------------------------------------------------ the app

    @web.middleware
    async def guard(self, request: web.Request, handler):
        host = request.headers.get("Host", "")
        if self.allowed_hosts and host.casefold() not in self.allowed_hosts:
            return web.Response(status=421, text="This studio answers only at its own address "
                                "(open the URL `cytobot studio` printed).\n")
        if request.method == "POST":  # only from the studio's own page
            origin = request.headers.get("Origin", "")
            if not origin or urlsplit(origin).netloc.casefold() != host.casefold():
                return web.Response(status=403, text="Send the question file from the studio's own page.\n")
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # 404, 405: with the same headers
            _secure(exc.headers)
            raise
        _secure(response.headers)
        return response

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.guard], client_max_size=questions.MAX_FILE + 1024)
        app.router.add_get("/", self.page)
        app.router.add_get("/f/index", self.index)
        app.router.add_get("/f/status", self.status)
        app.router.add_get("/f/home", self.home)
        app.router.add_get("/f/card", self.card)
        app.router.add_get("/f/scale", self.scale)
        app.router.add_get("/f/coverage", self.coverage)
        app.router.add_get("/f/ask", self.ask)
        app.router.add_get("/f/questions", self.questions_page)
        app.router.add_post("/f/questions", self.questions_run)
        app.router.add_get("/events", self.events)
        app.router.add_get("/favicon.ico", _no_icon)
        app.router.add_static("/static/", STATIC, show_index=False, follow_symlinks=False)
        app.on_shutdown.append(self._close_streams)
        return app

    async def stop_following(self) -> None:
        """Stop watching the pack: the polling task, then the reloader (any reload in flight)."""
        task = getattr(self.reloader, "task", None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.reloader.close()

    def allow(self, host: str, port: int) -> None:
        """Answer requests naming this address (and, on loopback, its other loopback names). On a
        wildcard address (0.0.0.0, ::) any name is accepted: the author chose to expose it."""
        if host in WILDCARDS:
            self.allowed_hosts.clear()
            return
        names = {host, *LOOPBACK} if host in LOOPBACK else {host}
        for name in names:
            name = f"[{name}]" if ":" in name and not name.startswith("[") else name
            self.allowed_hosts.add(f"{name}:{port}".casefold())


def _secure(headers) -> None:
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers.setdefault("Cache-Control", "no-store")


async def _no_icon(request: web.Request) -> web.Response:
    return web.Response(status=204)


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}/"


async def serve(studio: Studio, host: str, port: int, *, ready=None) -> None:
    """Serve until cancelled (or SIGINT/SIGTERM when run from the command line)."""
    runner = web.AppRunner(studio.app(), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1] if port == 0 else port  # noqa: SLF001 - the ephemeral port
    studio.allow(host, bound)
    await studio.reloader.start()
    if ready is not None:
        ready(url_of(host, bound))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await studio.stop_following()
        await runner.cleanup()


def run(directory: Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, questions_file: Path | None = None) -> int:
    """`cytobot studio`: load the pack (refused with every problem if broken), serve, print the URL."""
    try:
        catalog = build_catalog(directory)
    except PackError as exc:
        print(f"cytobot studio: the content pack in {directory} is broken:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        print("Fix it (`cytobot content check` lists the same problems), then start the studio again.", file=sys.stderr)
        return 1
    if questions_file is not None and not questions_file.is_file():
        print(f"cytobot studio: no question file at {questions_file}; give --questions the path of a file like "
              "tests/data/questions.yaml.", file=sys.stderr)
        return 2
    if host not in LOOPBACK:
        print(f"cytobot studio: warning: serving on {host}, not loopback: anyone who can reach it can read the pack.",
              file=sys.stderr)
    engine = Engine(catalog)

    def ready(url: str) -> None:
        print(f"cytobot studio: {catalog.info.name} v{catalog.info.version} ({directory}) at {url}", flush=True)
        print("Edits to the pack show up on the page as you save them. Ctrl-C stops.", flush=True)

    async def main() -> None:
        await serve(Studio(engine, directory, questions_file=questions_file), host, port, ready=ready)

    try:
        asyncio.run(main())
    except OSError as exc:
        print(f"cytobot studio: cannot listen on {host}:{port}: {exc.strerror or exc}. Try another --port.",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
