"""Ward questions (issue 14): management questions reach the ward topics, a dosing question the
pack cannot answer says so, free-text findings get the `grade` line to check (never a grade),
and cards carry the professionals' disclaimer and the pack's "as of" date where they quote a
label.

The table tests/data/ward_questions.yaml runs on two packs: the bundled pack (its share is
printed by `make test`, and asserted once every ward topic is in it) and the bundled pack plus
the stand-in topics of tests/data/wardpack/ for those it lacks (asserted now).
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.engine import Engine
from bot.loader import bundled_content_dir, load_pack
from bot.reply import CardKind, Reply
from tests.conftest import FIXED_NOW

DATA = Path(__file__).parent / "data"
TABLE = yaml.safe_load((DATA / "ward_questions.yaml").read_text(encoding="utf-8"))["questions"]
WARD_TOPICS = sorted(p.stem for p in (DATA / "wardpack").glob("*.yaml"))
GOAL = 0.90
RESULTS: dict[str, str] = {}  # read by the terminal summary in conftest.py
OFFER_TITLE = "check these answers first"
LINE_FIELD = "The line to check, complete and type"


def _engine(directory: Path) -> Engine:
    return Engine.load(directory, clock=lambda: FIXED_NOW, rng=random.Random(7))


@pytest.fixture(scope="module")
def ward_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled pack plus a stand-in for each ward topic it lacks. A stand-in's id may be an
    alias of an existing topic ("bispecifics" of car-t); that alias is dropped in the copy, as
    the merge of the real topic has to."""
    root = tmp_path_factory.mktemp("ward") / "pack"
    shutil.copytree(bundled_content_dir(), root)
    have = {t.id for t in load_pack(bundled_content_dir()).topics}
    added = [t for t in WARD_TOPICS if t not in have]
    for tid in added:
        shutil.copy(DATA / "wardpack" / f"{tid}.yaml", root / "topics" / f"{tid}.yaml")
    for path in (root / "topics").glob("*.yaml"):
        if path.stem in added:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for topic in data.get("topics", ()):
            kept = [a for a in topic.get("aliases", []) if a.casefold() not in added]
            if len(kept) != len(topic.get("aliases", [])):
                topic["aliases"] = kept
                path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def ward(ward_dir: Path) -> Engine:
    return _engine(ward_dir)


def answered(reply: Reply) -> tuple[str, ...]:
    """What a reply answers with first, as a comparable tuple."""
    first = reply.cards[0]
    if reply.is_error:
        lacking = re.match(r"The pack has no (\w+) for", first.body)
        if lacking:
            return ("lacking", *sorted(set(re.findall(r"topic ([a-z0-9-]+)", reply.text))))
        return ("not-covered",)
    if first.title.endswith(OFFER_TITLE):
        line = next(f.value for f in first.fields if f.name == LINE_FIELD).split()
        return ("offer", line[2], *line[3:])
    return tuple(reply.command.split())


def right(got: tuple[str, ...], expect: str) -> bool:
    want = tuple(expect.split())
    if want[0] == "lacking":
        return got[0] == "lacking" and want[1] in got[1:]
    if want[0] == "offer":
        return got[:2] == want[:2] and set(want[2:]) <= set(got[2:])
    if want[0] in ("topic", "fact", "compare", "grade"):
        return got == want
    return got[:2] == ("topic", want[0])  # a topic id: its card or any of its sections


def _share(engine: Engine) -> tuple[float, list[str]]:
    misses = []
    for row in TABLE:
        got = answered(engine.execute(row["q"]))
        if not any(right(got, e) for e in row["expect"]):
            misses.append(f"{row['q']!r} -> {' '.join(got)}, expected one of {row['expect']}")
    return (len(TABLE) - len(misses)) / len(TABLE), misses


def test_the_table_is_a_ward_night_and_names_the_ward_topics() -> None:
    assert 30 <= len(TABLE) <= 50
    named = {e.split()[0] for row in TABLE for e in row["expect"]}
    assert set(WARD_TOPICS) <= named  # every ward topic is asked about
    assert {"lacking", "offer"} <= named


def test_share_on_the_ward_pack_reaches_the_goal(ward: Engine) -> None:
    share, misses = _share(ward)
    RESULTS["with stand-ins (tests/data/wardpack)"] = f"{share:.0%} right first ({round(share * len(TABLE))} of {len(TABLE)})"
    assert share >= GOAL, "\n".join(misses)


