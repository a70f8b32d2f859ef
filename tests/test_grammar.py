"""The input grammar: prefixes as people type them, mistyped command words, small talk, and the
messages of a lookup that misses. Everything goes through `Engine.handle` (via `execute`)."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from bot.reply import CardKind


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("crs fact", "fact "), ("!crs fact", "fact "), ("/ crs fact", "fact "), ("/crs fact", "fact "), ("!CRS fact", "fact "),
        ("crs about", "about"), ("crs topic il6", "topic il-6"), ("/crs/topic il6", "topic il-6"),
        ("@cytobot topic il6", "topic il-6"), ("<@U024BE7LH> topic il6", "topic il-6"), ("<@123456789012345678> topic il6", "topic il-6"),
        ("<@!123456789012345678> topic il6", "topic il-6"), ("<@U024BE7LH> crs fact", "fact "),
        ("crs help", "help"), ("crs search fever", "search fever"), ("crs compare severity", "compare crs cytokine-storm severity"),
    ],
)
def test_prefixes_run_the_command(engine: Engine, line: str, command: str) -> None:
    reply = engine.execute(line)
    assert not reply.is_error, reply.text
    assert reply.command.startswith(command) if command.endswith(" ") else reply.command == command
    assert not reply.notice


@pytest.mark.parametrize(("line", "command"), [("crs", "topic crs"), ("crs symptoms", "topic crs symptoms"),
                                                ("/crs crs", "topic crs"), ("crs treatment", "topic crs treatment"),
                                                ("crs vs cytokine storm", "compare crs cytokine-storm")])
def test_the_bare_prefix_word_is_still_a_topic_when_no_command_follows(engine: Engine, line: str, command: str) -> None:
    assert engine.execute(line).command == command


def test_the_prefix_word_comes_from_the_engine_not_the_pack(catalog, mini_engine: Engine) -> None:
    other = Engine(catalog, prefix="/cyto")
    assert other.execute("cyto fact").command.startswith("fact ")
    assert other.execute("!cyto about").command == "about"
    assert other.execute("crs about").command == "topic crs"  # "crs" is only a topic here, not the prefix
    # A pack whose topic shares the prefix word: the same rules, nothing about CRS.
    alpha = Engine(mini_engine.catalog, prefix="/alpha")
    assert alpha.execute("alpha fact").command.startswith("fact ")
    assert alpha.execute("alpha").command == "topic alpha"
    assert alpha.execute("alpha symptoms").command == "topic alpha symptoms"


@pytest.mark.parametrize(
    ("line", "command", "typed", "read"),
    [
        ("serch fever", "search fever", "serch", "search"),
        ("comapre severity", "compare crs cytokine-storm severity", "comapre", "compare"),
        ("fcat", "fact ", "fcat", "fact"), ("hepl", "help", "hepl", "help"), ("lsit", "list", "lsit", "list"),
        ("topci il6", "topic il-6", "topci", "topic"), ("sourse lee19", "sources lee19", "sourse", "sources"),
    ],
)
def test_a_mistyped_command_with_one_clear_correction_runs_and_says_so(engine: Engine, line, command, typed, read) -> None:
    reply = engine.execute(line)
    assert not reply.is_error, reply.text
    assert reply.command.startswith(command) if command.endswith(" ") else reply.command == command
    assert typed in reply.notice and f"“{read}”" in reply.notice
    assert reply.text.startswith(reply.notice)


def test_without_one_clear_correction_it_asks_did_you_mean(engine: Engine) -> None:
    reply = engine.execute("srch fever")  # two edits from "search": too far to run, close enough to offer
    assert reply.is_error and reply.cards[0].title == "Did you mean…"
    assert "/crs search <words>" in reply.text


@pytest.mark.parametrize("line", ["what is crs", "hello", "fever", "thanks", "steroids", "define crs"])
def test_plain_words_and_pack_words_are_never_read_as_typos(engine: Engine, line: str) -> None:
    assert not engine.execute(line).notice


def test_a_long_line_close_to_a_command_is_a_question_first(engine: Engine) -> None:
    reply = engine.execute("serch what are the symptoms of crs")
    assert not reply.notice


@pytest.mark.parametrize(("line", "title"), [("hi", "Hello!"), ("Hello there!", "Hello!"), ("good morning", "Hello!"),
                                             ("thanks", "You're welcome"), ("thank you so much!", "You're welcome")])
def test_small_talk_gets_a_short_friendly_reply_pointing_at_help(engine: Engine, line: str, title: str) -> None:
    reply = engine.execute(line)
    card = reply.cards[0]
    assert not reply.is_error and card.title == title and card.kind is CardKind.HELP
    assert "/crs help" in card.body and not reply.actions
    assert "not medical advice" in card.footer.disclaimer


def test_a_greeting_before_a_question_is_only_politeness(engine: Engine) -> None:
    assert engine.execute("hi, what is HLH?").command == "topic hlh"
    assert "Hello" in engine.execute("hi").cards[0].title


def test_a_command_word_opening_a_sentence_falls_back_to_the_question(engine: Engine) -> None:
    assert engine.execute("compare the monitoring of CRS and cytokine storm").command.endswith(" monitoring")
    assert engine.execute("compare how severe crs and cytokine storm are").command.endswith(" severity")
    assert engine.execute("compare colour").is_error  # a short command that misses stays its own error


def test_aspect_not_found_lists_the_aspects(engine: Engine) -> None:
    reply = engine.execute("compare colour")
    assert reply.cards[0].title == "Aspect not found"
    for aspect in engine.catalog.default_comparison.aspects:
        assert aspect.id in reply.cards[0].body


def test_topic_not_found_offers_matching_passages(engine: Engine) -> None:
    reply = engine.execute("topic okt3")  # named in passages, not a topic
    assert reply.cards[0].title == "Topic not found"
    assert "/crs fact okt3-coinage" in reply.text
    assert engine.execute("topic qwxzzy").cards[0].title == "Topic not found"


def test_ask_is_a_command_too(engine: Engine) -> None:
    assert engine.execute("ask what is HLH").command == "topic hlh"
    assert engine.invoke("ask", {"question": "what is HLH"}).command == "topic hlh"
    empty = engine.execute("ask")
    assert empty.is_error and empty.cards[0].title == "Question needed"
    assert engine.execute("what?").is_error


def test_questions_without_the_ask_command_are_unknown_commands(catalog) -> None:
    engine = Engine(catalog, questions=None)
    reply = engine.execute("what is HLH")
    assert reply.is_error and reply.cards[0].title == "Unknown command"


def test_logs_never_hold_the_question(engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from bot.ask import Asker

    with caplog.at_level("DEBUG"):
        engine.execute("does patient 4711 with a fever of 39.5 have CRS?")
    assert "4711" not in caplog.text

    def boom(self, question):
        raise RuntimeError("kaput")

    monkeypatch.setattr(Asker, "ask", boom)
    with caplog.at_level("DEBUG"):
        reply = engine.execute("does patient 4711 have CRS?")
    assert reply.is_error and "went wrong" in reply.cards[0].body
    assert "unexpected error answering a typed line" in caplog.text and "4711" not in caplog.text


@pytest.mark.parametrize(
    ("question", "command"),
    [
        ("what is alpha?", "topic alpha"), ("tell me about the beta storm", "topic beta"),
        ("what are the signs of alpha syndrome", "topic alpha symptoms"),
        ("how do alpha and beta differ in severity?", "compare alpha beta severity"),
        ("what is the difference between beta and alpha", "compare beta alpha"),
        ("is low blood pressure a sign of alpha?", "topic alpha symptoms"),  # a synonym of the mini pack: hypotension
    ],
)
def test_questions_work_on_any_pack(mini_engine: Engine, question: str, command: str) -> None:
    reply = mini_engine.execute(question)
    assert reply.command == command, reply.text


@pytest.mark.parametrize("question", ["what is the capital of France?", "how do I bake bread", "what is gamma"])
def test_any_pack_says_what_it_does_not_cover(mini_engine: Engine, question: str) -> None:
    reply = mini_engine.execute(question)
    assert reply.is_error and reply.cards[0].title == "Not covered by this pack"
    assert "Mini pack does not cover that" in reply.cards[0].body


def test_synonyms_come_from_the_pack(mini_engine: Engine, tmp_path) -> None:
    import shutil

    from tests.conftest import MINI_PACK

    question = "does alpha start with pyrexia?"  # the mini pack's synonyms read pyrexia as fever
    assert mini_engine.execute(question).command in {"fact alpha-fever", "topic alpha"}
    shutil.copytree(MINI_PACK, tmp_path / "pack")
    (tmp_path / "pack" / "synonyms.yaml").unlink()
    without = Engine.load(tmp_path / "pack")
    assert without.execute(question).is_error  # "pyrexia" means nothing to a pack without that synonym
