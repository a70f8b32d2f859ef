"""An independent Block Kit checker: the limits restated from Slack's documentation on purpose
(not imported from the renderer), so a wrong constant there is caught here."""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.models.blocks import Block

BLOCKS = 50
SECTION_TEXT = 3000
FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
TEXT_OBJECT = 3000
ACTIONS_ELEMENTS = 25
BUTTON_TEXT, BUTTON_VALUE, ACTION_ID, BLOCK_ID = 75, 2000, 255, 255
MESSAGE_TEXT = 40_000

_LINK = re.compile(r"<https?://[^|<>\s]+\|[^<>]*>")
_BAD_AMP = re.compile(r"&(?!amp;|lt;|gt;)")


def _text(obj: dict[str, Any], limit: int, where: str, problems: list[str]) -> str:
    text = obj.get("text")
    if obj.get("type") not in ("plain_text", "mrkdwn"):
        problems.append(f"{where}: bad text type {obj.get('type')!r}")
    if not isinstance(text, str) or not text.strip():
        problems.append(f"{where}: empty text")
        return ""
    if len(text) > limit:
        problems.append(f"{where}: {len(text)} chars > {limit}")
    return text


def unescaped(text: str) -> list[str]:
    """Slack control sequences in text that the bot did not mean as links."""
    bad = []
    stripped = _LINK.sub("", text)
    if "<" in stripped or ">" in stripped:
        bad.append(f"raw angle bracket in {text[:80]!r}")
    if _BAD_AMP.search(text):
        bad.append(f"raw & in {text[:80]!r}")
    return bad


def check_message(message: dict[str, Any]) -> list[str]:
    """Every problem Slack would reject the message for (plus unescaped text)."""
    problems: list[str] = []
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append("message: no plain text fallback")
    elif len(text) > MESSAGE_TEXT:
        problems.append(f"message text {len(text)} > {MESSAGE_TEXT}")
    else:
        problems += unescaped(text)
    blocks = message.get("blocks") or []
    if len(blocks) > BLOCKS:
        problems.append(f"{len(blocks)} blocks > {BLOCKS}")
    if sum(1 for b in blocks if b.get("type") == "table") > 1:
        problems.append("more than one table block")
    texts: list[str] = []
    for n, block in enumerate(blocks):
        where = f"block {n} ({block.get('type')})"
        if len(block.get("block_id") or "") > BLOCK_ID:
            problems.append(f"{where}: block_id too long")
        kind = block.get("type")
        if kind == "header":
            if block["text"].get("type") != "plain_text":
                problems.append(f"{where}: header must be plain_text")
            texts.append(_text(block["text"], HEADER_TEXT, where, problems))
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where}: neither text nor fields")
            if "text" in block:
                texts.append(_text(block["text"], SECTION_TEXT, where, problems))
            fields = block.get("fields") or []
            if "fields" in block and not fields:
                problems.append(f"{where}: empty fields")
            if len(fields) > FIELDS:
                problems.append(f"{where}: {len(fields)} fields > {FIELDS}")
            for i, f in enumerate(fields):
                texts.append(_text(f, FIELD_TEXT, f"{where} field {i}", problems))
        elif kind == "context":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= CONTEXT_ELEMENTS:
                problems.append(f"{where}: {len(elements)} elements")
            for i, e in enumerate(elements):
                texts.append(_text(e, TEXT_OBJECT, f"{where} element {i}", problems))
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= ACTIONS_ELEMENTS:
                problems.append(f"{where}: {len(elements)} elements")
            ids = [e.get("action_id") for e in elements]
            if len(set(ids)) != len(ids):
                problems.append(f"{where}: duplicate action_id")
            for i, e in enumerate(elements):
                texts.append(_text(e["text"], BUTTON_TEXT, f"{where} button {i}", problems))
                if len(e.get("value") or "") > BUTTON_VALUE:
                    problems.append(f"{where} button {i}: value too long")
                if not 1 <= len(e.get("action_id") or "") <= ACTION_ID:
                    problems.append(f"{where} button {i}: action_id length")
        elif kind in ("divider", "table"):
            pass
        else:
            problems.append(f"{where}: unexpected block type")
        try:
            Block.parse(block).validate_json()  # slack_sdk's own validation, as a second opinion
        except Exception as e:  # noqa: BLE001 - report any validation failure
            problems.append(f"{where}: slack_sdk says {e}")
    for t in texts:
        problems += unescaped(t)
    return problems
