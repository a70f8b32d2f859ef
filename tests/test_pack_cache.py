"""The pack cache: a hit skips the load, any change to the pack misses, and a cache file that
someone else could have written, or that is damaged, is never unpickled."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

import bot.cache as cache
from bot.cache import load_catalog
from bot.loader import PackError
from tests.conftest import MINI_PACK


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(MINI_PACK, target)
    return target


@pytest.fixture
def where(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "cytobot"


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every real load of a pack (a cache miss), recorded."""
    seen: list[Path] = []
    real = cache.load_pack

    def counting(root):  # type: ignore[no-untyped-def]
        seen.append(Path(root))
        return real(root)

    monkeypatch.setattr(cache, "load_pack", counting)
    return seen


def cache_files(where: Path) -> list[Path]:
    return sorted(p for p in where.glob("pack-*.pickle"))


def edit(root: Path, old: str, new: str) -> None:
    path = root / "topics.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_second_load_comes_from_the_cache_with_its_index(pack: Path, where: Path, loads: list[Path]) -> None:
    first = load_catalog(pack, cache_dir=where)
    second = load_catalog(pack, cache_dir=where)
    assert len(loads) == 1
    assert second is not first
    assert [t.id for t in second.topics.values()] == ["alpha", "beta"]
    assert "search_index" in vars(second)  # indexed already, not on first search
    assert [h.document.command for h in second.search_index.search("fever")] == \
           [h.document.command for h in first.search_index.search("fever")]
    assert oct(where.stat().st_mode & 0o777) == "0o700"
    [written] = cache_files(where)
    assert oct(written.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    "change",
    [
        lambda root: edit(root, "Beta is a made-up storm of signals.", "Beta is a made-up storm of many signals."),
        lambda root: (root / "more.yaml").write_text("sources:\n  - {id: src-c, title: Source C, citation: C. 2022.}\n"),
        lambda root: (root / "sub").mkdir() or shutil.move(root / "sources.yaml", root / "sub" / "sources.yaml"),
    ],
    ids=["edited", "added", "moved"],
)
def test_any_change_to_the_files_is_a_miss(pack: Path, where: Path, loads: list[Path], change) -> None:
    load_catalog(pack, cache_dir=where)
    change(pack)
    catalog = load_catalog(pack, cache_dir=where)
    assert len(loads) == 2
    if "storm of many signals" in (pack / "topics.yaml").read_text():
        assert catalog.topics["beta"].summary == "Beta is a made-up storm of many signals."
    load_catalog(pack, cache_dir=where)
    assert len(loads) == 2  # and the new contents are cached in turn


def test_touching_a_file_without_changing_it_is_still_a_hit(pack: Path, where: Path, loads: list[Path]) -> None:
    load_catalog(pack, cache_dir=where)
    os.utime(pack / "topics.yaml", (1, 1))
    load_catalog(pack, cache_dir=where)
    assert len(loads) == 1


def test_other_code_is_a_miss(pack: Path, where: Path, loads: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    load_catalog(pack, cache_dir=where)
    monkeypatch.setattr(cache, "_code_fingerprint", lambda: b"another version of bot/")
    load_catalog(pack, cache_dir=where)
    assert len(loads) == 2


def test_a_broken_pack_is_never_cached(pack: Path, where: Path) -> None:
    edit(pack, "title: Beta storm", "title: 42")
    with pytest.raises(PackError):
        load_catalog(pack, cache_dir=where)
    assert cache_files(where) == []


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "empty"])
def test_a_damaged_cache_falls_back_to_a_normal_load_and_is_rewritten(pack: Path, where: Path, loads: list[Path], damage: str) -> None:
    load_catalog(pack, cache_dir=where)
    [written] = cache_files(where)
    blob = bytearray(written.read_bytes())
    if damage == "flip":
        blob[-100] ^= 0xFF
    elif damage == "truncate":
        del blob[len(blob) // 2 :]
    elif damage == "garbage":
        blob[len(cache.FORMAT) + 64 :] = b"\x80\x05not a pickle"
    else:
        blob.clear()
    written.write_bytes(bytes(blob))
    assert [t for t in load_catalog(pack, cache_dir=where).topics] == ["alpha", "beta"]
    assert len(loads) == 2
    load_catalog(pack, cache_dir=where)
    assert len(loads) == 2


def planted(where: Path, pack: Path, marker: Path) -> Path:
    """A cache file with the right key whose payload runs code when unpickled (creates `marker`)."""
    key = cache._key(pack)
    assert key is not None
    payload = pickle.dumps(_Evil(str(marker)))
    path = cache._file_for(where, pack)
    path.write_bytes(cache.FORMAT + key + cache.hashlib.sha256(payload).digest() + payload)
    return path


class _Evil:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.mkdir, (self.marker,))


