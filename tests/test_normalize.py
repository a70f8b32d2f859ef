"""`normalize` keeps exactly the alphanumeric characters of the NFKC case-folded text.

Written against the definition (str.isalnum over every code point), not against the
implementation, which uses one regular-expression substitution for speed (issue 19)."""

from __future__ import annotations

import sys
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.normalize import normalize


def reference(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def test_every_code_point_is_kept_or_dropped_as_isalnum_says() -> None:
    # Each code point on its own, NFKC and case folding included (ligatures, full-width digits).
    wrong = [hex(cp) for cp in range(sys.maxunicode + 1) if normalize(chr(cp)) != reference(chr(cp))]
    assert wrong == []


@given(st.text(max_size=60))
def test_any_text_normalises_as_the_definition_says(text: str) -> None:
    assert normalize(text) == reference(text)


def test_examples() -> None:
    assert normalize("IL-6") == normalize("il 6") == normalize("IL6") == "il6"
    assert normalize("TNF-α") == "tnfα"
    assert normalize("snake_case") == "snakecase"  # the underscore is not a letter
    assert normalize("１０") == "10"  # full-width digits, by NFKC
