"""The HTTP server of `cytobot run`: /healthz, /readyz, /metrics and, in Slack HTTP mode,
Slack's POST /slack/events, all on one port (`CYTOBOT_HTTP_PORT`, default 8080).

One port because a deployment then has one thing to expose, probe and put behind the load
balancer. When Slack runs in HTTP mode the server *is* the Slack adapter's aiohttp
application (its request size limit, its middlewares, its error handling), with the three
operational routes added, so `cytobot slack --http` and `cytobot run` answer Slack alike.

- GET /healthz: 200 "ok" while the process serves (liveness).
- GET /readyz: 200 "ready", or 503 with one reason per line (content, adapters, database,
  "draining" after SIGTERM). Reasons never contain secrets.
- GET /metrics: Prometheus text format.
Refused requests (4xx on any route but these three) are counted by reason in
`cytobot_requests_rejected_total`; their bodies are never read or logged here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from adapters.observe import CONTENT_TYPE, Metrics
from adapters.run import Component, Readiness
from adapters.slack.http import http_server_logger

log = logging.getLogger("cytobot.http")

REASONS = {401: "bad_signature", 403: "bad_signature", 400: "malformed", 413: "too_large", 415: "unsupported",
           404: "not_found", 405: "not_found"}
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _counting(metrics: Metrics) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    @web.middleware
    async def count_rejections(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # aiohttp's own refusals (413, 404, 405) arrive as exceptions
            _count(metrics, request, exc.status)
            raise
        _count(metrics, request, response.status)
        return response

    return count_rejections


def _count(metrics: Metrics, request: web.Request, status: int) -> None:
    if 400 <= status < 500 and request.path not in OPS_PATHS:
        metrics.reject(REASONS.get(status, "malformed"))


def application(readiness: Readiness, metrics: Metrics, base: web.Application | None = None) -> web.Application:
    """The operational routes, added to `base` (the Slack HTTP app) or to a new application."""
    app = base if base is not None else web.Application()

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        reasons = await readiness.reasons()
        if reasons:
            return web.Response(status=503, text="\n".join(reasons) + "\n")
        return web.Response(text="ready\n")

    async def metrics_page(_: web.Request) -> web.Response:
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    taken = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None}
    for path, handler in (("/healthz", healthz), ("/readyz", readyz), ("/metrics", metrics_page)):
        if ("GET", path) not in taken:
            app.router.add_get(path, handler)
    app.middlewares.insert(0, _counting(metrics))
    return app


class HttpServer(Component):
    """The server as a component: started first and closed last by the runner."""

    name = "http"

    def __init__(self, app: web.Application, host: str, port: int):
        self.app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        # No access log: paths and user agents are noise, and never a place for request data.
        # A request aiohttp cannot parse is one line, without its bytes (not a traceback quoting them).
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None, shutdown_timeout=5.0,
                                     logger=http_server_logger())
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # the bound port, when 0 asked for any free one
        if server is not None and getattr(server, "sockets", None):
            self.port = server.sockets[0].getsockname()[1]
        log.info("HTTP server listening on %s:%d (/healthz /readyz /metrics)", self.host, self.port)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
