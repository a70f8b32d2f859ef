"""Every card the pack can produce, rendered for Slack, stays inside every Block Kit limit."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack.render import render_message
from bot.reply import Action, ActionKind, Card, CardKind, Field, Footer, Reply, SourceRef, Table, Visibility
from tests.slack.blockkit_check import check_message


def _pack_lines(engine: Any) -> list[str]:
    """Command lines covering the whole pack: every topic and section, every comparison and
    aspect, every fact and source, help for every command, and a few searches and errors."""
    from bot.loader import content_dir_from_env, load_pack

    pack = load_pack(content_dir_from_env())
    lines = ["", "help", "list", "about", "sources", "compare", "fact", "fact today", "fact random"]
    for spec in engine.commands:
        lines.append(f"help {spec.name}")
        lines += [f"help {alias}" for alias in spec.aliases]
    for topic in pack.topics:
        lines += [f"topic {topic.id}", f"sources {topic.id}"]
        lines += [f"topic {topic.id} {section.id}" for section in topic.sections]
    for comparison in pack.comparisons:
        lines += [f"compare {comparison.left} {comparison.right}", f"compare {comparison.id}"]
        lines += [f"compare {comparison.left} {comparison.right} {aspect.id}" for aspect in comparison.aspects]
        lines += [f"compare {aspect.id}" for aspect in comparison.aspects]
    lines += [f"fact {fact.id}" for fact in pack.facts]
    lines += [f"sources {source_id}" for source_id in pack.sources]
    words = {w.lower() for t in pack.topics for w in t.title.split() if len(w) > 3}
    lines += [f"search {w}" for w in sorted(words)[:10]]
    lines += ["search fever", "search the", "search a", "search zzzzqqq", "search <!channel> & <@U1>"]
    lines += ["frobnicate", "topic no-such-topic", "compare severity nonsense", "x" * 600]
    return lines


def test_pack_is_covered(engine: Any) -> None:
    """Guards the test below against silently iterating an empty pack."""
    lines = _pack_lines(engine)
    replies = [engine.execute(line) for line in lines]
    assert len(lines) > 30
    assert sum(not r.is_error for r in replies) > 20
    kinds = {c.kind for r in replies for c in r.cards}
    assert {CardKind.TOPIC, CardKind.COMPARISON, CardKind.FACT, CardKind.HELP, CardKind.SOURCES} <= kinds


def test_every_pack_reply_fits_block_kit(engine: Any) -> None:
    problems: dict[str, list[str]] = {}
    for line in _pack_lines(engine):
        for public in (False, True):
            reply = engine.execute(line, public=public)
            for shared_by in (None, "alice"):
                message = render_message(reply, shared_by=shared_by)
                found = check_message(message)
                if found:
                    problems[f"{line!r} public={public} shared_by={shared_by}"] = found
                # The disclaimer of every card is shown.
                blob = json.dumps(message["blocks"], ensure_ascii=False)
                for card in reply.cards:
                    assert card.footer.disclaimer.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")[:60] in blob
    assert problems == {}


def _huge_reply(n_cards: int = 30) -> Reply:
    footer = Footer(
        "Disclaimer <!channel> & more " * 200,
        tuple(SourceRef(f"s{i}", f"Source {i} <@U{i}> | label " * 10, f"https://example.org/{i}?a=1&b=<x>|y") for i in range(100)),
    )
    card = Card(
        title="A very long title <!here> & " * 20,
        subtitle="subtitle " * 500,
        body=("Paragraph <!channel> & stuff. " * 80 + "\n\n") * 30 + "&" * 5000,
        fields=tuple(Field(f"Field {i} " * 30, f"value <@U1> & {i} " * 400, inline=i % 3 != 0) for i in range(120)),
        table=Table(("Aspect", "Left side", "Right side", *[f"Extra {i}" for i in range(12)]), tuple((f"Row {r} <b>", *[f"cell & {r} " * 100 for _ in range(14)]) for r in range(150))),
        kind=CardKind.COMPARISON,
        footer=footer,
    )
    actions = tuple(Action(ActionKind.SHARE, "Share in channel " * 10, f"compare row-{i}") for i in range(40))
    return Reply((card,) * n_cards, Visibility.PRIVATE, actions + (Action(ActionKind.SHARE, "too long", "x" * 2500),))


@pytest.mark.parametrize("n_cards", [1, 2, 5, 30])
def test_huge_synthetic_reply_is_shortened_visibly_not_rejected(n_cards: int) -> None:
    reply = _huge_reply(n_cards)
    message = render_message(reply, shared_by="alice <!channel>")
    assert check_message(message) == []
    blob = json.dumps(message, ensure_ascii=False)
    assert "…" in blob
    assert re.search(r"\d+ more (part|card)s? (of this card )?not shown", blob)
    assert "(s)" not in blob
    assert "<!channel>" not in blob and "<!here>" not in blob and "<@U" not in blob
    headers = [b for b in message["blocks"] if b["type"] == "header"]
    assert len(headers) == min(n_cards, 24)  # each shown card keeps its header and footer
    assert [b["type"] for b in message["blocks"]].count("actions") == 1
    buttons = next(b for b in message["blocks"] if b["type"] == "actions")["elements"]
    assert all(len(b["value"]) <= 2000 for b in buttons)  # the 2500-char command got no (cut) button


def test_entities_are_never_cut_in_half() -> None:
    footer = Footer("d")
    for n in range(2990, 3010):
        msg = render_message(Reply((Card(title="&" * n, body="<" * n, footer=footer),)))
        assert check_message(msg) == []


def test_comparison_rows_become_paired_fields() -> None:
    table = Table(("Aspect", "CRS", "Cytokine storm"), (("Severity", "graded 1-4", "often critical"), ("Onset", "days", "hours")))
    msg = render_message(Reply((Card(title="CRS vs storm", table=table, kind=CardKind.COMPARISON, footer=Footer("Not advice")),)))
    rows = [b for b in msg["blocks"] if b["type"] == "section" and b.get("fields")]
    assert [r["text"]["text"] for r in rows] == ["*Severity*", "*Onset*"]
    assert [f["text"] for f in rows[0]["fields"]] == ["*CRS*\ngraded 1-4", "*Cytokine storm*\noften critical"]
    assert not [b for b in msg["blocks"] if b["type"] == "table"]


def test_public_reply_has_no_share_button() -> None:
    card = Card(title="t", footer=Footer("d"))
    share = (Action(ActionKind.SHARE, "Share in channel", "topic crs"),)
    private = render_message(Reply((card,), Visibility.PRIVATE, share))
    public = render_message(Reply((card,), Visibility.PUBLIC, share))
    assert private["blocks"][-1]["elements"][0]["value"] == "topic crs"
    assert all(b["type"] != "actions" for b in public["blocks"])


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=4000)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=_text,
    body=_text,
    fields=st.lists(st.tuples(_text, _text, st.booleans()), max_size=25),
    rows=st.lists(st.lists(_text, min_size=1, max_size=4), max_size=30),
    disclaimer=_text,
)
def test_any_text_renders_inside_the_limits(title: str, body: str, fields: list, rows: list, disclaimer: str) -> None:
    table = Table(("Aspect", "L", "R"), tuple(tuple(r) for r in rows)) if rows else None
    card = Card(title=title, body=body, fields=tuple(Field(*f) for f in fields), table=table, footer=Footer(disclaimer, (SourceRef("s", body[:50], None),)))
    assert check_message(render_message(Reply((card, card), actions=(Action(ActionKind.SHARE, title[:80] or "x", "topic crs"),)))) == []


def test_wide_tables_and_long_runs_of_inline_fields_are_split() -> None:
    """Few rows (so the one-section-per-row layout is used) but more columns and inline
    fields than one section can hold."""
    table = Table(tuple(f"Col {i}" for i in range(25)), tuple(tuple(f"r{r}c{c}" for c in range(25)) for r in range(3)))
    fields = tuple(Field(f"f{i}", f"v{i}", inline=True) for i in range(33))
    msg = render_message(Reply((Card(title="wide", fields=fields, table=table, footer=Footer("d")),)))
    assert check_message(msg) == []
    blob = json.dumps(msg)
    assert all(f'"v{i}"' not in blob and f"v{i}" in blob for i in (0, 32))  # nothing silently lost
    assert all(f"r2c{c}" in blob for c in range(1, 25))
