"""The loader refuses a broken pack whole, naming file, line and what to change."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.loader import PackError, bundled_content_dir, content_dir_from_env, load_pack

MINI = Path(__file__).parent / "data" / "minipack"


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(MINI, target)
    return target


def edit(name: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / name
        text = path.read_text()
        assert old in text, f"fixture changed: {old!r} not in {name}"
        path.write_text(text.replace(old, new, 1))

    return apply


def write(name: str, text: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / name).write_text(text)

    return apply


def line_of(root: Path, name: str, needle: str) -> int:
    for number, line in enumerate((root / name).read_text().splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {name}")


# (case id, mutation, file the problem is in, a line containing this text (or None), expected message part)
CASES = [
    ("unknown-key", edit("topics.yaml", "    summary: Alpha", "    summry: oops\n    summary: Alpha"),
     "topics.yaml", "summry", "unknown key 'summry'"),
    ("missing-field", edit("topics.yaml", "    summary: Beta is a made-up storm of signals.\n", ""),
     "topics.yaml", "id: beta", "missing required field 'summary'"),
    ("duplicate-topic-id-across-files", write("zz-more.yaml", "topics:\n  - id: alpha\n    title: Again\n    summary: x\n    sources: [src-a]\n"),
     "zz-more.yaml", "id: alpha", "name 'alpha' of topic 'alpha' is already used by topic 'alpha' (topics.yaml:2)"),
    ("duplicate-alias", edit("topics.yaml", "aliases: [beta, storm]", "aliases: [beta, storm, AS]"),
     "topics.yaml", "aliases: [beta, storm, AS]", "name 'AS' of topic 'beta' is already used by topic 'alpha'"),
    ("alias-normalises-to-other", edit("topics.yaml", "aliases: [beta, storm]", "aliases: [beta, Alpha-Syndrome]"),
     "topics.yaml", "Alpha-Syndrome", "name 'Alpha-Syndrome' of topic 'beta' is already used"),
    ("dangling-source", edit("topics.yaml", "    sources: [src-b]\ncomparisons", "    sources: [src-z]\ncomparisons"),
     "topics.yaml", "src-z", "cites source 'src-z', which no file defines"),
    ("dangling-note-source", edit("topics.yaml", "            sources: [src-b]", "            sources: [nope]"),
     "topics.yaml", "[nope]", "section 'symptoms' of topic 'alpha' cites source 'nope'"),
    ("fact-too-long", edit("topics.yaml", "text: Alpha usually starts with a fever.", "text: " + "x" * 201),
     "topics.yaml", "xxxx", "text is 201 characters; the limit is 200: shorten it"),
    ("wrong-type-number", edit("topics.yaml", "title: Beta storm", "title: 42"),
     "topics.yaml", "title: 42", "topics[1].title (in topic 'beta'): expected text, got a number"),
    ("yaml-boolean-id", edit("sources.yaml", "id: src-a", "id: yes"),
     "sources.yaml", "id: yes", "put the value in quotes"),
    ("list-expected", edit("topics.yaml", "aliases: [beta, storm]", "aliases: beta"),
     "topics.yaml", "aliases: beta", "expected a list, got text"),
    ("bad-id", edit("topics.yaml", "id: beta\n", "id: Beta Storm\n"),
     "topics.yaml", "id: Beta Storm", "'Beta Storm' is not a valid id"),
    ("syntax-error", edit("topics.yaml", "    title: Beta storm", "    title: [unclosed"),
     "topics.yaml", None, "YAML syntax error"),
    ("duplicate-key", edit("topics.yaml", "    title: Beta storm", "    title: Beta storm\n    title: Beta again"),
     "topics.yaml", "Beta again", "duplicate key 'title'"),
    ("no-pack-info", lambda root: (root / "pack.yaml").unlink(),
     None, None, "no file defines `pack:`"),
    ("two-pack-infos", write("zz-other.yaml", "pack:\n  id: x\n  name: X\n  version: '1'\n  description: d\n  disclaimer: not medical advice\n"),
     "zz-other.yaml", "id: x", "`pack:` is already defined in pack.yaml"),
    ("disclaimer-without-advice", edit("pack.yaml", "Test content only; not medical advice.", "Test content only."),
     "pack.yaml", "disclaimer:", "disclaimer must say"),
    ("default-comparison-missing", edit("pack.yaml", "default_comparison: alpha-vs-beta", "default_comparison: nope"),
     "pack.yaml", "default_comparison", "default_comparison 'nope' is not a comparison id"),
    ("comparison-unknown-topic", edit("topics.yaml", "    right: beta", "    right: gamma"),
     "topics.yaml", "right: gamma", "refers to topic 'gamma', which no file defines"),
    ("duplicate-aspect-alias", edit("topics.yaml", "aliases: [cause, causes]", "aliases: [cause, severe]"),
     "topics.yaml", "[cause, severe]", "aspect name 'severe' of aspect 'trigger'"),
    ("empty-file", write("empty.yaml", "# nothing here\n"),
     "empty.yaml", None, "file is empty"),
    ("top-level-list", write("list.yaml", "- a\n- b\n"),
     "list.yaml", None, "top level must be a mapping"),
    ("not-utf8", lambda root: (root / "bad.yaml").write_bytes(b"topics: \xff\xfe\n"),
     "bad.yaml", None, "not UTF-8"),
    ("bad-url", edit("sources.yaml", "url: https://example.org/b", "url: example.org/b"),
     "sources.yaml", "url:", "is not a web address"),
    ("empty-alias", edit("topics.yaml", "aliases: [beta, storm]", "aliases: [beta, '---']"),
     "topics.yaml", "'---'", "has no letters or digits"),
]


@pytest.mark.parametrize(("mutate", "file", "line_text", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_pack_is_refused_with_file_line_and_fix(pack: Path, mutate, file, line_text, message) -> None:
    assert_refused(pack, mutate, file, line_text, message)


def assert_refused(pack: Path, mutate: Callable[[Path], None], file: str | None, line_text: str | None, message: str) -> None:
    """After `mutate`, loading fails with a problem containing `message`, in `file`, on the line
    holding `line_text`."""
    mutate(pack)
    with pytest.raises(PackError) as info:
        load_pack(pack)
    problems = info.value.problems
    matching = [p for p in problems if message in p.message]
    assert matching, f"expected {message!r} in {[str(p) for p in problems]}"
    problem = matching[0]
    if file is not None:
        assert problem.file == file
    if line_text is not None:
        assert problem.line == line_of(pack, file, line_text)


def test_valid_mini_pack_loads() -> None:
    pack = load_pack(MINI)
    assert pack.info.id == "mini"
    assert [t.id for t in pack.topics] == ["alpha", "beta"]
    assert len(pack.facts) == 3


def test_every_problem_is_reported_not_just_the_first(pack: Path) -> None:
    edit("topics.yaml", "title: Beta storm", "title: 42")(pack)
    edit("sources.yaml", "title: Source A", "titel: Source A")(pack)
    with pytest.raises(PackError) as info:
        load_pack(pack)
    files = {p.file for p in info.value.problems}
    assert {"topics.yaml", "sources.yaml"} <= files


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="does not exist"):
        load_pack(tmp_path / "nowhere")


def test_directory_without_yaml(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="no .yaml files"):
        load_pack(tmp_path)


def test_unsafe_yaml_tags_are_refused(pack: Path) -> None:
    write("evil.yaml", "topics: !!python/object/apply:os.system ['echo pwned']\n")(pack)
    with pytest.raises(PackError) as info:
        load_pack(pack)
    assert any(p.file == "evil.yaml" and "YAML" in p.message for p in info.value.problems)


def test_content_dir_comes_from_env_not_cwd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CYTOBOT_CONTENT_DIR", raising=False)
    assert content_dir_from_env() == bundled_content_dir()
    assert (bundled_content_dir() / "pack.yaml").is_file()
    monkeypatch.setenv("CYTOBOT_CONTENT_DIR", str(MINI))
    assert content_dir_from_env() == MINI.resolve()
