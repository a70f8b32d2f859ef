"""Neutral replies as Discord messages: embeds that always fit every Discord limit.

Every Discord limit the adapter relies on is a named constant here and nowhere else.
Long content is split across fields and embeds, and whatever still does not fit is cut with
a visible "…": a reply is never rejected by Discord for being too long.

`render(reply)` builds the discord.py objects the bot sends; `render_message(reply)` turns the
same objects into the payload with discord.py's own payload builder, so what
`cytobot ask --format discord` prints is exactly what the bot sends.

What users typed reaches a reply inside “…” (the core's echoes), in a search's title and in the
notice. There, and wherever masked-link syntax `[text](url)` appears, markdown is escaped
(`discord.utils.escape_markdown`) and a URL's scheme is broken with a zero-width space
(`http:\u200b//…`, shown the same, never linked); mentions are escaped everywhere
(`escape_mentions`; no reply pings anyway). The pack's own text and source links stay as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import discord
from discord.utils import MISSING
from discord.webhook.async_ import interaction_message_response_params

from bot.normalize import shorten
from bot.reply import ActionKind, Card, CardKind, Field, Reply, SourceRef, Table, Visibility

# --- Discord's limits (one place for each fact) --------------------------------------------
CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBEDS_TOTAL_MAX = 6000  # title + description + field names/values + footer + author, all embeds
BUTTON_LABEL_MAX = 80
CUSTOM_ID_MAX = 100
ACTION_ROW_BUTTONS_MAX = 5
AUTOCOMPLETE_CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
CHOICE_VALUE_MAX = 100
COMMAND_DESCRIPTION_MAX = 100
COMMAND_OPTIONS_MAX = 25
SUBCOMMANDS_MAX = 25

ELLIPSIS = "…"
BLANK = "\u200b"  # Discord rejects empty field names and values; a zero-width space is "nothing"
SHARE_PREFIX = "cytobot:share:"

COLOURS: dict[CardKind, int] = {
    CardKind.TOPIC: 0x3B82F6,
    CardKind.COMPARISON: 0x8B5CF6,
    CardKind.SEARCH: 0x0EA5E9,
    CardKind.FACT: 0x10B981,
    CardKind.GRADE: 0xF59E0B,
    CardKind.LIST: 0x64748B,
    CardKind.SOURCES: 0x64748B,
    CardKind.HELP: 0x64748B,
    CardKind.ABOUT: 0x64748B,
    CardKind.DAILY: 0x10B981,
    CardKind.ERROR: 0xEF4444,
}


# --- text helpers ---------------------------------------------------------------------------
def split_text(text: str, limit: int) -> list[str]:
    """Split `text` into chunks of at most `limit` characters, at paragraph, line or word breaks."""
    text = text.strip()
    chunks: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = -1
        for sep in ("\n\n", "\n", " "):
            cut = window.rfind(sep)
            if cut > limit // 2:
                break
        if cut <= limit // 2:  # no break late enough in the window: cut at the limit
            cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks


def share_custom_id(command: str) -> str | None:
    """The share button's custom_id, or None when the command makes it too long for Discord."""
    custom_id = SHARE_PREFIX + command
    return custom_id if 0 < len(command) and len(custom_id) <= CUSTOM_ID_MAX else None


def shared_by_line(display_name: str) -> str:
    """Who shared a card, as plain text: never a mention, even if the name looks like one."""
    return shorten(f"Shared by {plain_line(display_name.strip() or 'someone')}", CONTENT_MAX)


def plain_line(text: str) -> str:
    """Text that may echo user input, as inert plain text: no markdown, no mention syntax, no link."""
    text = discord.utils.escape_markdown(unlinked(text))
    return re.sub(r"[<@>]", lambda m: {"<": "‹", ">": "›", "@": "@\u200b"}[m.group()], text)


_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,30}):(?=/)")
_ECHO = re.compile(r"“[^”]*”")  # bot.commands.base.Context.quote: user input echoed
_MASKED = re.compile(r"\[[^\]\n]*\]\([^)\n]*\)?")


def unlinked(text: str) -> str:
    """Every URL in `text` with its scheme broken (`http:\u200b//x`): Discord links none of them."""
    return _SCHEME.sub(lambda m: m.group(1) + ":\u200b", text)


def inert(text: str, *, title: bool = False) -> str:
    """Reply text made safe for Discord: what a user may have typed (an echo in “…”, masked-link
    syntax; all of a title, where a search repeats its query) has its markdown escaped and no
    link; mentions are escaped everywhere. The pack's own text is left as written."""
    if title:
        return discord.utils.escape_mentions(_echo(text))
    return discord.utils.escape_mentions(_MASKED.sub(lambda m: _echo(m.group()), _ECHO.sub(lambda m: _echo(m.group()), text)))


def _echo(text: str) -> str:
    return discord.utils.escape_markdown(unlinked(text))


