"""A cuttable TCP proxy on loopback, to put in front of the test PostgreSQL (or anything).

Three modes, switched while connections are open:
- "pass": bytes flow both ways (the database is there);
- "refuse": every open connection is reset and new ones are closed at once (the server is down,
  its port closed);
- "blackhole": connections are accepted and bytes are swallowed, nothing ever comes back (a
  network partition, a hung server): the case only timeouts can see.
Back to "pass", blackholed connections stay dead (their bytes are lost); new ones work.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal, Self

from sqlalchemy.engine import make_url

from tests.fakes.loopback import HOST

Mode = Literal["pass", "refuse", "blackhole"]


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode: Mode = "pass"
        self.port = 0
        self.accepted = 0  # connections accepted, in any mode
        self._server: asyncio.base_events.Server | None = None
        self._links: set[_Link] = set()

    @classmethod
    async def before(cls, url: str) -> tuple[Self, str]:
        """A started proxy in front of the server of database `url`, and the URL through it."""
        parsed = make_url(url)
        proxy = await cls(parsed.host or HOST, parsed.port or 5432).start()
        return proxy, parsed.set(host=HOST, port=proxy.port).render_as_string(hide_password=False)

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._accept, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.reset()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def set(self, mode: Mode) -> None:
        self.mode = mode
        if mode == "refuse":
            for link in list(self._links):
                link.reset()
        elif mode == "blackhole":
            for link in list(self._links):
                link.blackholed = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode == "refuse":
            _abort(writer)
            return
        link = _Link(writer, blackholed=self.mode == "blackhole")
        self._links.add(link)
        try:
            if link.blackholed:
                await link.swallow(reader)
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
            except OSError:
                _abort(writer)
                return
            link.upstream = up_writer
            await asyncio.gather(link.pump(reader, up_writer, upstream=True), link.pump(up_reader, writer, upstream=False),
                                 return_exceptions=True)
        finally:
            self._links.discard(link)
            link.reset()


class _Link:
    def __init__(self, client: asyncio.StreamWriter, *, blackholed: bool) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.blackholed = blackholed

    async def swallow(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass

    async def pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool) -> None:
        try:
            while data := await reader.read(65536):
                if self.blackholed:
                    if upstream:
                        continue  # swallowed: the server never hears it
                    return await self._hang(reader)  # the server's answers never arrive
                writer.write(data)
                await writer.drain()
        except Exception:
            pass
        if upstream or not self.blackholed:  # the client left (or the server closed): end both sides
            self.reset()

    async def _hang(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass

    def reset(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                _abort(writer)


def _abort(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    with contextlib.suppress(Exception):
        transport.abort()  # an RST-like close: the peer sees the connection reset
