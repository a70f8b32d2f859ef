"""Every reply the pack can produce, rendered for Discord, fits every Discord limit.

The checker below restates Discord's documented limits on its own (it does not import the
renderer's constants), so a wrong constant in render.py is caught too.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timezone
from typing import Any

import pytest

from adapters.discord.render import render_message, shorten, split_text
from bot.catalog import Catalog
from bot.engine import Engine
from bot.loader import load_pack
from bot.reply import Action, ActionKind, Card, CardKind, Field, Footer, Reply, SourceRef, Table, Visibility
from tests.discord.conftest import CONTENT

ELLIPSIS = "…"


def discord_violations(payload: dict[str, Any]) -> list[str]:
    """What Discord would reject in a message payload (empty list: it would accept it)."""
    bad: list[str] = []

    def over(what: str, text: str | None, limit: int) -> None:
        if text is not None and len(text) > limit:
            bad.append(f"{what}: {len(text)} > {limit}")

    over("content", payload.get("content"), 2000)
    embeds = payload.get("embeds", [])
    if len(embeds) > 10:
        bad.append(f"{len(embeds)} embeds > 10")
    total = 0
    for i, e in enumerate(embeds):
        title, description = e.get("title"), e.get("description")
        over(f"embed {i} title", title, 256)
        over(f"embed {i} description", description, 4096)
        fields = e.get("fields", [])
        if len(fields) > 25:
            bad.append(f"embed {i}: {len(fields)} fields > 25")
        for j, f in enumerate(fields):
            if not f["name"].strip() and f["name"] != "\u200b" or not f["value"].strip() and f["value"] != "\u200b":
                bad.append(f"embed {i} field {j}: empty name or value")
            over(f"embed {i} field {j} name", f["name"], 256)
            over(f"embed {i} field {j} value", f["value"], 1024)
            total += len(f["name"]) + len(f["value"])
        footer = (e.get("footer") or {}).get("text")
        over(f"embed {i} footer", footer, 2048)
        author = (e.get("author") or {}).get("name")
        over(f"embed {i} author", author, 256)
        total += sum(len(x or "") for x in (title, description, footer, author))
        if not (title or description or fields):
            bad.append(f"embed {i} is empty")
    if total > 6000:
        bad.append(f"embeds total {total} > 6000")
    rows = payload.get("components", [])
    if len(rows) > 5:
        bad.append(f"{len(rows)} action rows > 5")
    for row in rows:
        for c in row.get("components", []):
            over("button label", c.get("label"), 80)
            over("custom_id", c.get("custom_id"), 100)
    if payload.get("allowed_mentions") != {"parse": []}:
        bad.append(f"allowed_mentions {payload.get('allowed_mentions')!r}")
    return bad


def visible_text(payload: dict[str, Any]) -> str:
    parts = [payload.get("content") or ""]
    for e in payload.get("embeds", []):
        parts += [e.get("title") or "", e.get("description") or "", (e.get("footer") or {}).get("text", "")]
        parts += [f["name"] + "\n" + f["value"] for f in e.get("fields", [])]
    return "\n".join(parts)


def pack_lines() -> list[str]:
    """Every command line the pack supports: topics, sections, comparisons, aspects, facts, sources..."""
    pack = load_pack(CONTENT)
    engine = Engine(Catalog(pack))
    lines = ["list", "sources", "about", "help", "fact", "fact today", "fact random", "compare"]
    lines += [f"help {spec.name}" for spec in engine.commands]
    for topic in pack.topics:
        lines.append(f"topic {topic.id}")
        lines += [f"topic {topic.id} {section.id}" for section in topic.sections]
        lines.append(f"sources {topic.id}")
    for c in pack.comparisons:
        lines += [f"compare {c.left} {c.right}", f"compare {c.right} {c.left}", f"sources {c.id}"]
        lines += [f"compare {c.left} {c.right} {a.id}" for a in c.aspects]
    lines += [f"fact {f.id}" for f in pack.facts]
    lines += [f"sources {s}" for s in pack.sources]
    lines += [f"search {w}" for w in ("cytokine", "il-6 fever", "tocilizumab", "grade", "storm hlh", "zzqx")]
    lines += ["topic nonexistent-thing", "nonsense-command", "compare crs crs", "x" * 600]
    return lines


LINES = pack_lines()


@pytest.fixture(scope="module")
def fixed_engine() -> Engine:
    return Engine.load(CONTENT, clock=lambda: datetime(2025, 3, 1, tzinfo=timezone.utc), rng=random.Random(7))


@pytest.mark.parametrize("public", [False, True])
def test_every_pack_reply_fits_discord(fixed_engine, public):
    assert len(LINES) > 60
    for line in LINES:
        reply = fixed_engine.execute(line, public=public)
        payload = render_message(reply)
        assert discord_violations(payload) == [], line
        assert payload["flags"] & 64 if not public or reply.is_error else not payload.get("flags", 0) & 64
        text = visible_text(payload)
        for card in reply.cards:
            assert card.footer.disclaimer in text, f"disclaimer missing: {line}"
            assert card.title[:200] in text, line
        if not reply.is_error and not public:
            custom_id = payload["components"][0]["components"][0]["custom_id"]
            assert custom_id == "cytobot:share:" + reply.command


def words(text: str) -> str:
    return " ".join(text.split())


def joined_continuations(text: str) -> str:
    """Visible text with each "<name> (continued)" field heading taken out, so a value the
    renderer split across fields (one holds 1,024 characters) reads as one again."""
    return re.sub(r"\n[^\n]* \(continued\)\n", "\n", text)


def test_pack_content_is_shown_in_full_not_cut(fixed_engine):
    """The real pack fits without any "…" cut by the renderer (the core's own previews aside).
    A value longer than one field (the list of 27 topics) is split at line breaks into
    continued fields: every line of it is still shown, whole."""
    for line in LINES:
        reply = fixed_engine.execute(line)
        text = visible_text(render_message(reply))
        whole, lines_shown = words(joined_continuations(text)), set(text.splitlines())
        for card in reply.cards:
            for f in card.fields:
                assert words(f.value) in whole, (line, f.name)
                assert all(v in lines_shown for v in f.value.splitlines() if len(v) <= 1024), (line, f.name)
            if card.body:
                assert card.body in text, line


def test_comparison_is_laid_out_side_by_side(fixed_engine):
    reply = fixed_engine.execute("compare crs cytokine-storm")
    table = reply.cards[0].table
    assert table is not None
    embeds = render_message(reply)["embeds"]
    for e in embeds:  # a row never breaks across embeds
        assert len([f for f in e.get("fields", []) if f["inline"]]) % len(table.headers) == 0
    fields = [f for e in embeds for f in e.get("fields", [])]
    cells = [f for f in fields if f["inline"]]
    assert len(cells) == len(table.rows) * len(table.headers)
    for r, row in enumerate(table.rows):
        line = cells[r * 3 : r * 3 + 3]
        assert [f["name"] for f in line] == list(table.headers)
        assert row[0] in line[0]["value"] and line[1]["value"] == row[1] and line[2]["value"] == row[2]


def _footer(n_sources: int, label_len: int = 300) -> Footer:
    sources = tuple(SourceRef(f"s{i}", f"Source {i} " + "L" * label_len, f"https://example.org/{i}") for i in range(n_sources))
    return Footer("Not medical advice. " * 25, sources)


def huge_reply() -> Reply:
    words = " ".join(f"word{i}" for i in range(3000))
    big_card = Card(
        title="T" * 400,
        subtitle="S" * 300,
        body=words,
        fields=tuple(Field(f"Field {i} " + "N" * 300, ("value " * 400).strip(), inline=i % 2 == 0) for i in range(40)),
        table=Table(("Aspect", "L" * 300, "R" * 300), tuple((f"row {i}", "x " * 700, "y" * 1500) for i in range(30))),
        footer=_footer(40),
        kind=CardKind.COMPARISON,
    )
    many = tuple(Card(title=f"Card {i} " + "t" * 300, body="b" * 5000, footer=_footer(3), fields=(Field("f", "v" * 3000),)) for i in range(14))
    return Reply((big_card, *many), Visibility.PRIVATE, (Action(ActionKind.SHARE, "Share " * 40, "compare " + "z" * 80),), command="x")


def test_synthetic_huge_reply_is_cut_visibly_not_rejected():
    reply = huge_reply()
    payload = render_message(reply)
    assert discord_violations(payload) == []
    assert 1 <= len(payload["embeds"]) <= 10
    assert ELLIPSIS in visible_text(payload)
    assert visible_text(payload).count("Not medical advice.") >= 25  # at least one whole disclaimer
    # The disclaimer survives on the first card even though everything else had to give.
    assert reply.cards[0].footer.disclaimer.strip() in visible_text(payload)
    # The share command is too long for a custom_id: no button rather than a rejected message.
    assert "components" not in payload


@pytest.mark.parametrize("n_cards", [1, 2, 3, 9, 10, 11])
@pytest.mark.parametrize("size", [0, 1, 1023, 1025, 4097, 9000])
def test_synthetic_sizes_fit(n_cards, size):
    cards = tuple(
        Card(
            title="T" * min(size, 300) or "t",
            body="word " * (size // 5),
            fields=tuple(Field("F" * min(size, 300) or "f", "v" * size or "v", inline=True) for _ in range(min(size, 30) or 1)),
            table=Table(("a", "b", "c"), (("r", "x" * size or "x", "y"),)) if size else None,
            footer=_footer(size // 100, 50),
        )
        for _ in range(n_cards)
    )
    for visibility in Visibility:
        payload = render_message(Reply(cards, visibility, (Action(ActionKind.SHARE, "Share in channel", "topic il-6"),)))
        assert discord_violations(payload) == []
        text = visible_text(payload)
        assert cards[0].footer.disclaimer.strip() in text


def test_more_cards_than_embeds_keeps_ten_and_marks_the_cut():
    cards = tuple(Card(f"Card {i}", Footer("Disclaimer."), body=f"Body {i}.") for i in range(14))
    payload = render_message(Reply(cards))
    assert discord_violations(payload) == []
    assert [e["title"] for e in payload["embeds"]] == [f"Card {i}" for i in range(10)]
    assert all(e["footer"]["text"] == "Disclaimer." for e in payload["embeds"])
    assert payload["embeds"][-1]["description"].endswith(ELLIPSIS)


def test_share_button_is_omitted_when_custom_id_would_exceed_100():
    card = Card("t", Footer("d"))
    fits = render_message(Reply((card,), actions=(Action(ActionKind.SHARE, "Share in channel", "x" * 86),)))
    assert len(fits["components"][0]["components"][0]["custom_id"]) == 100
    too_long = render_message(Reply((card,), actions=(Action(ActionKind.SHARE, "Share in channel", "x" * 87),)))
    assert "components" not in too_long


def test_text_helpers_cut_visibly_and_split_at_breaks():
    assert shorten("short", 10) == "short"
    cut = shorten("a b c d e f g h i j k l", 10)
    assert len(cut) <= 10 and cut.endswith(ELLIPSIS)
    chunks = split_text("para one.\n\n" + "w " * 3000, 1024)
    assert all(len(c) <= 1024 for c in chunks) and len(chunks) == 6
    assert re.sub(r"\s+", "", "".join(chunks)) == re.sub(r"\s+", "", "para one." + "w" * 3000)


def test_split_text_cuts_at_the_limit_when_no_late_break_exists() -> None:
    chunks = split_text("a b " + "x" * 200, 50)
    assert len(chunks[0]) == 50, "an early space must not produce a tiny chunk"
    assert all(len(c) <= 50 for c in chunks)
    assert "".join(chunks).replace(" ", "") == ("ab" + "x" * 200)