def test_a_cache_file_others_could_have_written_is_never_unpickled(pack: Path, where: Path, tmp_path: Path, loads: list[Path]) -> None:
    load_catalog(pack, cache_dir=where)
    marker = tmp_path / "code-ran"
    path = planted(where, pack, marker)
    path.chmod(0o644)  # readable and writable by the group: another user may have written it
    load_catalog(pack, cache_dir=where)
    path.chmod(0o620)
    load_catalog(pack, cache_dir=where)
    if os.geteuid() == 0:  # only root can hand a file to another user
        path.chmod(0o600)
        os.chown(path, 65534, 65534)
        load_catalog(pack, cache_dir=where)
    assert not marker.exists()
    assert len(loads) == 4 if os.geteuid() == 0 else 3


def test_a_directory_others_can_write_is_neither_read_nor_written(pack: Path, tmp_path: Path, loads: list[Path]) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    marker = tmp_path / "code-ran"
    planted(shared, pack, marker).chmod(0o600)
    load_catalog(pack, cache_dir=shared)
    assert not marker.exists() and len(loads) == 1
    assert cache_files(shared) == [cache._file_for(shared, pack)]  # nothing new written there
    link = tmp_path / "link"
    link.symlink_to(shared, target_is_directory=True)
    shared.chmod(0o700)
    load_catalog(pack, cache_dir=link)  # a link to a directory is not a private directory
    assert not marker.exists() and len(loads) == 2


def test_a_linked_cache_file_is_not_followed(pack: Path, where: Path, tmp_path: Path, loads: list[Path]) -> None:
    load_catalog(pack, cache_dir=where)
    [written] = cache_files(where)
    elsewhere = tmp_path / "elsewhere.pickle"
    shutil.move(written, elsewhere)
    written.symlink_to(elsewhere)
    load_catalog(pack, cache_dir=where)
    assert len(loads) == 2


def test_a_file_changing_during_the_load_is_not_cached(pack: Path, where: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = cache.load_pack

    def edited_meanwhile(root):  # type: ignore[no-untyped-def]
        loaded = real(root)
        edit(Path(root), "Beta is a made-up storm of signals.", "Beta changed while loading.")
        return loaded

    monkeypatch.setattr(cache, "load_pack", edited_meanwhile)
    load_catalog(pack, cache_dir=where)
    assert cache_files(where) == []


def test_switched_off(pack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CYTOBOT_CACHE_DIR", "off")
    assert cache.cache_dir_from_env() is None
    monkeypatch.setenv("CYTOBOT_CACHE_DIR", str(tmp_path / "c"))
    assert cache.cache_dir_from_env() == tmp_path / "c"
    monkeypatch.delenv("CYTOBOT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir_from_env() == tmp_path / "xdg" / "cytobot"
    monkeypatch.setenv("CYTOBOT_CACHE_DIR", "off")
    load_catalog(pack)
    assert not (tmp_path / "xdg").exists()


def test_a_fifo_in_the_pack_neither_hangs_nor_is_cached(pack: Path, where: Path) -> None:
    os.mkfifo(pack / "pipe.yaml")
    with pytest.raises(PackError, match="not a regular file"):
        load_catalog(pack, cache_dir=where)
    assert cache_files(where) == []
