"""Platform limits made visible: which parts of a rendered payload are near or over a limit, and
where the renderer cut or split the text.

The limits are the renderers' own constants (`adapters.slack.render`, `adapters.discord.render`,
the engine's autocomplete length), read from them, never restated. The renderers already keep
every payload inside the limits (splitting or cutting with a visible "…"); these flags tell the
pack author that it happened, or is about to, so the text can be shortened at its source.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from adapters.discord import render as discord_render
from adapters.slack import render as slack_render
from bot.engine import CHOICE_TEXT
from bot.normalize import shorten
from bot.reply import Card, Reply

NEAR = 0.9  # a text at 90% of its limit or more is flagged as near
ELLIPSIS = "…"
TAIL = 40  # characters shown before a cut


@dataclass(frozen=True, slots=True)
class Flag:
    platform: str  # "Slack", "Discord", "Autocomplete"
    what: str  # which part of the payload
    used: int
    limit: int
    level: str  # "near", "split" (continues in the next block or embed), "cut" (text dropped)
    where: str = ""  # the text just before the cut or split

    @property
    def over(self) -> bool:
        return self.level in ("split", "cut")


def _tail(text: str) -> str:
    text = text.rstrip(ELLIPSIS).rstrip()
    return ("…" if len(text) > TAIL else "") + text[-TAIL:]


def _measure(platform: str, what: str, text: str, limit: int) -> Flag | None:
    used = len(text)
    if used > limit:  # the renderers never allow this: it would be refused by the platform
        return Flag(platform, what, used, limit, "cut", f"over the limit by {used - limit:,} characters")
    if text.endswith(ELLIPSIS) and used >= NEAR * limit:
        return Flag(platform, what, used, limit, "cut", f"cut after “{_tail(text)}”")
    if used >= NEAR * limit:
        return Flag(platform, what, used, limit, "near")
    return None


def _count(platform: str, what: str, used: int, limit: int) -> Flag | None:
    return Flag(platform, what, used, limit, "near") if used >= NEAR * limit else None


# --------------------------------------------------------------------------- Slack

def _slack_texts(blocks: list[dict]) -> Iterator[tuple[str, str, int]]:
    """(what, text, limit) for every text object of the blocks."""
    for n, block in enumerate(blocks, start=1):
        kind = block.get("type")
        if kind == "header":
            yield f"header, block {n}", block["text"]["text"], slack_render.MAX_HEADER_TEXT
        elif kind == "section":
            if "text" in block:
                yield f"section text, block {n}", block["text"]["text"], slack_render.MAX_SECTION_TEXT
            for i, field in enumerate(block.get("fields", ()), start=1):
                yield f"section field {i}, block {n}", field["text"], slack_render.MAX_FIELD_TEXT
        elif kind == "context":
            for i, element in enumerate(block.get("elements", ()), start=1):
                yield f"context element {i}, block {n}", element.get("text", ""), slack_render.MAX_CONTEXT_TEXT


def slack_flags(reply: Reply, payload: dict) -> list[Flag]:
    blocks = payload["blocks"]
    flags: list[Flag] = []
    count = _count("Slack", "blocks in the message", len(blocks), slack_render.MAX_BLOCKS)
    notes = [e["text"] for b in blocks if b.get("type") == "context" for e in b["elements"]
             if e.get("text", "").startswith(f"{ELLIPSIS} ") and "not shown" in e.get("text", "")]
    if notes:
        flags.append(Flag("Slack", "blocks in the message", len(blocks), slack_render.MAX_BLOCKS, "cut",
                          "; ".join(n.removeprefix(f"{ELLIPSIS} ") for n in notes)))
    elif count is not None:
        flags.append(count)
    for what, text, limit in _slack_texts(blocks):
        flag = _measure("Slack", what, text, limit)
        if flag is not None:
            flags.append(flag)
    for c, card in enumerate(reply.cards, start=1):
        intro = "\n".join(p for p in (f"_{slack_render.escape(card.subtitle)}_" if card.subtitle.strip() else "",
                                       slack_render.escape(card.body) if card.body.strip() else "") if p)
        if len(intro) > slack_render.MAX_SECTION_TEXT:
            first = _first_section_after_header(blocks, card)
            flags.append(Flag("Slack", f"card {c} text (one section holds {slack_render.MAX_SECTION_TEXT:,})",
                              len(intro), slack_render.MAX_SECTION_TEXT, "split",
                              f"continues in the next section after “{_tail(first)}”" if first else ""))
    return flags


def _first_section_after_header(blocks: list[dict], card: Card) -> str:
    title = slack_render.fit(card.title, slack_render.MAX_HEADER_TEXT)
    for i, block in enumerate(blocks):
        if block.get("type") == "header" and block["text"]["text"] == title and i + 1 < len(blocks):
            nxt = blocks[i + 1]
            return nxt.get("text", {}).get("text", "") if nxt.get("type") == "section" else ""
    return ""


# --------------------------------------------------------------------------- Discord

def _embed_chars(embed: dict) -> int:
    """What counts towards Discord's 6,000 characters per message."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields", ()))
    total += len(embed.get("footer", {}).get("text", "")) + len(embed.get("author", {}).get("name", ""))
    return total


