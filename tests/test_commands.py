"""Every command on the bundled pack: lookups by id, alias and typo; replies and errors."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bot.engine import Engine, ParamKind
from bot.reply import ActionKind, CardKind, Reply, Visibility
from tests.conftest import FIXED_NOW


def only_card(reply: Reply):
    assert len(reply.cards) == 1
    return reply.cards[0]


def assert_ok(reply: Reply) -> None:
    assert not reply.is_error, reply.text
    for card in reply.cards:
        assert "not medical advice" in card.footer.disclaimer


# ---------------------------------------------------------------- topic


@pytest.mark.parametrize(
    ("typed", "topic_id"),
    [
        ("IL-6", "il-6"), ("IL6", "il-6"), ("il 6", "il-6"), ("interleukin 6", "il-6"), ("interleukin-6", "il-6"),
        ("TNF alpha", "tnf-alpha"), ("TNF-a", "tnf-alpha"), ("tnfa", "tnf-alpha"),
        ("interferon gamma", "ifn-gamma"), ("IFN-g", "ifn-gamma"), ("IFN gamma", "ifn-gamma"),
        ("CRS", "crs"), ("cytokine release syndrome", "crs"),
        ("cytokine storm", "cytokine-storm"), ("Cytokine-Storm", "cytokine-storm"),
    ],
)
def test_topic_by_id_and_alias(engine: Engine, typed: str, topic_id: str) -> None:
    reply = engine.execute(f"topic {typed}")
    assert_ok(reply)
    assert reply.command == f"topic {topic_id}"
    card = only_card(reply)
    assert card.kind is CardKind.TOPIC
    assert card.title == engine.catalog.topics[topic_id].title
    assert card.body == engine.catalog.topics[topic_id].summary


@pytest.mark.parametrize(("typed", "topic_id"), [("cytokin storm", "cytokine-storm"), ("interleukin6", "il-6"), ("cytokine relase syndrome", "crs")])
def test_topic_typos_are_forgiven(engine: Engine, typed: str, topic_id: str) -> None:
    reply = engine.execute(f"topic {typed}")
    assert_ok(reply)
    assert reply.command == f"topic {topic_id}"


def test_define_is_an_alias_of_topic(engine: Engine) -> None:
    assert engine.execute("define IL-6").cards == engine.execute("topic IL-6").cards


def test_topic_section(engine: Engine) -> None:
    reply = engine.execute("topic crs symptoms")
    assert_ok(reply)
    card = only_card(reply)
    section = next(s for s in engine.catalog.topics["crs"].sections if s.id == "symptoms")
    assert card.body == section.body
    assert reply.command == "topic crs symptoms"
    # A section alias, and a multi-word topic alias before the section.
    assert engine.execute("topic cytokine storm treatment").command == "topic cytokine-storm management"


def test_every_topic_and_section_is_reachable(engine: Engine) -> None:
    for topic in engine.catalog.topics.values():
        assert engine.execute(f"topic {topic.id}").command == f"topic {topic.id}"
        for section in topic.sections:
            reply = engine.execute(f"topic {topic.id} {section.id}")
            assert_ok(reply)
            assert reply.command == f"topic {topic.id} {section.id}"
            cited = {s.id for s in reply.cards[0].footer.sources}
            assert set(section.sources) <= cited
            assert {s for n in section.notes for s in n.sources} <= cited


def test_unknown_topic_suggests(engine: Engine) -> None:
    reply = engine.execute("topic il7")
    assert reply.is_error
    card = only_card(reply)
    assert card.kind is CardKind.ERROR
    assert "il7" in card.body
    assert "/crs topic il-6" in card.plain_text()
    assert reply.visibility is Visibility.PRIVATE and not reply.actions


def test_unknown_section_names_the_topic(engine: Engine) -> None:
    reply = engine.execute("topic crs zebra")
    assert reply.is_error
    assert "no section" in reply.cards[0].body


# ---------------------------------------------------------------- compare


def test_compare_aspect_of_default_pair(engine: Engine) -> None:
    reply = engine.execute("compare severity")
    assert_ok(reply)
    card = only_card(reply)
    aspect = next(a for a in engine.catalog.comparisons["crs-vs-cytokine-storm"].aspects if a.id == "severity")
    assert card.table is not None
    assert card.table.rows == ((aspect.title, aspect.left, aspect.right),)
    assert card.table.headers[1:] == (engine.catalog.topics["crs"].title, engine.catalog.topics["cytokine-storm"].title)
    assert reply.command == "compare crs cytokine-storm severity"
    assert any(f.name.startswith("Note [") for f in card.fields), "severity carries a cited note"


def test_compare_everything(engine: Engine) -> None:
    reply = engine.execute("compare")
    assert_ok(reply)
    comparison = engine.catalog.comparisons["crs-vs-cytokine-storm"]
    table = only_card(reply).table
    assert table is not None and len(table.rows) == len(comparison.aspects) == 10
    assert engine.execute("compare crs cytokine-storm").cards == reply.cards
    assert engine.execute("compare crs vs storm").cards == reply.cards


def test_compare_swapped_pair_swaps_columns(engine: Engine) -> None:
    reply = engine.execute("compare cytokine storm vs crs trigger")
    assert_ok(reply)
    table = only_card(reply).table
    aspect = next(a for a in engine.catalog.comparisons["crs-vs-cytokine-storm"].aspects if a.id == "trigger")
    assert table.rows[0][1:] == (aspect.right, aspect.left)
    assert reply.command == "compare cytokine-storm crs trigger"


@pytest.mark.parametrize(("typed", "aspect"), [("causes", "trigger"), ("symptoms", "presentation"), ("sevrity", "severity"), ("immune cells", "immune-cells")])
def test_compare_aspect_aliases_and_typos(engine: Engine, typed: str, aspect: str) -> None:
    reply = engine.execute(f"compare {typed}")
    assert_ok(reply)
    assert reply.command.endswith(f" {aspect}")


def test_compare_every_aspect(engine: Engine) -> None:
    for aspect in engine.catalog.comparisons["crs-vs-cytokine-storm"].aspects:
        assert engine.execute(f"compare {aspect.id}").command == f"compare crs cytokine-storm {aspect.id}"


def test_compare_errors(engine: Engine) -> None:
    assert "no aspect" in engine.execute("compare colour").cards[0].body
    assert engine.execute("compare il-6 crs").is_error  # no such comparison
    reply = engine.invoke("compare", {"left": "crs"})
    assert reply.is_error and "two topics" in reply.cards[0].body


def test_compare_typed_options(engine: Engine) -> None:
    reply = engine.invoke("compare", {"left": "storm", "right": "CRS", "aspect": "severe"})
    assert_ok(reply)
    assert reply.command == "compare cytokine-storm crs severity"


# ---------------------------------------------------------------- search


def test_search_ranks_and_snippets(engine: Engine) -> None:
    reply = engine.execute("search hypotension")
    assert_ok(reply)
    card = only_card(reply)
    assert card.kind is CardKind.SEARCH
    assert 1 <= len(card.fields) <= 5
    assert all("hypotension" in f.value.casefold() for f in card.fields)
    assert all("→ /crs " in f.value for f in card.fields)


def test_search_finds_words_from_each_kind(engine: Engine) -> None:
    assert any("fact" in f.value for f in engine.execute("search tocilizumab approved").cards[0].fields)
    assert any("compare" in f.value for f in engine.execute("search life-threatening severity").cards[0].fields)


def test_search_tolerates_typos_and_prefixes(engine: Engine) -> None:
    assert_ok(engine.execute("search hypotenson"))
    assert_ok(engine.execute("search vasopress"))


def test_search_without_results_or_words(engine: Engine) -> None:
    assert engine.execute("search qwxzzy").is_error
    assert engine.execute("search").is_error
    assert engine.execute("search ???").is_error


# ---------------------------------------------------------------- fact


def test_fact_today_is_stable_all_day_and_changes_across_days(catalog) -> None:
    def today_at(moment):
        return Engine(catalog, clock=lambda: moment).execute("fact today").command

    morning = today_at(FIXED_NOW.replace(hour=0, minute=0))
    assert today_at(FIXED_NOW.replace(hour=23, minute=59)) == morning
    week = {today_at(FIXED_NOW + timedelta(days=d)) for d in range(14)}
    assert len(week) > 3


def test_fact_random_uses_rng_and_id_lookup(catalog) -> None:
    seen = {Engine(catalog, rng=random.Random(seed)).execute("fact").command for seed in range(20)}
    assert len(seen) > 3
    fact = next(iter(catalog.facts.values()))
    reply = Engine(catalog).execute(f"fact {fact.id}")
    assert reply.cards[0].body == fact.text
    assert [s.id for s in reply.cards[0].footer.sources] == [fact.source]
    assert Engine(catalog).execute("fact no-such-fact").is_error


def test_every_fact_fits_and_cites(engine: Engine) -> None:
    for fact in engine.catalog.facts.values():
        assert len(fact.text) <= 200
        assert fact.source in engine.catalog.sources
    assert len(engine.catalog.facts) >= 25


# ---------------------------------------------------------------- list, sources, about, help


def test_list(engine: Engine) -> None:
    card = only_card(engine.execute("list"))
    text = card.plain_text()
    for topic in engine.catalog.topics.values():
        assert topic.id in text


def test_sources(engine: Engine) -> None:
    card = only_card(engine.execute("sources"))
    assert card.body.splitlines()[0].startswith("seed:"), "the seed article is listed first"
    one = only_card(engine.execute("sources lee19"))
    assert "ASTCT" in one.plain_text()
    cited = only_card(engine.execute("sources crs"))
    assert "seed" in cited.body
    assert engine.execute("sources nonsense-id").is_error


def test_about_counts(engine: Engine) -> None:
    text = only_card(engine.execute("about")).plain_text()
    cat = engine.catalog
    assert f"{len(cat.topics)} topics" in text and f"{len(cat.facts)} facts" in text
    assert cat.info.version in text


def test_help_lists_every_command_and_details(engine: Engine) -> None:
    card = only_card(engine.execute("help"))
    for spec in engine.commands:
        assert any(f.name.startswith(f"/crs {spec.name}") for f in card.fields)
        detail = engine.execute(f"help {spec.name}")
        assert_ok(detail)
        assert detail.cards[0].title == f"Help: {spec.name}"
    assert engine.execute("help nothing").is_error
    assert engine.execute("").command == "help"


# ---------------------------------------------------------------- grammar, visibility, sharing


def test_slash_prefix_and_public_word(engine: Engine) -> None:
    private = engine.execute("/crs compare severity")
    assert private.visibility is Visibility.PRIVATE
    assert private.actions and private.actions[0].kind is ActionKind.SHARE
    public = engine.execute("compare severity public")
    assert public.visibility is Visibility.PUBLIC and not public.actions
    assert public.cards == private.cards


def test_share_action_reproduces_the_reply(engine: Engine) -> None:
    for line in ("compare severity", "topic il6", "fact random", "search hypotension", "sources lee19"):
        reply = engine.execute(line)
        shared = engine.execute(reply.actions[0].command, public=True)
        assert shared.cards == reply.cards and shared.visibility is Visibility.PUBLIC
        assert len(reply.actions[0].command) <= 100


def test_bare_topic_or_aspect_without_command(engine: Engine) -> None:
    assert engine.execute("il6").command == "topic il-6"
    assert engine.execute("severity").command == "compare crs cytokine-storm severity"
    # "crs" is a topic, not the slash prefix: only "/crs" is stripped.
    assert engine.execute("crs symptoms").command == "topic crs symptoms"
    assert engine.execute("/crs crs").command == "topic crs"


@pytest.mark.parametrize(
    "line",
    ["frobnicate", "x" * 5000, "topic \x00\x07\x1b[31m", "topic 🧪🦠", "<!channel> hello", "<@U123ABC>", "@everyone",
     "topic <@U1>", "compare " + "crs " * 40, "fact 💥", "search " + "🙂" * 10, "\u202e\u200b", "topic " + "a" * 499],
)
def test_bad_input_gets_a_friendly_private_reply(engine: Engine, line: str) -> None:
    reply = engine.execute(line)
    assert reply.cards
    assert reply.visibility is Visibility.PRIVATE
    if reply.is_error:
        card = reply.cards[0]
        assert card.kind is CardKind.ERROR
        assert "/crs" in card.plain_text(), "an error says what to type"
        assert len(card.plain_text()) < 1500
        assert "<!channel>" not in card.plain_text() and "<@U" not in card.plain_text()


def test_unexpected_failure_is_an_apology_not_an_exception(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a, **_k):
        raise RuntimeError("kaput")

    monkeypatch.setattr(type(engine.catalog.search_index), "search", boom)
    reply = engine.execute("search hypotension")
    assert reply.is_error and "went wrong" in reply.cards[0].body


# ---------------------------------------------------------------- autocomplete


def test_complete_shares_the_matcher(engine: Engine) -> None:
    assert engine.complete(ParamKind.TOPIC, "il6")[0].value == "il-6"
    assert engine.complete(ParamKind.TOPIC, "inter")[0].value in {"il-6", "ifn-gamma"}
    assert len(engine.complete(ParamKind.TOPIC, "")) == min(25, len(engine.catalog.topics))
    assert engine.complete(ParamKind.ASPECT, "sev")[0].value == "severity"
    assert engine.complete(ParamKind.ASPECT, "sev", context={"left": "storm", "right": "crs"})[0].value == "severity"
    assert engine.complete(ParamKind.FACT, "tod")[0].value == "today"
    assert engine.complete(ParamKind.COMMAND, "comp")[0].value == "compare"
    assert engine.complete(ParamKind.SOURCE, "lee")[0].value.startswith("lee")
    for kind in ParamKind:
        choices = engine.complete(kind, "a" * 300, limit=25)
        assert len(choices) <= 25
        assert all(len(c.label) <= 100 and len(c.value) <= 100 for c in choices)
    # what autocomplete offers first is what the lookup resolves
    for typed in ("il6", "tnf", "cytokine st", "interferon"):
        first = engine.complete(ParamKind.TOPIC, typed)[0].value
        assert engine.execute(f"topic {first}").command == f"topic {first}"


def test_registry_names_fit_every_platform(engine: Engine) -> None:
    names = [spec.name for spec in engine.commands]
    assert len(names) == len(set(names))
    assert {"topic", "compare", "search", "fact", "list", "sources", "about", "help"} <= set(names)
    for spec in engine.commands:
        assert spec.name.islower() and len(spec.name) <= 32 and len(spec.summary) <= 100
        for p in spec.params:
            assert p.name.islower() and len(p.name) <= 32 and len(p.description) <= 100


def test_search_with_one_result_says_so_in_the_singular(mini_engine: Engine) -> None:
    reply = mini_engine.execute("search fatigue")
    card = only_card(reply)
    assert len(card.fields) == 1, [f.name for f in card.fields]
    assert card.body == "The one result."
