"""What every loopback fake shares: an aiohttp app on 127.0.0.1 at an ephemeral port."""

from __future__ import annotations

from typing import Self

from aiohttp import web

HOST = "127.0.0.1"


class LoopbackServer:
    """Subclasses add their routes in `routes`; open websockets go in `_sockets` to be closed on stop."""

    def __init__(self) -> None:
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    def routes(self, router: web.UrlDispatcher) -> None:
        raise NotImplementedError

    async def start(self, port: int = 0) -> Self:
        app = web.Application()
        self.routes(app.router)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