def test_share_on_the_bundled_pack(engine: Engine) -> None:
    """Reported always; asserted once the bundled pack has every ward topic (after the merge)."""
    share, misses = _share(engine)
    missing = [t for t in WARD_TOPICS if t not in engine.catalog.topics]
    RESULTS["bundled pack"] = (f"{share:.0%} right first ({round(share * len(TABLE))} of {len(TABLE)})"
                               + (f"; ward topics not in it yet: {', '.join(missing)}" if missing else ""))
    if missing:
        pytest.skip(f"the bundled pack lacks {', '.join(missing)}: share reported, not asserted")
    assert share >= GOAL, "\n".join(misses)


def test_icans_questions_never_land_on_a_crs_or_anakinra_card(ward: Engine) -> None:
    for row in TABLE:
        for never in row.get("never", ()):
            got = answered(ward.execute(row["q"]))
            assert got[:2] != ("topic", never), (row["q"], got)


# --------------------------------------------------------------------------- dosing the pack lacks


@pytest.mark.parametrize("question, drug", [("siltuximab dose", "siltuximab"), ("anakinra dose", "anakinra"),
                                            ("what dose of emapalumab", "emapalumab")])
def test_a_dosing_question_the_pack_cannot_answer_says_so(engine: Engine, question: str, drug: str) -> None:
    reply = engine.execute(question)
    assert reply.is_error and all(c.kind is not CardKind.TOPIC for c in reply.cards)
    assert reply.cards[0].body.startswith(f"The pack has no dosing for {drug}")
    assert f"/crs topic {drug}" in reply.text  # what the pack holds instead, to type


def test_a_dosing_question_finds_the_drugs_dosing_topic_even_with_more_words(ward: Engine) -> None:
    for question in ("tocilizumab dose", "dose of tocilizumab for a child", "tocilizumab dose in children"):
        assert answered(ward.execute(question))[:2] == ("topic", "tocilizumab-dosing"), question


def test_the_definition_questions_are_unchanged(engine: Engine) -> None:
    assert engine.execute("what is siltuximab").command == "topic siltuximab"


# --------------------------------------------------------------------------- free-text findings


def _offer(engine: Engine, question: str) -> tuple[Reply, dict[str, str]]:
    reply = engine.execute(question)
    assert not reply.is_error and reply.cards[0].title.endswith(OFFER_TITLE), question
    got = answered(reply)
    return reply, dict(a.split("=", 1) for a in got[2:])


def test_findings_get_the_line_to_check_never_a_grade(engine: Engine) -> None:
    reply, answers = _offer(engine, "fever 39 on norepinephrine, what grade")
    assert answers == {"fever": "yes", "hypotension": "vasopressor", "hypoxia": "?", "treated": "?"}
    card = reply.cards[0]
    assert card.kind is CardKind.GRADE and not reply.actions and reply.command == ""
    assert not re.search(r"\bgrade [0-4]\b|No CRS", card.title + card.body)  # no grade is computed
    assert "“norepinephrine”" in card.plain_text()  # says what each answer was read from
    # the line, run as offered, asks for what is left instead of grading
    line = next(f.value for f in card.fields if f.name == LINE_FIELD)
    ran = engine.execute(line)
    assert ran.is_error and "Hypoxia" in ran.text


@pytest.mark.parametrize("question, read", [
    ("temp 38.5, 2 L nasal cannula, grade?", {"fever": "yes", "hypoxia": "low-flow"}),
    ("temp 38.2, 15 L non-rebreather, what grade", {"fever": "yes", "hypoxia": "high-flow"}),
    ("on cpap, fever 38, crs grade?", {"fever": "yes", "hypoxia": "positive-pressure"}),
    ("ice 6 and wakes to voice, what icans grade", {"ice": "6", "consciousness": "voice"}),
    ("seizure lasting 10 min, what grade", {"seizure": "prolonged"}),
])
def test_findings_are_read_from_the_scale(engine: Engine, question: str, read: dict[str, str]) -> None:
    _, answers = _offer(engine, question)
    assert {k: v for k, v in answers.items() if v != "?"} == read


