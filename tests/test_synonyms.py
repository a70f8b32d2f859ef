"""Synonyms are pack data, validated like the rest: file, line and what to change."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.loader import PackError, load_pack
from tests.test_loader import MINI, pack  # noqa: F401  (`pack`: a copy of the mini pack to break)


def _problems(root: Path, text: str) -> list[str]:
    (root / "zz-synonyms.yaml").write_text(text)
    with pytest.raises(PackError) as info:
        load_pack(root)
    return [str(p) for p in info.value.problems]


def test_the_mini_and_bundled_packs_load_their_synonyms(bundled_pack) -> None:
    mini = load_pack(MINI)
    assert [(s.term, s.variants) for s in mini.synonyms] == [
        ("hypotension", ("low blood pressure", "low BP")), ("fever", ("pyrexia",))]
    assert any(s.term == "corticosteroids" and "steroids" in s.variants for s in bundled_pack.synonyms)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a variant leading to two terms
        ("synonyms:\n  - term: fatigue\n    variants: [pyrexia]\n",
         "zz-synonyms.yaml:3: synonym variant 'pyrexia' of synonym 'fatigue' is already used by synonym 'fever' (synonyms.yaml:5)"),
        # a variant that is its term, once normalised
        ("synonyms:\n  - term: Fatigue\n    variants: [tired, FATIGUE]\n",
         "zz-synonyms.yaml:3: variant 'FATIGUE' is the term 'Fatigue' itself: remove it"),
        # a chain: a term that is another entry's variant
        ("synonyms:\n  - term: Infections\n    variants: [infection]\n  - term: medicines\n    variants: [infections, drugs]\n",
         "variant 'Infections' of synonym 'medicines' is itself a synonym term"),
        # a term the pack never uses
        ("synonyms:\n  - term: cytokine storm syndrome\n    variants: [css]\n",
         "zz-synonyms.yaml:2: term 'cytokine storm syndrome' appears nowhere in the pack"),
        # the same term listed twice
        ("synonyms:\n  - term: Fever\n    variants: [febrile]\n",
         "zz-synonyms.yaml:2: synonym term 'Fever' of synonym 'Fever' is already used by synonym 'fever' (synonyms.yaml:4)"),
        # shape problems, through the schema
        ("synonyms:\n  - term: fatigue\n",
         "zz-synonyms.yaml:2: synonyms[0].variants: missing required field 'variants'"),
        ("synonyms:\n  - term: fatigue\n    variants: []\n",
         "zz-synonyms.yaml:3: synonyms[0].variants: needs at least 1 item(s)"),
        ("synonyms:\n  - term: fatigue\n    variants: [tired]\n    note: x\n",
         "unknown key 'note'"),
    ],
    ids=["variant-of-two-terms", "variant-is-term", "chain", "term-not-in-pack", "term-twice", "no-variants",
         "empty-variants", "unknown-key"],
)
def test_bad_synonyms_are_refused_with_file_and_line(pack: Path, text: str, expected: str) -> None:
    problems = _problems(pack, text)
    assert any(expected in p for p in problems), problems


def test_a_term_matches_whatever_separates_its_words(pack: Path) -> None:
    (pack / "zz-synonyms.yaml").write_text("synonyms:\n  - term: blood-pressure\n    variants: [bp]\n")
    assert load_pack(pack).synonyms[-1].term == "blood-pressure"  # the pack says "blood pressure"
