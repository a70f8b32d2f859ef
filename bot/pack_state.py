"""What a loaded pack keeps of its files, so that a reload re-reads only what changed
(`FileState`, kept in `Pack.states`), and the files as the loader's cross-file checks see
them: a file parsed this time (`FreshFile`) or an unchanged one (`StoredFile`), whose lines
are looked up only when a problem must name one (`Line`, made an int by `resolved`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .reading import Budget, PackProblem, Path_, parse_bytes
from .reading import PackFileText as _File
from .schema import PackFile


@dataclass(frozen=True, slots=True)
class FileState:
    """One file as the loader validated it, kept with the pack so that a reload re-reads only
    the files whose bytes changed: the SHA-256 and size of those bytes, what they count
    against the pack's limits, the validated model (whose topics etc. *are* the pack's, not a
    copy), and the in-text citations with where they stand. No raw data and no line table is
    kept: when a cross-file problem needs a line in an unchanged file, that file is read again."""

    digest: bytes
    size: int
    nodes: int
    model: PackFile
    cited: tuple[tuple[str, Path_], ...]


class Line:
    """The line of `path` in a file that was not parsed this time, found only if a problem
    needs it (a clash with an alias in an unchanged file, a dangling citation in one)."""

    __slots__ = ("file", "path")

    def __init__(self, file: FreshFile | StoredFile, path: Path_):
        self.file, self.path = file, path

    def resolve(self) -> int | None:
        return self.file.parsed_line(self.path)

    def __bool__(self) -> bool:
        return self.resolve() is not None

    def __str__(self) -> str:
        return str(self.resolve())

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class FreshFile:
    """A file parsed by this load, as the cross-file checks see it: lines are looked up only
    when a problem is reported (the line table is built on demand, see PackFileText)."""

    def __init__(self, text: _File):
        self.text, self.name, self.data = text, text.name, text.data

    def line(self, path: Path_) -> Line:
        return Line(self, path)

    def parsed_line(self, path: Path_) -> int | None:
        return self.text.line(path)


class StoredFile:
    """An unchanged file in a reload: its name and model, and its text read again on demand."""

    def __init__(self, path: Path, name: str, state: FileState):
        self.path, self.name, self.state = path, name, state
        self._text: _File | None = None
        self._read = False

    def line(self, path: Path_) -> Line:
        return Line(self, path)

    def parsed_line(self, path: Path_) -> int | None:
        text = self._parsed()
        return text.line(path) if text is not None else None

    @property
    def data(self) -> Any:
        text = self._parsed()
        return text.data if text is not None else {}

    def _parsed(self) -> _File | None:
        if not self._read:
            self._read = True
            try:
                raw = self.path.read_bytes()
            except OSError:
                return None
            if hashlib.sha256(raw).digest() == self.state.digest:  # else it changed since: no line
                self._text = parse_bytes(raw, self.name, [], Budget())
        return self._text


def resolved(problem: PackProblem) -> PackProblem:
    line = problem.line
    return PackProblem(problem.file, line.resolve(), problem.message) if isinstance(line, Line) else problem
