"""Text normalisation shared by the loader, the matcher and the command parser."""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
# Chat mention syntax: Slack <@U123>, <!channel>, <#C1|name>, links <http://…|x>; Discord <@123>, <@&1>, <#1>, <:emoji:1>.
_MENTION = re.compile(r"<[@#!:][^<>\s]{0,100}>|<https?://[^<>\s]{0,400}>|@(?:everyone|here|channel)\b", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
# Everything str.isalnum() rejects: \w is exactly the alphanumerics plus "_" (checked over every
# code point in tests/test_normalize.py), so one C-level substitution does what a loop over
# the characters did.
_NOT_ALNUM = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    """Key for matching: case-folded letters and digits only ("IL-6", "il 6", "IL6" -> "il6")."""
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text).casefold())


def clean_input(text: str) -> str:
    """What a user typed, made safe to parse: no control characters or mentions, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def shorten(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, at a word boundary where possible, with a visible …"""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def plural(count: int, word: str, many: str | None = None) -> str:
    """ "1 comparison", "2 comparisons", "0 facts"; `many` for irregular plurals."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"
