"""Questions in plain words, answered from the pack: the passage that answers first, or an
honest "the pack does not cover that". Platform-free; the `ask` command (bot/commands/questions.py)
turns an outcome into cards.
"""

from __future__ import annotations

import weakref

from ..catalog import Catalog
from .resolve import Asker, Outcome, Passage
from .vitals import Offer

__all__ = ["Asker", "Offer", "Outcome", "Passage", "asker_for"]

_ASKERS: weakref.WeakKeyDictionary[Catalog, Asker] = weakref.WeakKeyDictionary()


def asker_for(catalog: Catalog) -> Asker:
    """The answerer for `catalog`, built on its first question and kept as long as the catalog."""
    asker = _ASKERS.get(catalog)
    if asker is None:
        asker = _ASKERS[catalog] = Asker(catalog)
    return asker
