"""The console's line history: private, bounded, and easy to turn off.

Clinicians may type patient details into a question, so the file is created readable by its
owner only (0600, in a 0700 directory when we create it), holds at most `MAX_LINES` lines,
and `CYTOBOT_HISTORY_FILE=` (set but empty) keeps no history on disk at all.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

ENV = "CYTOBOT_HISTORY_FILE"
MAX_LINES = 1000
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def history_file(env: Mapping[str, str] | None = None) -> Path | None:
    """Where history is kept: CYTOBOT_HISTORY_FILE if set (empty: nowhere), else
    $XDG_STATE_HOME/cytobot/history, by default ~/.local/state/cytobot/history."""
    env = os.environ if env is None else env
    if ENV in env:
        value = env[ENV].strip()
        return Path(value).expanduser() if value else None
    state = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "cytobot" / "history"


def make_private(path: Path) -> None:
    """Create `path` (and a missing parent, 0700) as an owner-only file, or tighten an existing one."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=PRIVATE_DIR, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)


class History:
    """readline's history, loaded from and saved to a private file (or kept in memory only)."""

    def __init__(self, path: Path | None):
        self.path = path

    @classmethod
    def start(cls, path: Path | None) -> History | None:
        """Load the history for an interactive console; None when readline is missing."""
        try:
            import readline
        except ImportError:  # pragma: no cover - not on every platform
            return None
        readline.set_history_length(MAX_LINES)
        history = cls(path)
        if path is not None:
            try:
                make_private(path)
                readline.read_history_file(path)
            except OSError:
                history.path = None  # unwritable: keep history in memory only
        return history

    def save(self) -> None:
        if self.path is None:
            return
        try:
            import readline

            make_private(self.path)
            readline.write_history_file(self.path)  # at most MAX_LINES: set_history_length
            os.chmod(self.path, PRIVATE_FILE)
        except (ImportError, OSError):
            pass
