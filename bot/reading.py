"""Reading a pack's files within limits: which files, how big, how deep, and what text.

A running bot reloads its pack when the files change, so a broken or hostile edit must cost
bounded time and memory and end in a clear problem line, never a crash: a 400-byte YAML
alias bomb must not grow to gigabytes, a file nested 999 levels deep must not blow the
stack, a link must not pull in a file from outside the pack, and pack text must not carry
terminal escape sequences into a console or a log. This module decides what is read; the
loader (`bot.loader`) validates what was read.

Rules, each refused with one problem line naming the file:
- files: `*.yaml`/`*.yml` under the pack directory; hidden names (`.git`, editor files) are
  skipped; a symbolic link is followed only when it resolves inside the pack (Kubernetes
  ConfigMap volumes link files that way); only regular files; at most MAX_FILES files and
  MAX_PACK_BYTES together.
- each file: at most MAX_FILE_BYTES of UTF-8, one YAML document read with the safe loader,
  at most MAX_NODES keys and values counted as expanded (YAML aliases, `*name`, count each
  time they are used, so an alias bomb stops there), no alias that contains itself, at most
  MAX_DEPTH levels of nesting, and no control characters or bidirectional overrides in any
  key or value.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# --------------------------------------------------------------------------- limits

MAX_FILE_BYTES = 2_000_000  # one file
MAX_PACK_BYTES = 64_000_000  # all files together (the 10,000-topic benchmark pack is about 25 MB)
MAX_FILES = 2_000
MAX_NODES = 200_000  # keys and values in one file: a 2 MB file of one-character items would be 1,000,000
MAX_PACK_NODES = 2_000_000  # in the whole pack (the 10,000-topic pack has about 450,000)
MAX_DEPTH = 32  # levels of mappings and lists; a pack needs about 8
PACK_SUFFIXES = frozenset({".yaml", ".yml"})

# C0 and C1 controls except tab and newline (ESC starts terminal escape sequences, CR rewrites
# a line), DEL, and the bidirectional overrides and isolates that reorder what a reader sees.
UNSAFE_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# libyaml's parser when PyYAML was built with it (the wheels are): same safe constructor, ~10x faster.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Path_ = tuple[str | int, ...]


def printable(text: str) -> str:
    """`text` with every unsafe character shown as an escape (`\\x1b`), for messages and logs."""
    return UNSAFE_TEXT.sub(lambda m: repr(m.group())[1:-1] if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


def describe_char(ch: str) -> str:
    """'U+001B' plus its name where Unicode has one ('U+202E RIGHT-TO-LEFT OVERRIDE')."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}{f' {name}' if name else ''}"


@dataclass(frozen=True, slots=True)
class PackProblem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return printable(f"{where}: {self.message}")


class PackFileText:
    """One file as read: its data, and the line of every node by its path.

    The line table is built only when something asks for a line (a problem to report): a
    valid pack never needs one, and building it for every node was a large share of a cold
    load. It is then built from the file's text, parsed again with the same limits."""

    def __init__(self, name: str, data: Any, text: str):
        self.name = name
        self.data = data
        self._text: str | None = text
        self._lines: dict[Path_, int] | None = None

    @property
    def lines(self) -> dict[Path_, int]:
        if self._lines is None:
            self._lines = _line_table(self._text or "")
            self._text = None
        return self._lines

    def line(self, path: Path_) -> int | None:
        """Line of the deepest node along `path` that exists."""
        lines = self.lines
        for end in range(len(path), -1, -1):
            found = lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return None


def _line_table(text: str) -> dict[Path_, int]:
    """The line of every node by its path, for a text that was already read within limits."""
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    walk = _Walk(allowed=MAX_NODES * 2, too_many="", check_text=False, aliases="*" in text)
    if node is not None:
        walk.visit(node, ())
    return walk.lines


class Budget:
    """What is left of the pack-wide limits while its files are read."""

    def __init__(self) -> None:
        self.bytes = MAX_PACK_BYTES
        self.nodes = MAX_PACK_NODES


# --------------------------------------------------------------------------- which files


def pack_files(root: Path, problems: list) -> list[tuple[Path, str]]:
    """(path to read, name shown in problems) of every pack file under `root`, in name order."""
    real_root = root.resolve()
    found: list[tuple[Path, str]] = []
    for here, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = Path(here)
        for d in dirs:
            if (base / d).is_symlink() and not _inside((base / d).resolve(), real_root):
                problems.append(PackProblem(_name(base / d, root), None, "is a link to a directory outside the pack: "
                                            "copy the files into the pack instead"))
        for entry in sorted(files):
            path = base / entry
            if entry.startswith(".") or path.suffix not in PACK_SUFFIXES:
                continue
            name = _name(path, root)
            target = path.resolve()
            if not _inside(target, real_root):
                problems.append(PackProblem(name, None, "is a link to a file outside the pack: copy the file into the pack instead"))
                continue
            found.append((target, name))
    found.sort(key=lambda item: item[1])
    if len(found) > MAX_FILES:
        problems.append(PackProblem(str(root), None, f"has {len(found)} YAML files; the limit is {MAX_FILES}: merge some"))
        return []
    return found


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _name(path: Path, root: Path) -> str:
    return str(path.relative_to(root))