# --- the card layout --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Part:
    """One field of a card before packing: name, value and whether it sits in a row."""

    name: str
    value: str
    inline: bool


def _footer_text(footer_disclaimer: str, sources: tuple[SourceRef, ...]) -> str:
    """Disclaimer first (it must survive), then as many sources as fit."""
    disclaimer = shorten(footer_disclaimer, FOOTER_MAX // 2)
    if not sources:
        return disclaimer
    labels = "; ".join(s.display for s in sources)
    room = FOOTER_MAX - len(disclaimer) - 1
    return shorten("Sources: " + labels, room) + "\n" + disclaimer


def _field_parts(field: Field) -> list[_Part]:
    name = shorten(inert(field.name, title=True), FIELD_NAME_MAX) or BLANK
    chunks = split_text(inert(field.value), FIELD_VALUE_MAX) or [BLANK]
    parts = [_Part(name, chunks[0], field.inline)]
    more = shorten(f"{inert(field.name, title=True)} (continued)", FIELD_NAME_MAX)
    parts += [_Part(more, chunk, field.inline) for chunk in chunks[1:]]
    return parts


def _table_rows(table: Table) -> list[list[_Part]]:
    """Side by side: each row becomes one line of inline fields, one per column (label | left | right)."""
    rows: list[list[_Part]] = []
    width = len(table.headers)
    for row in table.rows:
        line = []
        for i, cell in enumerate(row[:EMBED_FIELDS_MAX]):
            header = inert(table.headers[i], title=True) if i < width else BLANK
            value = f"**{inert(cell)}**" if i == 0 and width > 1 else inert(cell)
            line.append(_Part(shorten(header, FIELD_NAME_MAX) or BLANK, shorten(value, FIELD_VALUE_MAX) or BLANK, True))
        rows.append(line)
    return rows


def _card_parts(card: Card) -> tuple[str, list[list[_Part]]]:
    """The description and the fields of a card, in groups that must share one embed (a table row)."""
    description = "\n\n".join(p for p in (f"*{inert(card.subtitle)}*" if card.subtitle else "", inert(card.body)) if p)
    groups: list[list[_Part]] = []
    if card.table is not None:
        groups += _table_rows(card.table)
    for field in card.fields:
        groups += [[part] for part in _field_parts(field)]
    return description, groups


class _Packer:
    """Fills embeds in order while keeping the per-message budgets (10 embeds, 6000 characters)."""

    def __init__(self) -> None:
        self.embeds: list[discord.Embed] = []
        self.used = 0  # characters counted towards EMBEDS_TOTAL_MAX

    def room(self, reserved: int) -> int:
        return EMBEDS_TOTAL_MAX - self.used - reserved

    def add(self, card: Card, reserved_chars: int, reserved_embeds: int) -> None:
        """Add one card; `reserved_*` is what the cards after it need at the very least."""
        colour = COLOURS.get(card.kind, COLOURS[CardKind.TOPIC])
        footer = _footer_text(card.footer.disclaimer, card.footer.sources)
        title = shorten(inert(card.title, title=True), EMBED_TITLE_MAX) or BLANK
        # Title and footer are never dropped: take them off the budget first.
        reserved_chars += len(footer)
        self.used += len(title)
        embed = discord.Embed(title=title, colour=colour)
        self.embeds.append(embed)
        description, groups = _card_parts(card)
        cut = False

        def new_embed() -> discord.Embed | None:
            if len(self.embeds) + reserved_embeds >= EMBEDS_MAX:
                return None
            e = discord.Embed(colour=colour)
            self.embeds.append(e)
            return e

        for n, chunk in enumerate(split_text(description, EMBED_DESCRIPTION_MAX)):
            room = self.room(reserved_chars)
            if room < 2:
                cut = True
                break
            if n:
                nxt = new_embed()
                if nxt is None:
                    cut = True
                    break
                embed = nxt
            text = chunk if len(chunk) <= room else shorten(chunk, room)
            embed.description = text
            self.used += len(text)
            if text != chunk:
                cut = True
                break

        if not cut:
            for group in groups:
                if len(embed.fields) + len(group) > EMBED_FIELDS_MAX:  # keep a table row on one line
                    if self.room(reserved_chars) < sum(len(p.name) + 2 for p in group):
                        cut = True
                        break
                    nxt = new_embed()
                    if nxt is None:
                        cut = True
                        break
                    embed = nxt
                for part in group:
                    room = self.room(reserved_chars)
                    if room < len(part.name) + 2:
                        cut = True
                        break
                    value = part.value if len(part.name) + len(part.value) <= room else shorten(part.value, room - len(part.name))
                    embed.add_field(name=part.name, value=value, inline=part.inline)
                    self.used += len(part.name) + len(value)
                    if value != part.value:
                        cut = True
                        break
                if cut:
                    break
        if cut:
            _mark_cut(embed)
        embed.set_footer(text=footer)
        self.used += len(footer)


def _mark_cut(embed: discord.Embed) -> None:
    """Make sure the last text shown ends with "…", so a reader sees that something is missing.

    The last character is replaced rather than appended to: the budgets are already spent.
    """
    if embed.fields:
        last = embed.fields[-1]
        if not last.value.endswith(ELLIPSIS):
            embed.set_field_at(len(embed.fields) - 1, name=last.name, value=last.value[:-1] + ELLIPSIS, inline=last.inline)
    elif embed.description:
        if not embed.description.endswith(ELLIPSIS):
            embed.description = embed.description[:-1] + ELLIPSIS
    elif embed.title and not embed.title.endswith(ELLIPSIS):
        embed.title = embed.title[:-1] + ELLIPSIS


def _min_cost(card: Card) -> int:
    return len(shorten(inert(card.title, title=True), EMBED_TITLE_MAX) or BLANK) + len(
        _footer_text(card.footer.disclaimer, card.footer.sources))


def render_embeds(cards: tuple[Card, ...]) -> list[discord.Embed]:
    """Cards as embeds: one or more embeds per card, all within Discord's limits."""
    shown = list(cards[:EMBEDS_MAX])
    # Every shown card needs its title and footer; drop trailing cards until those fit.
    while len(shown) > 1 and sum(_min_cost(c) for c in shown) > EMBEDS_TOTAL_MAX:
        shown.pop()
    packer = _Packer()
    for i, card in enumerate(shown):
        rest = shown[i + 1 :]
        packer.add(card, sum(_min_cost(c) for c in rest), len(rest))
    if len(shown) < len(cards):
        _mark_cut(packer.embeds[-1])
    return packer.embeds


# --- the message --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiscordMessage:
    """Everything the bot passes to discord.py to send one reply."""

    content: str | None
    embeds: tuple[discord.Embed, ...]
    view: discord.ui.View | None
    ephemeral: bool

    def send_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `InteractionResponse.send_message` (and, minus `ephemeral`, `Messageable.send`)."""
        kwargs: dict[str, Any] = {
            "content": self.content,
            "embeds": list(self.embeds),
            "ephemeral": self.ephemeral,
            "allowed_mentions": discord.AllowedMentions.none(),
        }
        if self.view is not None:
            kwargs["view"] = self.view
        return kwargs


def share_view(reply: Reply) -> discord.ui.View | None:
    """A "Share in channel" button for a private reply, when its command fits a custom_id."""
    if reply.visibility is not Visibility.PRIVATE or reply.is_error:
        return None
    buttons: list[discord.ui.Button] = []
    for action in reply.actions:
        if action.kind is not ActionKind.SHARE:
            continue
        custom_id = share_custom_id(action.command)
        if custom_id is None:
            continue
        buttons.append(
            discord.ui.Button(label=shorten(action.label, BUTTON_LABEL_MAX) or "Share", custom_id=custom_id,
                              style=discord.ButtonStyle.secondary)
        )
    if not buttons:
        return None
    # timeout=None: the button is handled by custom_id prefix (stateless), never by this object.
    view = discord.ui.View(timeout=None)
    for button in buttons[:ACTION_ROW_BUTTONS_MAX]:
        view.add_item(button)
    # A stopped view is not kept in discord.py's view store: clicks go to the prefix handler.
    view.stop()
    return view


def render(reply: Reply, *, shared_by: str | None = None) -> DiscordMessage:
    """The discord.py objects for a reply; `shared_by` names who shared it (plain text, no ping)."""
    lines = [shared_by_line(shared_by)] if shared_by is not None else []
    if reply.notice.strip():  # e.g. how a mistyped command was read: shown above the embeds
        lines.append(plain_line(reply.notice))
    content = shorten("\n".join(lines), CONTENT_MAX) if lines else None
    return DiscordMessage(
        content=content,
        embeds=tuple(render_embeds(reply.cards)),
        view=share_view(reply),
        ephemeral=reply.visibility is Visibility.PRIVATE,
    )


def message_payload(message: DiscordMessage) -> dict[str, Any]:
    """The JSON discord.py sends for `message` as an interaction response (its `data` object).

    Built by the same discord.py function `InteractionResponse.send_message` uses, with the
    client's default allowed_mentions (none), so it cannot drift from what is sent.
    """
    kwargs = message.send_kwargs()
    ephemeral = kwargs.pop("ephemeral")
    flags = discord.MessageFlags(ephemeral=True) if ephemeral else MISSING
    params = interaction_message_response_params(
        type=discord.InteractionResponseType.channel_message.value,
        previous_allowed_mentions=discord.AllowedMentions.none(),
        flags=flags,
        **kwargs,
    )
    payload = params.payload
    assert payload is not None  # no files, so the payload is JSON
    return payload["data"]


def render_message(reply: Reply, *, shared_by: str | None = None) -> dict[str, Any]:
    """The message payload exactly as the bot sends it (`content`, `embeds`, `components`, `flags`, `allowed_mentions`)."""
    return message_payload(render(reply, shared_by=shared_by))
