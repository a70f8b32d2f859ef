"""Whether a chat adapter is connected to its platform, for the process's readiness check.

`cytobot run` creates one `AdapterStatus` per adapter and passes it to the adapter's
`serve(engine, status=...)`; the adapter registers live checks with `watch`. `/readyz`
reads `connected` and `reason` at any time from the event loop's thread: neither waits on
anything, and neither ever holds a token.
"""

from __future__ import annotations

from collections.abc import Callable


class AdapterStatus:
    def __init__(self, name: str) -> None:
        self.name = name
        self._connected: Callable[[], bool] = lambda: False
        self._problem: Callable[[], str] = lambda: "not started yet"

    def watch(self, connected: Callable[[], bool], problem: Callable[[], str] | None = None) -> None:
        """Register the adapter's live tests: is it connected, and if not, why (one line)."""
        self._connected = connected
        if problem is not None:
            self._problem = problem

    def stopped(self, why: str = "stopped") -> None:
        """The adapter has stopped (cancelled, or it gave up for `why`)."""
        self._connected = lambda: False
        self._problem = lambda: why

    @property
    def connected(self) -> bool:
        return self._connected()

    @property
    def reason(self) -> str | None:
        """None when connected, else "<name>: <why>"."""
        return None if self.connected else f"{self.name}: {self._problem()}"

    def __repr__(self) -> str:
        return f"AdapterStatus({self.name!r}, connected={self.connected}, reason={self.reason!r})"
