"""An incremental reload gives exactly the pack a cold load of the same files gives.

`load_catalog(dir, previous=catalog)` re-reads only the files whose bytes changed and reuses
the rest (models, section matchers, search documents and their analysis). Each test edits a
copy of the bundled pack, loads it both ways and compares everything a user can reach: the
pack itself, the answer to every command line the bundled pack offers (as
tests/test_card_sources.py lists them), search results with their scores, and autocomplete
choices. Edits: a changed text, files added, removed and renamed, an id moved from one file to
another, and a cross-reference broken by an edit to another file.
"""

from __future__ import annotations

import random
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from bot.cache import load_catalog
from bot.catalog import Catalog
from bot.engine import Engine
from bot.loader import PackError, bundled_content_dir
from bot.commands.base import ParamKind
from tests.test_card_sources import command_lines

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(bundled_content_dir(), target)
    return target


def cold(root: Path) -> Catalog:
    return load_catalog(root, cache_dir=None)


def warm(root: Path, previous: Catalog) -> Catalog:
    return load_catalog(root, cache_dir=None, previous=previous)


def engine(cat: Catalog) -> Engine:
    return Engine(cat, clock=lambda: NOW, rng=random.Random(7), cache_replies=False)


def seen(reply) -> tuple:  # type: ignore[no-untyped-def]
    return (reply.command, reply.text, reply.is_error, repr(reply.cards))


def assert_same(incremental: Catalog, reference: Catalog) -> None:
    assert incremental.pack == reference.pack  # topics, sections, sources, facts, scales... (pydantic equality)
    assert incremental.pack.files == reference.pack.files
    a, b = engine(incremental), engine(reference)
    lines = command_lines(reference)
    assert len(lines) > 500
    for line in lines:
        assert seen(a.execute(line)) == seen(b.execute(line)), line
    for query in ("fever", "tocilizumab dose", "il-6 crs", "cytokin stom", "ferritin hlh", "predictor", "steroid"):
        hits = [(h.document, h.score, h.coverage, h.snippet) for h in incremental.search_index.search(query, limit=10)]
        assert hits == [(h.document, h.score, h.coverage, h.snippet) for h in reference.search_index.search(query, limit=10)], query
    assert incremental.search_index._vocab == reference.search_index._vocab
    assert incremental.search_index._surfaces == reference.search_index._surfaces
    for kind in (ParamKind.TOPIC, ParamKind.FACT, ParamKind.SOURCE, ParamKind.COMPARISON):
        for typed in ("", "c", "il", "toci", "fever", "x"):
            assert a.complete(kind, typed) == b.complete(kind, typed), (kind, typed)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_unchanged_pack_reuses_every_file_and_answers_the_same(pack: Path) -> None:
    first = cold(pack)
    again = warm(pack, first)
    assert all(again.pack.states[n] is first.pack.states[n] for n in first.pack.states)  # nothing parsed again
    assert_same(again, cold(pack))


def test_a_changed_text_is_served_and_nothing_else_is_parsed_again(pack: Path) -> None:
    first = cold(pack)
    edit(pack / "topics" / "il-6.yaml", "title: ", "title: Edited ")
    again = warm(pack, first)
    changed = [n for n in again.pack.states if again.pack.states[n] is not first.pack.states.get(n)]
    assert changed == ["topics/il-6.yaml"]
    assert again.topics["il-6"].title.startswith("Edited ")
    assert_same(again, cold(pack))
    # Sections of unchanged topics keep their matchers; the edited one gets a new one.
    assert again.section_names(again.topics["crs"]) is first.section_names(first.topics["crs"])
    assert again.section_names(again.topics["il-6"]) is not first.section_names(first.topics["il-6"])


def test_files_added_removed_and_renamed(pack: Path) -> None:
    first = cold(pack)
    (pack / "topics" / "il-10.yaml").rename(pack / "topics" / "interleukin-10.yaml")  # renamed
    data = yaml.safe_load((pack / "topics" / "gm-csf.yaml").read_text(encoding="utf-8"))
    (pack / "topics" / "gm-csf.yaml").unlink()  # removed (nothing refers to it)
    data["topics"][0]["id"] = "gm-csf-two"
    data["topics"][0]["aliases"] = ["granulocyte-macrophage colony-stimulating factor, again"]
    data["topics"][0]["title"] = "GM-CSF again"
    (pack / "topics" / "zz-added.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")  # added
    again = warm(pack, first)
    assert "gm-csf" not in again.topics and "gm-csf-two" in again.topics
    assert "topics/interleukin-10.yaml" in again.pack.files and "topics/il-10.yaml" not in again.pack.files
    assert_same(again, cold(pack))


def test_an_id_moved_from_one_file_to_another(pack: Path) -> None:
    first = cold(pack)
    il10 = yaml.safe_load((pack / "topics" / "il-10.yaml").read_text(encoding="utf-8"))
    il1 = yaml.safe_load((pack / "topics" / "il-1.yaml").read_text(encoding="utf-8"))
    il1["topics"] += il10["topics"]
    (pack / "topics" / "il-1.yaml").write_text(yaml.safe_dump(il1, sort_keys=False, allow_unicode=True), encoding="utf-8")
    (pack / "topics" / "il-10.yaml").unlink()
    again = warm(pack, first)
    assert "il-10" in again.topics
    assert_same(again, cold(pack))


def test_moving_an_id_without_removing_it_is_a_clash_in_both_loads(pack: Path) -> None:
    first = cold(pack)
    il10 = yaml.safe_load((pack / "topics" / "il-10.yaml").read_text(encoding="utf-8"))
    (pack / "topics" / "il-10-copy.yaml").write_text(yaml.safe_dump(il10, sort_keys=False, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PackError) as incremental:
        warm(pack, first)
    with pytest.raises(PackError) as reference:
        cold(pack)
    assert [str(p) for p in incremental.value.problems] == [str(p) for p in reference.value.problems]
    assert any("already used by" in str(p) and "topics/il-10.yaml:" in str(p) for p in incremental.value.problems)


def test_a_reference_broken_by_an_edit_to_another_file_is_refused_with_its_line(pack: Path) -> None:
    """Removing a source breaks citations in files the edit did not touch: still refused, and
    each problem names the untouched file and line, as a cold load does."""
    first = cold(pack)
    sources = yaml.safe_load((pack / "sources.yaml").read_text(encoding="utf-8"))
    sources["sources"] = [s for s in sources["sources"] if s["id"] != "le18"]
    (pack / "sources.yaml").write_text(yaml.safe_dump(sources, sort_keys=False, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PackError) as incremental:
        warm(pack, first)
    with pytest.raises(PackError) as reference:
        cold(pack)
    got = [(p.file, p.line, p.message) for p in incremental.value.problems]
    assert got == [(p.file, p.line, p.message) for p in reference.value.problems]
    assert any(f == "topics/tocilizumab.yaml" and isinstance(line, int) and "le18" in m for f, line, m in got)


def test_a_broken_edit_keeps_the_previous_catalog_whole_and_the_next_good_edit_loads(pack: Path) -> None:
    first = cold(pack)
    edit(pack / "topics" / "il-6.yaml", "title: ", "title: [unclosed ")
    with pytest.raises(PackError):
        warm(pack, first)
    assert first.topics["il-6"].title and not first.topics["il-6"].title.startswith("[")
    assert engine(first).execute("topic il-6").cards  # the served catalog still answers
    edit(pack / "topics" / "il-6.yaml", "title: [unclosed ", "title: Fixed ")
    again = warm(pack, first)
    assert again.topics["il-6"].title.startswith("Fixed ")
    assert_same(again, cold(pack))
