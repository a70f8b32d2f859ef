"""Composition of a running bot: the pack, one engine per command prefix, the components, the
HTTP server, the metrics observer. Used by `cytobot run` (everything configured) and by
`cytobot slack` / `cytobot discord` (one platform each).

What `cytobot run` starts:
- Slack if SLACK_BOT_TOKEN is set (Socket Mode with SLACK_APP_TOKEN, else HTTP mode, whose
  POST /slack/events is served on the HTTP port);
- Discord if DISCORD_TOKEN is set;
- the HTTP server on CYTOBOT_HTTP_HOST:CYTOBOT_HTTP_PORT, always;
- the content reloader, always.
With no platform configured it serves only the HTTP endpoints (and, with the daily-facts
scheduler, the schedule): a deployment missing its tokens stays up, says why in its log, and
is easy to probe. The console is `cytobot console` (`make run`), never a fallback of `run`,
because a container has no terminal to type into.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING

from adapters.http import HttpServer, application
from adapters.observe import Metrics
from adapters.reload import ContentReloader, load_for_serving, loading_beside_the_loop, settle
from adapters.run import Component, Runner
from adapters.settings import EX_CONFIG, ConfigError, Settings
from bot.cache import cache_dir_from
from bot.engine import Engine
from bot.loader import PackError

if TYPE_CHECKING:
    from adapters.discord.cli import Settings as DiscordSettings
    from adapters.slack.cli import Settings as SlackSettings

log = logging.getLogger("cytobot.run")


async def serve(app: Settings, *, slack: SlackSettings | None = None, discord: DiscordSettings | None = None,
                http: tuple[str, int] | None = None, prog: str = "cytobot run") -> int:
    """Run the given platforms until SIGTERM; returns the exit code."""
    try:
        with loading_beside_the_loop():  # the reloader's baseline is what this read (no gap before it watches)
            catalog, baseline, _ = await asyncio.to_thread(load_for_serving, app.content_dir,
                                                           cache_dir_from(app.cytobot_cache_dir))
    except PackError as exc:
        from adapters.cli import pack_refused

        pack_refused(app.content_dir, exc)
        return 1
    settle()
    metrics = Metrics()
    engines: dict[str, Engine] = {}
    # Daily facts: built here, connected by their component (a database that cannot be reached
    # yet is retried, and /readyz says why); a URL or setting that cannot work stops the start
    # with one line. Posts render through any engine (they share the pack, and a reload swaps
    # it in all of them).
    from adapters.daily import DailyUnavailable, open_daily

    try:
        daily = await open_daily(lambda: next(iter(engines.values())), {},
                                 url=app.cytobot_database_url.get_secret_value(), catch_up=app.cytobot_daily_catch_up,
                                 observer=metrics, timeouts=(app.cytobot_database_connect_timeout,
                                                             app.cytobot_database_statement_timeout))
    except DailyUnavailable as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1

    def engine_for(prefix: str) -> Engine:
        # One engine per command prefix (hints name the command the user typed); all share the pack.
        if prefix not in engines:
            engines[prefix] = Engine(catalog, prefix=prefix, observer=metrics, services={"daily": daily.service})
        return engines[prefix]

    platforms: list[Component] = []
    slack_service = discord_service = None
    if slack is not None:
        from adapters.slack.service import SlackService
        from bot.daily.seen import DatabaseSeen

        # Events already answered are recorded in the same database, so a retry of an @mention
        # or DM that reaches another replica (or this one after a restart) is not answered again.
        slack_service = SlackService(engine_for(slack.command), slack, seen=DatabaseSeen(daily.store.engine))
        platforms.append(slack_service)
    if discord is not None:
        from adapters.discord.service import DiscordService

        discord_service = DiscordService(engine_for("/" + discord.command_name), discord)
        platforms.append(discord_service)
    if not engines:
        engine_for(app.cytobot_slack_command)
    reloader = ContentReloader(list(engines.values()), app.content_dir, poll_seconds=app.cytobot_content_poll_seconds,
                               metrics=metrics, cache_dir=cache_dir_from(app.cytobot_cache_dir), baseline=baseline)
    from adapters.daily_component import DailyComponent, platform_posters

    # Last in the list: it starts after the platforms, drains first (no new claims) and closes
    # first, once its posts in flight are done, while the platforms are still connected.
    scheduler = DailyComponent(daily, platform_posters(slack_service, discord_service),
                               drain_seconds=app.cytobot_drain_seconds, cache_seconds=app.cytobot_database_ready_cache)
    runner = Runner([reloader, *platforms, scheduler], drain_seconds=app.cytobot_drain_seconds,
                    on_reload=lambda: reloader.request("SIGHUP"), prog=prog)
    if http is not None:
        base = slack_service.web_app() if slack_service is not None else None
        runner.http = HttpServer(application(runner.readiness, metrics, base), *http)
    info = catalog.info
    log.info("%s: serving %s v%s (%d topics) with %s", prog, info.name, info.version, len(catalog.topics),
             ", ".join(c.name for c in platforms) or "no chat platform")
    return await runner.run()


def run_all(app: Settings) -> int:
    """`cytobot run`: every platform whose credentials are set, and the HTTP server."""
    slack = discord = None
    try:
        if app.slack_configured:
            from adapters.slack.cli import Settings as SlackSettings

            slack = SlackSettings.for_mode(app)
        if app.discord_configured:
            from adapters.discord.cli import settings as discord_settings

            discord = discord_settings(app)
    except ConfigError as exc:
        print(f"cytobot run: {exc}", file=sys.stderr)
        return EX_CONFIG
    if slack is None and discord is None:
        log.warning("no chat platform configured (set SLACK_BOT_TOKEN with SLACK_APP_TOKEN or SLACK_SIGNING_SECRET, "
                    "and/or DISCORD_TOKEN): serving only the HTTP endpoints. For the console, run `cytobot console`.")
    try:
        return asyncio.run(serve(app, slack=slack, discord=discord, http=(app.cytobot_http_host, app.cytobot_http_port)))
    except KeyboardInterrupt:
        return 0
