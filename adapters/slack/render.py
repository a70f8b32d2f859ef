"""Block Kit rendering of the neutral reply: the one place that knows Slack's message limits.

Layout of one card: a `header`, the subtitle and body as `section` text, inline fields as
section `fields` (two columns on desktop, stacked on mobile), other fields as section text,
the comparison table as one section per row with the row label as text and one field per
column, and a `context` footer with the disclaimer and the sources. Buttons from
`reply.actions` go in one `actions` block at the end.

Why paired fields and not Slack's `table` block: a reply can carry several cards, the table
block is reported to be allowed only once per message (unverified), and its cells take no
mrkdwn. Section fields are accepted everywhere and degrade well on mobile.

Every string the renderer puts into Slack text comes from the pack or from the user (search
words, "did you mean" echoes), none of it is intended markup, so all of it is escaped
(`&`, `<`, `>`): no `<!channel>`, `<!here>` or `<@U…>` can be produced through the bot.
Limits are checked on the escaped text; anything too long is split across blocks or cut with
a visible "…", so Slack never rejects a message because of its size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from bot.normalize import plural
from bot.reply import ActionKind, Card, Field, Reply, Table, Visibility

# --- Slack limits (slack_sdk models/blocks and api.slack.com/reference/block-kit) ---------
MAX_BLOCKS = 50  # blocks per message
MAX_SECTION_TEXT = 3000  # section `text`
MAX_SECTION_FIELDS = 10  # section `fields` items
MAX_FIELD_TEXT = 2000  # each section field
MAX_HEADER_TEXT = 150  # header plain_text
MAX_CONTEXT_ELEMENTS = 10  # context `elements`
MAX_CONTEXT_TEXT = 3000  # a text object inside a context block
MAX_ACTIONS_ELEMENTS = 25  # actions `elements`
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_BLOCK_ID = 255
# Slack truncates `text` past 40,000 chars and recommends staying under 4,000; the fallback
# is for notifications and screen readers, so keep it short.
MAX_MESSAGE_TEXT = 4000

ELLIPSIS = "…"
SHARE_ACTION_ID = "cytobot_share"  # prefix; the button's index is appended (ids unique per block)
ACTIONS_BLOCK_ID = "cytobot_actions"

_ENTITY_TAIL = re.compile(r"&[a-z]{0,4}$")


def escape(text: str) -> str:
    """Slack's three control characters; this alone neutralises every mention and link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(escaped: str, limit: int) -> str:
    """Shorten already-escaped text to `limit` chars with a visible "…", never splitting an
    entity such as `&amp;` (a half entity would show as garbage)."""
    if len(escaped) <= limit:
        return escaped
    head = escaped[: max(limit - len(ELLIPSIS), 0)]
    head = _ENTITY_TAIL.sub("", head)
    return head.rstrip() + ELLIPSIS


def fit(text: str, limit: int) -> str:
    """Escape user/pack text and shorten it to `limit`."""
    return _cut(escape(text), limit)


def _nonempty(text: str) -> str:
    """Slack rejects empty text objects."""
    return text if text.strip() else "—"


def _split(escaped: str, limit: int) -> list[str]:
    """Split escaped text into chunks of at most `limit`, preferring paragraph, line and
    word boundaries and never splitting an entity (linear: huge bodies stay cheap)."""
    chunks: list[str] = []
    start, n = 0, len(escaped)
    while n - start > limit:
        end = start + limit
        cut = -1
        for sep in ("\n\n", "\n", " "):
            pos = escaped.rfind(sep, start, end)
            if pos > start + limit // 2:
                cut = pos
                break
        if cut == -1:
            cut = start + (len(_ENTITY_TAIL.sub("", escaped[start:end])) or limit)
        chunk = escaped[start:cut].rstrip()
        if chunk.strip():
            chunks.append(chunk)
        start = cut
        while start < n and escaped[start].isspace():
            start += 1
    tail = escaped[start:]
    if tail.strip():
        chunks.append(tail)
    return chunks


def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": _nonempty(text)}


def _section(text: str) -> dict:
    return {"type": "section", "text": _mrkdwn(_cut(text, MAX_SECTION_TEXT))}


def _field_text(name: str, value: str, limit: int) -> str:
    label = f"*{fit(name, limit // 4)}*" if name.strip() else ""
    body = escape(value)
    if not label:
        return _cut(body, limit)
    return label + "\n" + _cut(body, limit - len(label) - 1)


@dataclass(frozen=True, slots=True)
class _CardBlocks:
    """One card's blocks: `head` and `tail` are always kept; `middle` may be cut."""

    head: tuple[dict, ...]
    middle: tuple[dict, ...]
    tail: tuple[dict, ...]


