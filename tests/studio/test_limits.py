"""The studio's limit flags, on replies rendered by the real Slack and Discord renderers."""

from __future__ import annotations

import random

from adapters.discord import render as discord_render
from adapters.discord.render import render_message as discord_message
from adapters.slack import render as slack_render
from adapters.slack.render import render_message as slack_message
from adapters.studio.limits import NEAR, all_flags, choice_flags, discord_flags, slack_flags
from bot.engine import Engine
from bot.normalize import shorten
from bot.reply import Card, CardKind, Field, Footer, Reply

FOOTER = Footer("Reference text, not medical advice.")


def words(n_chars: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    vocabulary = "fever cytokine tocilizumab hypotension ferritin interleukin grade storm".split()
    out = []
    while sum(len(w) + 1 for w in out) < n_chars:
        out.append(rng.choice(vocabulary))
    return " ".join(out)[:n_chars].rstrip()


def reply_of(*cards: Card) -> Reply:
    return Reply(cards)


def flags_of(reply: Reply):
    return all_flags(reply, slack_message(reply), discord_message(reply))


def test_bundled_cards_are_within_every_limit_but_the_main_comparison_is_near_25_fields(engine: Engine) -> None:
    for line in ("topic hlh ferritin", "grade crs fever=yes hypotension=fluids", "fact"):
        reply = engine.execute(line)
        assert flags_of(reply) == [], line
    # The CRS card cites many sources (23 when this was written): its Discord footer (sources, then the disclaimer) is near
    # 2,048 characters but whole, so it is flagged near, never cut.
    flags = flags_of(engine.execute("topic crs"))
    assert [(f.platform, f.what, f.limit, f.level) for f in flags] == [
        ("Discord", "footer, embed 1", discord_render.FOOTER_MAX, "near")]
    # The comparison's table rows fill its first embed: 8 rows of 3 inline fields.
    flags = flags_of(engine.execute("compare crs cytokine-storm"))
    assert [(f.platform, f.what, f.used, f.limit, f.level) for f in flags] == [
        ("Discord", "fields, embed 1", 24, discord_render.EMBED_FIELDS_MAX, "near")]


def test_a_long_body_is_flagged_as_split_on_both_platforms_with_where() -> None:
    body = words(5000)
    reply = reply_of(Card("Long", FOOTER, body=body))
    slack, discord = slack_message(reply), discord_message(reply)
    sflags = slack_flags(reply, slack)
    split = [f for f in sflags if f.level == "split"]
    assert len(split) == 1 and split[0].used == len(body) and split[0].limit == slack_render.MAX_SECTION_TEXT
    first_section = slack["blocks"][1]["text"]["text"]
    assert first_section[-20:] in split[0].where  # the words just before the split
    dflags = discord_flags(reply, discord)
    assert [f.limit for f in dflags if f.level == "split"] == [discord_render.EMBED_DESCRIPTION_MAX]


def test_a_body_near_the_section_limit_is_near_on_slack_only() -> None:
    body = words(int(slack_render.MAX_SECTION_TEXT * 0.95))
    reply = reply_of(Card("Nearly", FOOTER, body=body))
    flags = flags_of(reply)
    assert [(f.platform, f.level) for f in flags] == [("Slack", "near")]
    assert flags[0].what.startswith("section text") and flags[0].used >= NEAR * slack_render.MAX_SECTION_TEXT
    short = reply_of(Card("Short", FOOTER, body=words(int(slack_render.MAX_SECTION_TEXT * 0.8))))
    assert flags_of(short) == []


def test_too_many_cards_are_flagged_as_cut_with_what_was_dropped() -> None:
    cards = tuple(Card(f"Card {i}", FOOTER, body="Short body.") for i in range(30))
    reply = reply_of(*cards)
    flags = flags_of(reply)
    slack_cut = [f for f in flags if f.platform == "Slack" and f.level == "cut"]
    assert len(slack_cut) == 1 and slack_cut[0].limit == slack_render.MAX_BLOCKS and "not shown" in slack_cut[0].where
    discord_cut = [f for f in flags if f.platform == "Discord" and f.what == "embeds in the message"]
    assert discord_cut and discord_cut[0].level == "cut" and discord_cut[0].where == "20 card(s) not shown"


def test_a_message_over_discords_6000_characters_is_cut_where_the_text_stops() -> None:
    fields = tuple(Field(f"Field {i}", words(1000, seed=i)) for i in range(8))
    reply = reply_of(Card("Many fields", FOOTER, fields=fields))
    payload = discord_message(reply)
    total = discord_flags(reply, payload)
    cut = [f for f in total if f.what.startswith("characters in the message")]
    assert len(cut) == 1 and cut[0].level == "cut" and cut[0].limit == discord_render.EMBEDS_TOTAL_MAX
    last_value = payload["embeds"][-1]["fields"][-1]["value"]
    assert last_value.endswith("…") and last_value.rstrip("…").rstrip()[-20:] in cut[0].where


def test_fields_per_embed_near_25() -> None:
    fields = tuple(Field(f"F{i}", "x", inline=True) for i in range(24))
    reply = reply_of(Card("Fields", FOOTER, fields=fields))
    flags = discord_flags(reply, discord_message(reply))
    assert [(f.what, f.used, f.limit, f.level) for f in flags] == [("fields, embed 1", 24, discord_render.EMBED_FIELDS_MAX, "near")]


def test_autocomplete_names_over_100_characters_are_cut_as_the_engine_cuts_them() -> None:
    long = "Interleukin " + words(140)
    near = "x" * 95
    flags = choice_flags([long, near, "Cytokine storm"])
    assert [(f.level, f.used) for f in flags] == [("cut", len(long)), ("near", 95)]
    shown = shorten(long, discord_render.CHOICE_NAME_MAX)
    assert shown.rstrip("…")[-20:] in flags[0].where


def test_the_flags_read_the_renderers_constants(monkeypatch) -> None:
    """Lower the renderer's limit and the same card is flagged: the limits are not restated."""
    reply = reply_of(Card("Body", FOOTER, body=words(1500)))
    assert flags_of(reply) == []
    monkeypatch.setattr(slack_render, "MAX_SECTION_TEXT", 1600)
    assert any(f.platform == "Slack" and f.limit == 1600 for f in slack_flags(reply, slack_message(reply)))


def test_an_error_card_kind_is_measured_like_any_other() -> None:
    reply = Reply((Card("Oops", FOOTER, body=words(int(slack_render.MAX_SECTION_TEXT * 0.95)), kind=CardKind.ERROR),),
                  is_error=True)
    assert [f.platform for f in flags_of(reply)] == ["Slack"]


def test_a_card_is_flagged_with_its_own_autocomplete_name(engine: Engine) -> None:
    """choice_of gives the name `entries` lists for the same line, for every entry of the pack."""
    from adapters.studio.pack import choice_of, entries

    for entry in entries(engine):
        if entry.kind != "scale":
            assert choice_of(engine, entry.line) == entry.choice, entry.line
    long_fact = next(f for f in engine.catalog.facts.values() if len(f"{f.id}: {f.text}") > 100)
    from adapters.studio.pack import card_view

    view = card_view(engine, f"fact {long_fact.id}", [choice_of(engine, f"fact {long_fact.id}")])
    assert [f.platform for f in view.flags] == ["Autocomplete"] and view.flags[0].level == "cut"