# --------------------------------------------------------------------------- one file


class _Refused(Exception):
    def __init__(self, line: int | None, message: str):
        self.line = line
        self.message = message


def read_file(path: Path, name: str, problems: list, budget: Budget) -> PackFileText | None:
    """Read and parse one pack file; on any problem append it and return None."""
    raw = read_bytes(path, name, problems, budget)
    return None if raw is None else parse_bytes(raw, name, problems, budget)


def parse_bytes(raw: bytes, name: str, problems: list, budget: Budget) -> PackFileText | None:
    """Parse one pack file's bytes (read with `read_bytes`); on any problem append it and return None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(PackProblem(name, None, f"file is not UTF-8 text ({exc.reason}): save it as UTF-8"))
        return None
    try:
        return _parse(text, name, problems, budget)
    except _Refused as refused:
        problems.append(PackProblem(name, refused.line, refused.message))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        if "maximum nesting depth" in what:
            what = f"nested more than {MAX_DEPTH} levels deep: flatten it"
        else:
            what = f"YAML syntax error: {what}; fix the YAML at this line"
        problems.append(PackProblem(name, mark.line + 1 if mark else None, what))
    except yaml.YAMLError as exc:
        problems.append(PackProblem(name, None, f"YAML error: {exc}"))
    except RecursionError:  # only PyYAML's pure-Python parser recurses; libyaml stops at 1,000 levels
        problems.append(PackProblem(name, None, f"nested more than {MAX_DEPTH} levels deep: flatten it"))
    return None


def read_bytes(path: Path, name: str, problems: list, budget: Budget) -> bytes | None:
    """The file's bytes, read no further than the limits (a growing file or a device stops
    there; a FIFO is refused, never waited on)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        problems.append(PackProblem(name, None, f"cannot read file: {exc.strerror}"))
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            problems.append(PackProblem(name, None, "is not a regular file: replace it with a YAML file"))
            return None
        if budget.bytes < 0:
            return None
        limit = min(MAX_FILE_BYTES, budget.bytes)
        with os.fdopen(fd, "rb", closefd=False) as stream:
            raw = stream.read(limit + 1)
    except OSError as exc:
        problems.append(PackProblem(name, None, f"cannot read file: {exc.strerror}"))
        return None
    finally:
        os.close(fd)
    if len(raw) > limit:
        if limit < MAX_FILE_BYTES:
            problems.append(PackProblem(name, None, f"the pack's files are larger than {MAX_PACK_BYTES:,} bytes together: make the pack smaller"))
            budget.bytes = -1  # said once; later files are not read
        else:
            problems.append(PackProblem(name, None, f"file is larger than {MAX_FILE_BYTES:,} bytes: split it"))
        return None
    budget.bytes -= len(raw)
    return raw


class _CountingLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """The safe loader, stopped once a file holds more values than it may.

    libyaml composes the whole node tree before anything else sees it; counting in
    `resolve`, which it calls for every untagged node, bounds that tree's memory."""

    def __init__(self, text: str, budget: Budget):
        super().__init__(text)
        self.allowed = min(MAX_NODES, budget.nodes)
        self.too_many = (f"file holds more than {MAX_NODES:,} keys and values: split it" if self.allowed == MAX_NODES
                         else f"the pack holds more than {MAX_PACK_NODES:,} keys and values in all: make it smaller")
        self.count = 0

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        self.count += 1
        if self.count > self.allowed:
            raise _Refused(None, self.too_many)
        return super().resolve(kind, value, implicit)


def _parse(text: str, name: str, problems: list, budget: Budget) -> PackFileText | None:
    loader = _CountingLoader(text, budget)
    try:
        node = loader.get_single_node()
        if node is None:
            problems.append(PackProblem(name, None, "file is empty: add a mapping such as `topics:` or delete the file"))
            return None
        walk = _Walk(
            allowed=loader.allowed,
            too_many=loader.too_many,
            check_text=UNSAFE_TEXT.search(text) is not None or "\\" in text,  # escapes such as "\e" make controls
            aliases="*" in text,
        )
        walk.check(node)
        budget.nodes = max(0, budget.nodes - max(walk.count, loader.count))
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    for key, line in dict.fromkeys(walk.duplicates):  # once, even when an alias repeats the mapping
        problems.append(PackProblem(name, line, f"duplicate key '{key}': each key may appear once in a mapping"))
    if not isinstance(data, dict):
        problems.append(PackProblem(name, 1, f"top level must be a mapping (e.g. `topics:`), not {type_name(data)}"))
        return None
    return PackFileText(name, data, text)