def _text_blocks(escaped: str) -> list[dict]:
    return [_section(chunk) for chunk in _split(escaped, MAX_SECTION_TEXT)]


def _field_blocks(fields: tuple[Field, ...]) -> list[dict]:
    """Inline fields become section fields (10 per section); runs of other fields are
    packed into section text as long as they fit."""
    blocks: list[dict] = []
    inline: list[dict] = []
    texts: list[str] = []

    def flush_inline() -> None:
        for i in range(0, len(inline), MAX_SECTION_FIELDS):
            blocks.append({"type": "section", "fields": inline[i : i + MAX_SECTION_FIELDS]})
        inline.clear()

    def flush_texts() -> None:
        joined = "\n\n".join(texts)
        blocks.extend(_text_blocks(joined))
        texts.clear()

    for f in fields:
        if f.inline:
            flush_texts()
            inline.append(_mrkdwn(_field_text(f.name, f.value, MAX_FIELD_TEXT)))
        else:
            flush_inline()
            texts.append(_field_text(f.name, f.value, MAX_SECTION_TEXT))
    flush_inline()
    flush_texts()
    return blocks


def _table_rows_rich(table: Table) -> list[dict]:
    """One section per row: the row label as text, each other column as a field."""
    blocks: list[dict] = []
    headers = table.headers
    for row in table.rows:
        label = row[0] if row else ""
        cells = [
            _mrkdwn(_field_text(headers[i] if i < len(headers) else "", cell, MAX_FIELD_TEXT))
            for i, cell in enumerate(row[1:], start=1)
        ]
        first = cells[:MAX_SECTION_FIELDS]
        block: dict = {"type": "section", "text": _mrkdwn(f"*{fit(label, MAX_SECTION_TEXT - 2)}*")}
        if first:
            block["fields"] = first
        blocks.append(block)
        for i in range(MAX_SECTION_FIELDS, len(cells), MAX_SECTION_FIELDS):
            blocks.append({"type": "section", "fields": cells[i : i + MAX_SECTION_FIELDS]})
    return blocks


def _table_rows_compact(table: Table) -> list[dict]:
    """Rows as text, several per section: used when one section per row would not fit."""
    headers = table.headers
    rows = []
    for row in table.rows:
        lines = [f"*{escape(row[0]) if row else ''}*"]
        for i, cell in enumerate(row[1:], start=1):
            name = headers[i] if i < len(headers) else ""
            lines.append(f"• {escape(name)}: {escape(cell)}" if name else f"• {escape(cell)}")
        rows.append("\n".join(lines))
    return _text_blocks("\n\n".join(rows))


def _footer(card: Card) -> dict:
    elements = [_mrkdwn(fit(card.footer.disclaimer, MAX_CONTEXT_TEXT))]
    if card.footer.sources:
        labels = []
        for src in card.footer.sources:
            label = escape(src.display)
            if src.url:
                # Slack link syntax; `|`, `<`, `>` in the URL would break it, so encode them.
                url = escape(quote(src.url, safe=":/?#[]@!$&'()*+,;=%~-._"))
                labels.append(f"<{url}|{label.replace('|', '¦')}>")
            else:
                labels.append(label)
        elements.append(_mrkdwn(_cut_links("Sources: " + " · ".join(labels), MAX_CONTEXT_TEXT)))
    return {"type": "context", "elements": elements[:MAX_CONTEXT_ELEMENTS]}


def _cut_links(text: str, limit: int) -> str:
    """Shorten a line of `<url|label>` links without leaving a half link behind."""
    if len(text) <= limit:
        return text
    head = text[: limit - len(ELLIPSIS)]
    if head.rfind("<") > head.rfind(">"):
        head = head[: head.rfind("<")]
    return _ENTITY_TAIL.sub("", head).rstrip(" ·") + ELLIPSIS


def _card_blocks(card: Card, *, compact: bool) -> _CardBlocks:
    head = ({"type": "header", "text": {"type": "plain_text", "text": _nonempty(fit(card.title, MAX_HEADER_TEXT)), "emoji": True}},)
    intro = []
    if card.subtitle.strip():
        intro.append(f"_{escape(card.subtitle)}_")
    if card.body.strip():
        intro.append(escape(card.body))
    middle: list[dict] = _text_blocks("\n".join(intro)) if intro else []
    # The comparison first, then the fields (cited notes about it), as on every platform.
    if card.table is not None and card.table.rows:
        middle += _table_rows_compact(card.table) if compact else _table_rows_rich(card.table)
    middle += _field_blocks(card.fields)
    return _CardBlocks(head=head, middle=tuple(middle), tail=(_footer(card),))


