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
# Makes the pty the child's controlling terminal before it becomes cytobot, so Ctrl-C typed
# there is a SIGINT from the terminal, as at a keyboard (runs in the new process, not in pytest).
_CONTROLLING = ("import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
                "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")


class PtyConsole:
    """`with PtyConsole(env) as c: c.expect(b"crs> "); c.type("help")`; `output` holds everything read."""

    def __init__(self, env: Mapping[str, str], *, controlling: bool = False):
        self.env = dict(env)
        self.output = b""
        self.controlling = controlling

    def __enter__(self) -> PtyConsole:
        # Popen on a pty pair, not pty.fork(): forking a threaded pytest process and running
        # Python before exec can deadlock; Popen forks and execs in C.
        self.fd, tty = pty.openpty()
        wrapper = [sys.executable, "-c", _CONTROLLING] if self.controlling else [sys.executable]
        self.proc = subprocess.Popen([*wrapper, *CYTOBOT[1:], "console"], stdin=tty, stdout=tty, stderr=tty, env=self.env, cwd="/",
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

    def keys(self, text: bytes) -> None:
        """Type without pressing Enter (b"\\x03" is Ctrl-C)."""
        os.write(self.fd, text)

    def leave(self) -> int:
        os.write(self.fd, b"\x04")  # Ctrl-D
        return self.proc.wait(timeout=60)

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        os.close(self.fd)