def discord_flags(reply: Reply, payload: dict) -> list[Flag]:
    d = discord_render
    embeds = payload.get("embeds", [])
    flags: list[Flag] = []
    total = sum(_embed_chars(e) for e in embeds)
    marked = any(_ends_cut(e) for e in embeds)
    if total > d.EMBEDS_TOTAL_MAX or (marked and total >= NEAR * d.EMBEDS_TOTAL_MAX):
        last = next((e for e in reversed(embeds) if _ends_cut(e)), embeds[-1] if embeds else {})
        flags.append(Flag("Discord", "characters in the message (all embeds)", total, d.EMBEDS_TOTAL_MAX, "cut",
                          f"cut after “{_tail(_last_text(last))}”"))
    elif total >= NEAR * d.EMBEDS_TOTAL_MAX:
        flags.append(Flag("Discord", "characters in the message (all embeds)", total, d.EMBEDS_TOTAL_MAX, "near"))
    shown = min(len(reply.cards), d.EMBEDS_MAX)
    if len(reply.cards) > d.EMBEDS_MAX or len(embeds) >= NEAR * d.EMBEDS_MAX:
        level = "cut" if len(reply.cards) > shown else "near"
        flags.append(Flag("Discord", "embeds in the message", len(embeds), d.EMBEDS_MAX, level,
                          f"{len(reply.cards) - shown} card(s) not shown" if level == "cut" else ""))
    for n, embed in enumerate(embeds, start=1):
        for what, text, limit in (("title", embed.get("title", ""), d.EMBED_TITLE_MAX),
                                  ("description", embed.get("description", ""), d.EMBED_DESCRIPTION_MAX),
                                  ("footer", embed.get("footer", {}).get("text", ""), d.FOOTER_MAX)):
            flag = _measure("Discord", f"{what}, embed {n}", text, limit)
            if flag is not None:
                flags.append(flag)
        fields = embed.get("fields", [])
        count = _count("Discord", f"fields, embed {n}", len(fields), d.EMBED_FIELDS_MAX)
        if count is not None:
            flags.append(count)
        for i, field in enumerate(fields, start=1):
            for what, text, limit in (("name", field.get("name", ""), d.FIELD_NAME_MAX),
                                      ("value", field.get("value", ""), d.FIELD_VALUE_MAX)):
                flag = _measure("Discord", f"field {i} {what}, embed {n}", text, limit)
                if flag is not None:
                    flags.append(flag)
    for c, card in enumerate(reply.cards[:shown], start=1):
        description = "\n\n".join(p for p in (f"*{card.subtitle}*" if card.subtitle else "", card.body) if p)
        if len(description) > d.EMBED_DESCRIPTION_MAX:
            flags.append(Flag("Discord", f"card {c} description (one embed holds {d.EMBED_DESCRIPTION_MAX:,})",
                              len(description), d.EMBED_DESCRIPTION_MAX, "split",
                              "continues in the next embed"))
        for field in card.fields:
            if len(field.value) > d.FIELD_VALUE_MAX:
                flags.append(Flag("Discord", f"card {c} field “{field.name[:40]}” (one field holds {d.FIELD_VALUE_MAX:,})",
                                  len(field.value), d.FIELD_VALUE_MAX, "split", "continues in a “(continued)” field"))
    return flags


def _last_text(embed: dict) -> str:
    fields = embed.get("fields") or []
    if fields:
        return fields[-1].get("value", "")
    return embed.get("description") or embed.get("title", "")


def _ends_cut(embed: dict) -> bool:
    return _last_text(embed).endswith(ELLIPSIS)


# --------------------------------------------------------------------------- autocomplete

def choice_flags(labels: Iterable[str]) -> list[Flag]:
    """Names offered in autocomplete (Discord shows at most CHOICE_NAME_MAX characters; the
    engine shortens longer ones with "…")."""
    limit = min(CHOICE_TEXT, discord_render.CHOICE_NAME_MAX)
    flags = []
    for label in labels:
        if len(label) > limit:
            shown = shorten(label, limit)  # as the engine offers it
            flags.append(Flag("Autocomplete", f"choice name “{label[:30]}…”", len(label), limit, "cut",
                              f"cut after “{_tail(shown)}”"))
        elif len(label) >= NEAR * limit:
            flags.append(Flag("Autocomplete", f"choice name “{label[:30]}…”", len(label), limit, "near"))
    return flags


def all_flags(reply: Reply, slack: dict, discord: dict, choices: Iterable[str] = ()) -> list[Flag]:
    return [*slack_flags(reply, slack), *discord_flags(reply, discord), *choice_flags(choices)]