@pytest.mark.parametrize("question, unread", [
    ("temp 37.5 on norepinephrine, what grade", "fever"),  # under the bound: not "no"
    ("fever 101 F on norepinephrine, grade", "fever"),  # another unit: never converted
    ("ice 1.0, what grade", "ice"),  # a decimal is never an ICE score
    ("ice 1,0 and seizure 10 min, what grade", "ice"),
    ("norepinephrine and phenylephrine, fever 39, what grade", "hypotension"),  # one or several?
    ("no vasopressors, fever 39, what grade", "hypotension"),  # negated: never "none"
    ("fever 39, off oxygen, what grade", "hypoxia"),
])
def test_nothing_that_could_under_grade_is_filled_in(engine: Engine, question: str, unread: str) -> None:
    _, answers = _offer(engine, question)
    assert answers.get(unread) == "?", answers
    scale = engine.catalog.scales["crs" if "hypotension" in answers else "icans"]
    for domain in scale.domains:  # an answer that adds nothing is never written down
        value = answers.get(domain.id, "?")
        assert value == "?" or next(v for v in domain.values if v.id == value).grade > 0


def test_findings_are_read_from_whatever_scale_the_pack_has() -> None:
    engine = _engine(DATA / "scalepack")
    _, answers = _offer(engine, "wild sway and loud, what grade")
    assert answers == {"sway": "wild", "noise": "loud", "standing": "?"}


def test_questions_about_grading_still_get_their_passage(engine: Engine) -> None:
    for question in ("how is CRS graded?", "what is grade 2 crs", "how is hypotension graded"):
        assert not engine.execute(question).cards[0].title.endswith(OFFER_TITLE), question


# --------------------------------------------------------------------------- disclaimer and currency


def test_the_disclaimer_is_for_professionals_and_points_to_the_protocol(engine: Engine) -> None:
    disclaimer = engine.execute("topic hlh").cards[0].footer.disclaimer
    for words in ("healthcare professionals", "decision aid", "not medical advice",
                  "institution's immune effector cell toxicity", "on-call team"):
        assert words in disclaimer, words


def test_about_shows_the_pack_date_and_version(engine: Engine) -> None:
    text = engine.execute("about").text
    assert "v1.2.0" in text and "Content as of: 2 December 2026" in text


def test_a_card_quoting_a_label_carries_the_date_and_one_without_does_not(engine: Engine) -> None:
    labelled = engine.execute("topic corticosteroids in-crs").cards[0].footer
    assert "yes-current" in {s.id for s in labelled.sources}  # the YESCARTA label
    assert labelled.disclaimer.startswith("Content as of 2 December 2026") and "[yes-current]" in labelled.disclaimer
    plain = engine.execute("topic hlh").cards[0].footer
    assert not any(s.label.endswith("Prescribing Information") for s in plain.sources)
    assert "Content as of" not in plain.disclaimer


def test_a_labels_revision_is_named_and_a_pack_without_a_date_says_none(tmp_path: Path) -> None:
    root = tmp_path / "pack"
    shutil.copytree(DATA / "minipack", root)
    sources = root / "sources.yaml"
    sources.write_text(sources.read_text(encoding="utf-8").replace(
        "    citation: Author A. A book about alpha. 2020.",
        "    citation: Author A. A book about alpha. 2020.\n    kind: label\n    revision: Revised 05/2025"),
        encoding="utf-8")
    undated = _engine(root)
    assert "Content as of" not in undated.execute("topic alpha").cards[0].footer.disclaimer
    pack = root / "pack.yaml"
    pack.write_text(pack.read_text(encoding="utf-8") + "  as_of: 2026-11-30\n", encoding="utf-8")
    footer = _engine(root).execute("topic alpha").cards[0].footer
    assert footer.disclaimer.startswith("Content as of 30 November 2026")
    assert "[src-a] Revised 05/2025" in footer.disclaimer


# --------------------------------------------------------------------------- synonyms in names


def test_a_name_written_with_a_synonyms_variant_still_names_its_passage(tmp_path: Path) -> None:
    """The question is read through the synonyms ("pyrexia" -> "fever"); so is every name, else
    an alias that says "pyrexia" could never match a question that does."""
    root = tmp_path / "pack"
    shutil.copytree(DATA / "minipack", root)
    (root / "delta.yaml").write_text(
        "topics:\n  - id: delta\n    title: Delta\n    aliases: [pyrexia clinic]\n"
        "    summary: A made-up place for test questions.\n    sources: [src-a]\n", encoding="utf-8")
    engine = _engine(root)
    assert engine.execute("pyrexia clinic").command == "topic delta"
    assert engine.execute("where is the fever clinic").command == "topic delta"
