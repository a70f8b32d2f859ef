"""Hostile and broken packs: each is refused with one clear problem line, in bounded time and memory.

With hot reload a pack edit reaches a running bot, so these are ways to take it down unless
the loader stops them. Where memory is what is at stake, the check runs as a real
`cytobot content check` subprocess under an address-space limit."""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.loader import PackError, PackProblem, load_pack
from bot.reading import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, printable
from tests.conftest import MINI_PACK

CYTOBOT = [sys.executable, "-m", "adapters.cli"]
ROOT = Path(__file__).resolve().parents[1]
# The classic "billion laughs": nine levels of nine aliases expand to 9**9 (387 million) strings.
ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "topics: [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)
MEMORY_LIMIT = 1 << 30  # 1 GiB of address space: the bomb alone would need hundreds of GiB


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(MINI_PACK, target)
    return target


def problems_of(root: Path) -> list[PackProblem]:
    with pytest.raises(PackError) as info:
        load_pack(root)
    return info.value.problems


def only_problem_for(root: Path, name: str) -> PackProblem:
    found = [p for p in problems_of(root) if p.file == name]
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (60, 60))


def content_check(root: Path) -> subprocess.CompletedProcess[str]:
    """`cytobot content check` in a child process that may use at most MEMORY_LIMIT bytes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([*CYTOBOT, "content", "check", str(root)], capture_output=True, text=True, env=env,
                          timeout=120, preexec_fn=_limits, cwd="/")


def test_alias_bomb_is_refused_in_bounded_memory(pack: Path) -> None:
    assert len(ALIAS_BOMB) < 400
    (pack / "bomb.yaml").write_text(ALIAS_BOMB)
    start = time.monotonic()
    result = content_check(pack)
    assert result.returncode == 1, result.stderr
    assert "MemoryError" not in result.stderr and "Traceback" not in result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("bomb.yaml")]
    assert re.fullmatch(rf"bomb\.yaml:\d+: file expands to more than {MAX_NODES:,} keys and values through its "
                        r"YAML aliases \(\*name\): use fewer aliases or write the values out", line), line
    assert time.monotonic() - start < 30


def test_a_file_of_a_million_tiny_values_is_refused_in_bounded_memory(pack: Path) -> None:
    (pack / "many.yaml").write_text("topics: [" + "1," * 990_000 + "1]\n")  # 2 MB, under the size limit
    result = content_check(pack)
    assert result.returncode == 1, result.stderr
    assert f"many.yaml: file holds more than {MAX_NODES:,} keys and values: split it" in result.stdout.splitlines()


def test_a_few_aliases_are_written_out_as_if_repeated(pack: Path) -> None:
    """Aliases that expand to little are fine: a pack may reuse one note on several facts."""
    text = (pack / "topics.yaml").read_text()
    text = text.replace("          - text: Beta authors disagree about fatigue.", "          - &disagree\n            text: Beta authors disagree about fatigue.")
    text = text.replace("    text: Beta involves many signals.", "    text: Beta involves many signals.\n    notes: [*disagree]")
    (pack / "topics.yaml").write_text(text)
    loaded = load_pack(pack)
    [fact] = [f for f in loaded.facts if f.id == "beta-signals"]
    assert [n.text for n in fact.notes] == ["Beta authors disagree about fatigue."]


def test_a_recursive_alias_is_refused(pack: Path) -> None:
    (pack / "loop.yaml").write_text("topics: &x [a, [b, *x]]\n")
    assert only_problem_for(pack, "loop.yaml").message == \
        "a YAML alias (*name) refers to a list or mapping that contains it: write the value out"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 995, 999])
@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_refused_not_a_recursion_error(pack: Path, depth: int, style: str) -> None:
    if style == "flow":
        text = "topics: " + "[" * depth + "]" * depth + "\n"
    else:
        text = "topics:\n" + "".join("  " * i + "-\n" for i in range(1, depth))
    (pack / "deep.yaml").write_text(text)
    problem = only_problem_for(pack, "deep.yaml")
    assert problem.message == f"nested more than {MAX_DEPTH} levels deep: flatten it"


def test_beyond_libyaml_depth_is_the_same_problem(pack: Path) -> None:
    (pack / "deeper.yaml").write_text("topics: " + "[" * 5000 + "]" * 5000 + "\n")
    assert only_problem_for(pack, "deeper.yaml").message == f"nested more than {MAX_DEPTH} levels deep: flatten it"


def test_a_file_linked_from_outside_the_pack_is_refused(pack: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text("sources:\n  - {id: leaked, title: Secret, citation: From outside}\n")
    (pack / "evil.yaml").symlink_to(outside / "secret.yaml")
    (pack / "zero.yaml").symlink_to("/dev/zero")
    (pack / "more").symlink_to(outside, target_is_directory=True)
    problems = {p.file: p.message for p in problems_of(pack)}
    assert problems["evil.yaml"] == "is a link to a file outside the pack: copy the file into the pack instead"
    assert problems["zero.yaml"] == "is a link to a file outside the pack: copy the file into the pack instead"
    assert problems["more"].startswith("is a link to a directory outside the pack")


def test_links_inside_the_pack_are_followed_as_in_a_configmap_volume(pack: Path) -> None:
    """Kubernetes mounts a ConfigMap as `name -> ..data/name` with `..data` a hidden directory."""
    data = pack / "..2026_01_01" / "files"
    data.mkdir(parents=True)
    for name in ("topics.yaml", "sources.yaml"):
        shutil.move(pack / name, data / name)
        (pack / name).symlink_to(Path("..2026_01_01") / "files" / name)
    loaded = load_pack(pack)
    assert sorted(loaded.files) == sorted(p.name for p in MINI_PACK.iterdir() if p.suffix == ".yaml")
    assert [t.id for t in loaded.topics] == ["alpha", "beta"]


def test_hidden_files_are_skipped(pack: Path) -> None:
    (pack / ".topics.yaml.swp.yaml").write_text("not: [valid")
    assert load_pack(pack).info.id == "mini"


def test_an_oversized_file_is_refused_without_reading_it_all(pack: Path) -> None:
    (pack / "big.yaml").write_text("# " + "x" * MAX_FILE_BYTES + "\n")
    assert only_problem_for(pack, "big.yaml").message == f"file is larger than {MAX_FILE_BYTES:,} bytes: split it"


def test_a_fifo_is_refused_without_hanging(pack: Path) -> None:
    os.mkfifo(pack / "pipe.yaml")
    start = time.monotonic()
    assert only_problem_for(pack, "pipe.yaml").message == "is not a regular file: replace it with a YAML file"
    assert time.monotonic() - start < 10


@pytest.mark.parametrize(
    ("yaml_text", "shown"),
    [
        ('    summary: "Alpha \\e[2Jcleared"\n', "U+001B"),
        ('    summary: "Alpha \\e]0;pwned\\a title"\n', "U+001B"),
        ('    summary: "Alpha \\x9b31m"\n', "U+009B"),
        ('    summary: "Alpha\\rBeta"\n', "U+000D"),
        ("    summary: Alpha \u202egnirts desrever\n", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ('    "summ\\e[31mary": x\n', "U+001B"),
    ],
)
def test_terminal_escapes_in_pack_text_are_refused(pack: Path, yaml_text: str, shown: str) -> None:
    path = pack / "topics.yaml"
    text = path.read_text()
    old = "    summary: Beta is a made-up storm of signals.\n"
    path.write_text(text.replace(old, yaml_text))
    problem = only_problem_for(pack, "topics.yaml")
    assert problem.line == text[: text.index(old)].count("\n") + 1
    assert problem.message.startswith(f"text contains the control character {shown}: remove it")
    assert "\x1b" not in str(problem) and "\u202e" not in str(problem)


def test_problem_lines_never_carry_raw_control_characters(pack: Path) -> None:
    (pack / "bad\x1b]0;x\x07name.yaml").write_text("topics: [oops\n")
    lines = [str(p) for p in problems_of(pack)]
    assert any(line.startswith("bad\\x1b]0;x\\x07name.yaml") for line in lines), lines
    assert not any("\x1b" in line or "\x07" in line for line in lines)
    assert printable("a\x1b[2Jb\u202ec") == "a\\x1b[2Jb\\u202ec"


def test_a_flood_of_problems_is_listed_up_to_a_limit(pack: Path) -> None:
    (pack / "flood.yaml").write_text("topics: [" + "1," * 500 + "1]\n")
    problems = problems_of(pack)
    assert len(problems) == 201
    assert problems[-1].message.startswith("... and ") and "more problems" in problems[-1].message


def test_the_whole_pack_has_a_value_budget_too(pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.reading as reading

    monkeypatch.setattr(reading, "MAX_PACK_NODES", 150)  # the mini pack holds about 130 keys and values
    (pack / "zz.yaml").write_text("sources:\n" + "".join(f"  - {{id: s{i}, title: T, citation: C}}\n" for i in range(20)))
    messages = {p.message for p in problems_of(pack)}
    assert "the pack holds more than 150 keys and values in all: make it smaller" in messages
