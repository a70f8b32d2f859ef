"""Drive `cytobot console` in a pseudo-terminal, as a person at a keyboard would."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Mapping

CYTOBOT = [sys.executable, "-m", "adapters.cli"]


class PtyConsole:
    """`with PtyConsole(env) as c: c.expect(b"crs> "); c.type("help")`; `output` holds everything read."""

    def __init__(self, env: Mapping[str, str]):
        self.env = dict(env)
        self.output = b""

    def __enter__(self) -> PtyConsole:
        # Popen on a pty pair, not pty.fork(): forking a threaded pytest process and running
        # Python before exec can deadlock; Popen forks and execs in C.
        self.fd, tty = pty.openpty()
        self.proc = subprocess.Popen([*CYTOBOT, "console"], stdin=tty, stdout=tty, stderr=tty, env=self.env, cwd="/",
                                     start_new_session=True)
        os.close(tty)
        return self

    def expect(self, marker: bytes, count: int = 1, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.output.count(marker) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{marker!r} x{count} not seen; got {self.output[-500:]!r}")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    self.output += os.read(self.fd, 65536)
                except OSError:
                    break

    def type(self, line: str) -> None:
        """Type a line at a fresh prompt (typed earlier, in canonical mode, readline may lose it)."""
        os.write(self.fd, line.encode() + b"\r")

    def leave(self) -> int:
        os.write(self.fd, b"\x04")  # Ctrl-D
        return self.proc.wait(timeout=60)

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        os.close(self.fd)