class _Walk:
    """One pass over the node tree as the data will be: line numbers, duplicate keys, and the
    structural limits.

    An alias (`*name`) is the anchored node itself, met again: the walk goes through it again,
    so what it expands to counts against the file's values. A few hundred bytes of nested
    aliases (a "billion laughs") therefore stop at MAX_NODES, before anything is built from them."""

    def __init__(self, *, allowed: int, too_many: str, check_text: bool, aliases: bool):
        self.lines: dict[Path_, int] = {}
        self.duplicates: list[tuple[str, int]] = []
        self.count = 0
        self.allowed = allowed
        self.too_many = too_many
        self.check_text = check_text
        self.aliases = aliases
        self.open: set[int] = set()  # ids of the collections being walked: one met again is a loop

    def visit(self, node: yaml.Node, path: Path_, at: int | None = None) -> None:
        """`at`: the line where the node is used (an alias shares its anchor's marks, so the
        caller passes the line of the key or list that refers to it)."""
        line = node.start_mark.line + 1
        if len(path) > MAX_DEPTH:
            raise _Refused(line, f"nested more than {MAX_DEPTH} levels deep: flatten it")
        self._count(at or line)
        self.lines.setdefault(path, line)
        if isinstance(node, yaml.ScalarNode):
            self._check(node)
            return
        if self.aliases:
            if id(node) in self.open:
                raise _Refused(at or line, "a YAML alias (*name) refers to a list or mapping that contains it: "
                                           "write the value out")
            self.open.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _Refused(key_line, "a mapping key must be plain text, not a list or mapping")
                self._count(key_line)
                self._check(key_node)
                key = str(key_node.value)
                if key in keys:
                    self.duplicates.append((key, key_line))
                keys.add(key)
                self.visit(value_node, path + (key,), key_line)
        else:
            for index, item in enumerate(node.value):
                self.visit(item, path + (index,), line)
        self.open.discard(id(node))

    def check(self, node: yaml.Node, depth: int = 0, at: int | None = None) -> None:
        """`visit` without the line table: the same limits, duplicates and text checks, in the
        same order, so the same problem is found first; what a valid file costs to read."""
        if depth > MAX_DEPTH:
            raise _Refused(node.start_mark.line + 1, f"nested more than {MAX_DEPTH} levels deep: flatten it")
        self.count += 1
        if self.count > self.allowed:
            self._count(at or node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            if self.check_text:
                self._check(node)
            return
        if self.aliases:
            if id(node) in self.open:
                line = node.start_mark.line + 1
                raise _Refused(at or line, "a YAML alias (*name) refers to a list or mapping that contains it: "
                                           "write the value out")
            self.open.add(id(node))
        deeper = depth + 1
        inline = deeper <= MAX_DEPTH and not self.check_text  # a plain leaf needs only counting
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _Refused(key_node.start_mark.line + 1, "a mapping key must be plain text, not a list or mapping")
                self.count += 1
                if self.count > self.allowed:
                    self._count(key_node.start_mark.line + 1)
                if self.check_text:
                    self._check(key_node)
                key = str(key_node.value)
                if key in keys:
                    self.duplicates.append((key, key_node.start_mark.line + 1))
                keys.add(key)
                if inline and isinstance(value_node, yaml.ScalarNode):
                    self.count += 1  # the common leaf, inlined
                    if self.count > self.allowed:
                        self._count(key_node.start_mark.line + 1)
                    continue
                self.check(value_node, deeper, key_node.start_mark.line + 1)
        else:
            line = node.start_mark.line + 1
            for item in node.value:
                if inline and isinstance(item, yaml.ScalarNode):
                    self.count += 1
                    if self.count > self.allowed:
                        self._count(line)
                    continue
                self.check(item, deeper, line)
        self.open.discard(id(node))

    def _count(self, line: int) -> None:
        self.count += 1
        if self.count > self.allowed:
            if self.aliases:
                raise _Refused(line, f"file expands to more than {self.allowed:,} keys and values through its "
                                     "YAML aliases (*name): use fewer aliases or write the values out")
            raise _Refused(line, self.too_many)

    def _check(self, node: yaml.Node) -> None:
        if self.check_text and isinstance(node.value, str):
            bad = UNSAFE_TEXT.search(node.value)
            if bad:
                raise _Refused(node.start_mark.line + 1, f"text contains the control character {describe_char(bad.group())}: "
                                                          "remove it (terminal escape sequences are not allowed in a pack)")


def type_name(value: Any) -> str:
    return {
        str: "text",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a mapping",
        type(None): "empty",
    }.get(type(value), type(value).__name__)