def _more_note(text: str) -> dict:
    return _mrkdwn(f"{ELLIPSIS} {text}")


def _with_note(footer: dict, note: str) -> dict:
    """Notes about cut content ride in the card's footer context: they cost no block."""
    elements = list(footer["elements"])[: MAX_CONTEXT_ELEMENTS - 1] + [_more_note(note)]
    return {**footer, "elements": elements}


def _layout(cards: tuple[Card, ...], budget: int) -> list[dict]:
    """Fit the cards into `budget` blocks: compact tables first, then cut card middles
    (longest first), then drop whole trailing cards; each cut leaves a visible "…" note."""
    rendered = [_card_blocks(c, compact=False) for c in cards]

    def total() -> int:
        return sum(len(r.head) + len(r.middle) + len(r.tail) for r in rendered)

    for i, card in enumerate(cards):
        if total() <= budget:
            break
        if card.table is not None:
            rendered[i] = _card_blocks(card, compact=True)

    dropped = 0
    while len(rendered) > 1 and sum(len(r.head) + len(r.tail) for r in rendered) > budget:
        rendered.pop()
        dropped += 1

    keep = [len(r.middle) for r in rendered]
    while sum(len(r.head) + len(r.tail) for r in rendered) + sum(keep) > budget and any(keep):
        j = max(range(len(keep)), key=lambda k: keep[k])
        keep[j] -= 1

    blocks: list[dict] = []
    for n, (r, k) in enumerate(zip(rendered, keep)):
        blocks.extend(r.head)
        blocks.extend(r.middle[:k])
        tail = list(r.tail)
        if k < len(r.middle):
            tail[-1] = _with_note(tail[-1], f"{plural(len(r.middle) - k, 'more part')} of this card not shown; ask for a narrower topic or aspect.")
        if dropped and n == len(rendered) - 1:
            tail[-1] = _with_note(tail[-1], f"{plural(dropped, 'more card')} not shown.")
        blocks.extend(tail)
    return blocks


def _actions_block(reply: Reply) -> dict | None:
    """Share buttons make sense only on a private reply; a public one is already shared."""
    if reply.visibility is Visibility.PUBLIC:
        return None
    buttons = []
    for i, action in enumerate(reply.actions):
        if action.kind is not ActionKind.SHARE or len(action.command) > MAX_BUTTON_VALUE:
            continue  # a cut command would re-run the wrong thing: no button beats a wrong one
        buttons.append(
            {
                "type": "button",
                "action_id": f"{SHARE_ACTION_ID}:{i}"[:MAX_ACTION_ID],
                "text": {"type": "plain_text", "text": _nonempty(fit(action.label, MAX_BUTTON_TEXT)), "emoji": True},
                "value": action.command,
            }
        )
    if not buttons:
        return None
    return {"type": "actions", "block_id": ACTIONS_BLOCK_ID[:MAX_BLOCK_ID], "elements": buttons[:MAX_ACTIONS_ELEMENTS]}


def render_blocks(reply: Reply, *, shared_by: str | None = None) -> list[dict]:
    """The reply's blocks, within every Block Kit limit."""
    prefix: list[dict] = []
    if shared_by is not None:
        prefix.append({"type": "context", "elements": [_mrkdwn(fit(f"Shared by {shared_by}", MAX_CONTEXT_TEXT))]})
    if reply.notice.strip():  # e.g. how a mistyped command was read: before the cards it explains
        prefix.append({"type": "context", "elements": [_mrkdwn(fit(reply.notice, MAX_CONTEXT_TEXT))]})
    actions = _actions_block(reply)
    budget = MAX_BLOCKS - len(prefix) - (1 if actions else 0)
    blocks = prefix + _layout(reply.cards, budget)
    if actions:
        blocks.append(actions)
    return blocks


def render_text(reply: Reply, *, shared_by: str | None = None) -> str:
    """The escaped plain-text fallback (notifications, screen readers)."""
    text = reply.text
    if shared_by is not None:
        text = f"Shared by {shared_by}\n{text}"
    return _nonempty(fit(text, MAX_MESSAGE_TEXT))


def render_message(reply: Reply, *, shared_by: str | None = None) -> dict:
    """The message payload exactly as the bot sends it: `text` fallback plus `blocks`.

    `shared_by` (a display name, shown as escaped plain text, never as a mention) marks a
    card that someone shared from a private reply into the channel.
    """
    return {"text": render_text(reply, shared_by=shared_by), "blocks": render_blocks(reply, shared_by=shared_by)}


__all__ = ["render_message", "render_blocks", "render_text", "escape", "SHARE_ACTION_ID"]
