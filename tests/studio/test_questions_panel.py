"""The question box and the question-file panel, through the real engine on the bundled pack."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.studio.questions import (THRESHOLD, QuestionFileError, canonical, explain, parse_file, score,
                                       score_file)
from bot.engine import Engine
from tests import test_questions

TABLE = Path(__file__).resolve().parents[1] / "data" / "questions.yaml"


def test_canonical_reads_a_comparison_in_either_order() -> None:
    assert canonical("compare crs cytokine-storm severity") == canonical("compare cytokine-storm crs severity")
    assert canonical("compare crs cytokine-storm") != canonical("compare crs cytokine-storm severity")
    assert canonical("topic crs") != canonical("topic crs mechanism")


def test_a_small_file_is_scored_with_each_miss(engine: Engine) -> None:
    text = """
in_scope:
  - q: what is HLH
    expect: [topic hlh]
  - q: what is the difference between crs and cytokine storm?
    expect: [compare cytokine-storm crs]
  - q: what is HLH
    expect: [topic crs]
out_of_scope:
  - what is the capital of France?
  - what is HLH
"""
    results = score_file(engine, text)
    assert [r.name for r in results] == ["in_scope", "out_of_scope"]
    in_scope, out = results
    assert (in_scope.total, in_scope.right) == (3, 2) and in_scope.share == pytest.approx(2 / 3)
    assert [(m.question, m.got, m.expected) for m in in_scope.misses] == [("what is HLH", "topic hlh", ("topic crs",))]
    assert out.out_of_scope and out.total == 2
    assert [(m.question, m.got) for m in out.misses] == [("what is HLH", "topic hlh")]  # a confident answer


def test_the_bundled_question_file_scores_as_the_test_suite_does(engine: Engine) -> None:
    """The panel's share right first on tests/data/questions.yaml is the one tests/test_questions.py reports."""
    groups = parse_file(TABLE.read_text(encoding="utf-8"))
    results = {r.name: r for r in score(engine, groups)}
    for group in ("in_scope", "held_out"):
        share, misses = test_questions._share(engine, group)
        assert results[group].share == pytest.approx(share)
        assert len(results[group].misses) == len(misses)
    assert results["out_of_scope"].misses == ()


@pytest.mark.parametrize("text, says", [
    ("in_scope: [", "not valid YAML at line"),
    ("- just a list", "No question groups found"),
    ("in_scope:\n  - q: what is HLH\n", "Row 1 of `in_scope` needs `q:`"),
    ("in_scope:\n  - q: what is HLH\n    expect: []\n", "Row 1 of `in_scope` needs"),
    ("out_of_scope:\n  - q: nope\n", "`out_of_scope` must be a list of questions"),
    ("in_scope: 3", "`in_scope` must be a list of rows"),
])
def test_a_wrong_file_gets_a_clear_error_saying_what_to_write(text: str, says: str) -> None:
    with pytest.raises(QuestionFileError) as info:
        parse_file(text)
    assert says in str(info.value)
    assert "`- q: what is HLH`" in str(info.value) or "smaller files" in str(info.value)


def test_an_oversized_file_is_refused() -> None:
    with pytest.raises(QuestionFileError, match="over 1,000,000 bytes"):
        parse_file("in_scope: []\n" + "#" * 1_000_001)


def test_explain_names_the_card_the_confidence_and_the_words(engine: Engine) -> None:
    e = explain(engine, "when was tocilizumab approved?")
    assert e.read_as == "question" and e.kind == "answer"
    assert e.landed == engine.execute("when was tocilizumab approved?").command
    assert e.landed in ("topic tocilizumab approval", "fact tocilizumab-approval")
    assert e.confidence is not None and e.confidence >= THRESHOLD
    roles = {w.word: w.role for w in e.words}
    assert roles["tocilizumab"] == "name" and roles["was"] == "filler"
    if e.landed == "topic tocilizumab approval":
        assert roles["approved"] == "name"  # the section "Approval" names it (same stem)


def test_explain_an_unanswered_question_shows_the_confidence_below_the_threshold(engine: Engine) -> None:
    e = explain(engine, "what is the capital of France?")
    assert e.landed == "not-covered" and e.kind == "not_covered"
    assert e.confidence is None or e.confidence < THRESHOLD


def test_explain_a_command_says_it_was_read_as_one(engine: Engine) -> None:
    e = explain(engine, "topic crs mechanism")
    assert (e.read_as, e.landed, e.confidence) == ("command", "topic crs mechanism", None)


def test_explain_lists_runners_up_as_command_lines(engine: Engine) -> None:
    e = explain(engine, "what is hlh")
    assert e.landed == "topic hlh"
    # Each runner-up is a command line that opens a passage of its own; which passages come
    # second depends on the pack (27 topics now: the CRS-or-sepsis card has an HLH-like section).
    assert e.runners_up and e.landed not in e.runners_up and len(set(e.runners_up)) == len(e.runners_up)
    for line in e.runners_up:
        assert line.split()[0] in ("topic", "fact", "compare"), line
        assert not engine.execute(line).is_error, line
    assert any(r.startswith("topic hlh ") for r in e.runners_up)  # a section of the same topic is among them
