"""The shape of a question: a comparison, a definition, or anything else.

Shapes only say how to read the words: "difference between X and Y" asks for the comparison
of X and Y, "what is X" for what X is. Which passage answers is decided by the answerer from
what the words name; a shape never invents a subject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from .words import Token


class Kind(str, Enum):
    COMPARE = "compare"  # difference between X and Y, X vs Y, is X the same as Y
    DEFINE = "define"  # what is X, define X, tell me about X
    OTHER = "other"  # symptoms of X, how is X graded, anything else


# Words that make a question a comparison, wherever they stand.
COMPARE_WORDS = frozenset(
    "difference differences different differ differs differing differently vs v versus compare compared comparing "
    "comparison distinguish distinguishing contrast".split()
)
COMPARE_PHRASES = (("same", "as"), ("similar", "to"), ("the", "same"), ("tell", "apart"))

# Openings that ask what something is. Longest first; matched on the words as typed.
DEFINE_OPENINGS = tuple(
    tuple(p.split())
    for p in sorted(
        [
            "what is", "what s", "whats", "what is a", "what is an", "what is the", "what s a", "what s an", "what s the",
            "whats a", "whats an", "whats the", "what was", "what are", "define", "definition of", "the definition of",
            "meaning of", "the meaning of", "explain", "describe", "tell me about", "what do you know about",
            "who is", "who was", "what is meant by", "what does", "what do",
        ],
        key=lambda p: -len(p.split()),
    )
)
# "what does X mean", "what does X stand for", "what does X look like": the tail closes the opening.
DEFINE_TAILS = (("mean",), ("stand", "for"), ("refer", "to"), ("do",), ("look", "like"))
# "what are" asks for a definition only of a bare name ("what are cytokines"), not of
# "what are the symptoms of X", which the answerer reads from the names in it anyway.
WEAK_OPENINGS = frozenset({("what", "are"), ("what", "does"), ("what", "do")})


@dataclass(frozen=True, slots=True)
class Shape:
    kind: Kind
    frame: frozenset[int]  # token indexes that only shape the question (openings, "difference", "vs")
    weak: bool = False  # a DEFINE whose opening also starts other questions ("what are ...")


def _starts(words: Sequence[str], phrase: tuple[str, ...], at: int = 0) -> bool:
    return tuple(words[at : at + len(phrase)]) == phrase


def shape_of(tokens: Sequence[Token]) -> Shape:
    words = [t.word for t in tokens]
    cue = {i for i, w in enumerate(words) if w in COMPARE_WORDS}
    for phrase in COMPARE_PHRASES:
        for i in range(len(words) - len(phrase) + 1):
            if _starts(words, phrase, i):
                cue.update(range(i, i + len(phrase)))
    if cue:
        return Shape(Kind.COMPARE, frozenset(cue))
    start = 0
    while start < len(words) and words[start] in ("please", "so", "ok", "okay", "and", "but", "then"):
        start += 1
    for opening in DEFINE_OPENINGS:
        if _starts(words, opening, start):
            frame = set(range(start, start + len(opening)))
            for tail in DEFINE_TAILS:
                if len(words) - len(tail) > start + len(opening) and tuple(words[-len(tail) :]) == tail:
                    frame.update(range(len(words) - len(tail), len(words)))
                    break
            else:
                if opening in (("what", "does"), ("what", "do")):
                    break  # "what does IL-10 do to CRP" is not a definition
            return Shape(Kind.DEFINE, frozenset(frame), weak=opening in WEAK_OPENINGS)
    return Shape(Kind.OTHER, frozenset(range(start)))
