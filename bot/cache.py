"""A loaded, validated and indexed pack kept on disk, so a large pack starts in a fraction of
its load time (the 10,000-topic benchmark pack: seconds to load and index, well under one
second from the cache).

What is cached is the `Catalog` with its search index, pickled. Pickle runs code when it is
loaded, so a cache file is read only when nobody but this user could have written it:
- the cache directory is created 0700 and used only while it is a real directory (not a
  link) owned by this user with no group or other permissions; each file likewise (0600,
  checked on the open file, not the name);
- the file names its key, and is used only when the key matches: a format version, the
  Python version, the versions of the libraries whose objects it holds, the source of every
  module in `bot/` (the pickled classes), the pack directory, and the name, size and SHA-256
  of every file the loader would read. Any change to any of them is a miss;
- a SHA-256 of the payload catches a truncated or corrupted file.
Anything wrong (a miss, a corrupted or foreign file, an unwritable directory) falls back to
a normal load, whose result is written back; the cache never makes a load fail.

`CYTOBOT_CACHE_DIR` chooses the directory (default `$XDG_CACHE_HOME/cytobot`, else
`~/.cache/cytobot`); `CYTOBOT_CACHE_DIR=off` switches the cache off.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .catalog import Catalog
from .loader import load_pack
from .reading import Budget, pack_files, read_bytes

log = logging.getLogger(__name__)

FORMAT = b"cytobot-pack-cache-1\n"
OFF = "off"
LIBRARIES = ("pydantic", "pydantic-core", "PyYAML", "rapidfuzz", "snowballstemmer")


def cache_dir_from(value: str | None) -> Path | None:
    """The cache directory a `CYTOBOT_CACHE_DIR` value names (unset or empty: the default),
    or None when it says `off`."""
    value = (value or "").strip()
    if value.lower() == OFF:
        return None
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "cytobot"


def cache_dir_from_env() -> Path | None:
    """The cache directory from the environment, or None when switched off."""
    return cache_dir_from(os.environ.get("CYTOBOT_CACHE_DIR"))


def load_catalog(directory: str | os.PathLike[str], *, cache_dir: Path | None | str = "env",
                 previous: Catalog | None = None) -> Catalog:
    """The catalog of the pack in `directory`, with its search index built: from the cache
    when it holds this exact pack, else loaded (raising PackError as `load_pack` does) and
    then cached. `cache_dir=None` switches the cache off; the default reads the environment.

    With `previous` (the catalog being served, of an earlier load of the same directory) the
    load is incremental: only changed files are parsed and only their documents analysed
    (`bot.loader.load_pack`, `bot.catalog.Catalog`), and the cache is not written here, since
    writing a large pack's cache costs about as much as the incremental load itself: call
    `save_catalog` once the new catalog is being served."""
    if previous is not None:
        with _gc_paused():
            catalog = Catalog(load_pack(directory, previous=previous.pack), previous)
            catalog.search_index  # noqa: B018 - built now, with the unchanged documents' analysis reused
        return catalog
    where = cache_dir_from_env() if cache_dir == "env" else (Path(cache_dir) if cache_dir is not None else None)
    root = Path(directory)
    key = _key(root) if where is not None else None
    if where is not None and key is not None:
        cached = _read(where, root, key)
        if cached is not None:
            return cached
    with _gc_paused():
        catalog = Catalog(load_pack(root))
        catalog.search_index  # noqa: B018 - built now, so the cache holds it and the first search is fast
    # Written only if no file changed while loading: else the key would name other contents.
    if where is not None and key is not None and _key(root) == key:
        _write(where, root, key, catalog)
    return catalog


def save_catalog(directory: str | os.PathLike[str], catalog: Catalog, *, cache_dir: Path | None | str = "env") -> bool:
    """Write `catalog` to the cache as the pack in `directory`, if the files on disk are still
    exactly the ones it was loaded from (same names, sizes and SHA-256). True if written."""
    where = cache_dir_from_env() if cache_dir == "env" else (Path(cache_dir) if cache_dir is not None else None)
    if where is None:
        return False
    root = Path(directory)
    states = catalog.pack.states
    problems: list = []
    files = pack_files(root, problems)
    if problems or [name for _, name in files] != sorted(states):
        return False
    budget = Budget()
    for path, name in files:
        data = read_bytes(path, name, problems, budget)
        if data is None or hashlib.sha256(data).digest() != states[name].digest:
            return False
    key = _key(root)
    if key is None:
        return False
    _write(where, root, key, catalog)
    return True


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading allocates millions of objects that all stay alive; the cyclic collector would
    walk them again and again (a large share of a cold load) and find nothing to free."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --------------------------------------------------------------------------- the key


@lru_cache(maxsize=1)
def _code_fingerprint() -> bytes:
    digest = hashlib.sha256(FORMAT)
    digest.update(sys.version.encode())
    for name in LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=?\n".encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.digest()


def _key(root: Path) -> bytes | None:
    """What the cached catalog must have been built from; None if the pack cannot be read
    cleanly (the normal load then reports why)."""
    problems: list = []
    files = pack_files(root, problems)
    if problems or not files:
        return None
    digest = hashlib.sha256(_code_fingerprint())
    digest.update(str(root.resolve()).encode() + b"\0")
    budget = Budget()
    for path, name in files:
        data = read_bytes(path, name, problems, budget)  # the loader's own limits: no FIFO, no 3 GB file
        if data is None:
            return None
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(hashlib.sha256(data).digest())
    return digest.digest()


# --------------------------------------------------------------------------- reading and writing


def _file_for(where: Path, root: Path) -> Path:
    return where / f"pack-{hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:32]}.pickle"


def _private_dir(where: Path, *, create: bool) -> bool:
    """True if `where` is a directory only this user can use (created 0700 if asked)."""
    if create:
        try:
            where.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return False
    try:
        info = os.lstat(where)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077


def _read(where: Path, root: Path, key: bytes) -> Catalog | None:
    if not _private_dir(where, create=False):
        return None
    try:
        fd = os.open(_file_for(where, root), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
                log.warning("pack cache %s is not private to this user: ignored", stream.name)
                return None
            blob = stream.read()
    except OSError:
        return None
    head = len(FORMAT)
    if blob[:head] != FORMAT or blob[head : head + 32] != key:
        return None  # another pack, another version of the code, or an older format: a miss
    payload, check = blob[head + 64 :], blob[head + 32 : head + 64]
    if hashlib.sha256(payload).digest() != check:
        log.warning("pack cache for %s is corrupted: loading the pack instead", root)
        return None
    try:
        with _gc_paused():
            catalog = pickle.loads(payload)
    except Exception:
        log.warning("pack cache for %s cannot be read: loading the pack instead", root)
        return None
    return catalog if isinstance(catalog, Catalog) else None


def _write(where: Path, root: Path, key: bytes, catalog: Catalog) -> None:
    if not _private_dir(where, create=True):
        log.info("pack cache directory %s cannot be created or is not private to this user: not caching", where)
        return
    try:
        payload = pickle.dumps(catalog, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # a catalog that cannot be pickled is still a fine catalog
        log.info("pack cannot be cached", exc_info=True)
        return
    fd, temp = tempfile.mkstemp(dir=where, prefix=".pack-", suffix=".tmp")  # created 0600
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(FORMAT + key + hashlib.sha256(payload).digest())
            stream.write(payload)
        os.replace(temp, _file_for(where, root))
    except OSError:
        log.info("pack cache could not be written to %s", where, exc_info=True)
        try:
            os.unlink(temp)
        except OSError:
            pass
