"""Reading a question word by word: matching keys, filler words, small talk and synonyms.

Everything here is about English questions in general; nothing knows a subject. What a pack
calls things (names, synonyms) comes in as data.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..search import STOP, stem

WORD = re.compile(r"[^\W_]+")

# Words that carry no subject in a question, on top of the search stop words. They still
# shape it ("what is", "how often", "the same as"); they are never what it is about.
FILLER = STOP | frozenset(
    """
    about after again all also am any anything anyone b between both could d did do does doing done each else even ever every
    get gets getting give go going good got great had has have having he her here hers him his i if im ive just know
    let like ll m me mean means meant more most much must my need needs no nor not now o ok okay one only other our out
    over own please pls re really s say says see seem she should show so some someone something t tell than that then
    there they thing things those though through too u up us use used uses using ve very want wants way we well were
    whats where whether while who whom whose will would y yes yet you your
    happen happens happened happening occur occurs occurred occurring last lasts lasted lasting
    still already actually anymore needed kind kinds type types sort
    """.split()
)

# Words that ask how to manage something, by what they ask for: a passage answers such a
# question only when it is about that (see Asker._check_intent). The pack's synonyms apply
# first, so a pack that reads "dose" as "dosing" needs only the one word here.
INTENTS = {"dosing": "dosing", "dose": "dosing", "doses": "dosing", "dosage": "dosing", "dosages": "dosing"}

GREETINGS = frozenset("hi hello hey hiya howdy heya hallo hola yo greetings morning afternoon evening".split())
GREETING_EXTRA = frozenset("there all everyone folks team good".split())
THANKS = frozenset("thanks thank thx ty tnx cheers thankyou merci danke appreciated".split())
THANKS_EXTRA = frozenset(
    "you so very much lot a that this it helped helps helpful great perfect awesome nice cool ok okay got again "
    "many for the help answer info".split()
)


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a question: as typed (case-folded), its matching key, and its search stem."""

    word: str
    key: str
    stem: str

    @property
    def filler(self) -> bool:
        return self.word in FILLER


def key_of(word: str) -> str:
    """Matching key of a word: its stem when that is long enough to be telling ("graded",
    "grading" -> "grade"), else the word without a plural s ("causes" -> "cause"), so that
    short stems do not merge different words ("timing" stays apart from "time")."""
    s = stem(word)
    if len(s) >= 5:
        return s
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[Token]:
    """The words of `text` (letters and digits; "IL-6" is "il", "6"), case-folded, with keys."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [Token(w, key_of(w), stem(w)) for w in WORD.findall(folded)]


def keys(tokens: Iterable[Token]) -> tuple[str, ...]:
    return tuple(t.key for t in tokens if not t.filler)


def small_talk(tokens: Sequence[Token]) -> str | None:
    """"greeting" for "hi" / "hello there", "thanks" for "thanks, that helped", else None."""
    words = [t.word for t in tokens]
    if not words or len(words) > 6:
        return None
    if any(w in THANKS for w in words) and all(w in THANKS or w in THANKS_EXTRA for w in words):
        return "thanks"
    if words[0] in GREETINGS or (words[0] == "good" and len(words) > 1 and words[1] in GREETINGS):
        if all(w in GREETINGS or w in GREETING_EXTRA for w in words):
            return "greeting"
    return None


def strip_greeting(tokens: list[Token]) -> list[Token]:
    """ "hi, what is X?" -> "what is X?": a greeting before a question is only politeness."""
    i = 0
    while i < len(tokens) and (tokens[i].word in GREETINGS or (tokens[i].word == "good" and i + 1 < len(tokens)
                                                                and tokens[i + 1].word in GREETINGS)):
        i += 1
    return tokens[i:] if 0 < i < len(tokens) else tokens


class Synonyms:
    """The pack's synonyms: variants people type, rewritten to the term the pack uses."""

    MAX_WORDS = 8

    def __init__(self, pairs: Iterable[tuple[str, Iterable[str]]]):
        self._map: dict[tuple[str, ...], list[Token]] = {}
        for term, variants in pairs:
            replacement = tokenize(term)
            # The term stands for itself, so a variant inside it ("covid" in "covid-19") is not rewritten.
            self._map[tuple(t.key for t in replacement)] = replacement
            for variant in variants:
                key = tuple(t.key for t in tokenize(variant))
                if 0 < len(key) <= self.MAX_WORDS:
                    self._map.setdefault(key, replacement)
        self._longest = max((len(k) for k in self._map), default=0)

    def rewrite(self, tokens: list[Token]) -> list[Token]:
        """Replace every variant (longest first, left to right) by its term's words."""
        return [t for replacement, _ in self.spans(tokens) for t in replacement]

    def spans(self, tokens: list[Token]) -> list[tuple[list[Token], list[Token]]]:
        """The rewrite as (words it reads as, words as typed), run by run."""
        if not self._map:
            return [([t], [t]) for t in tokens]
        out: list[tuple[list[Token], list[Token]]] = []
        i = 0
        while i < len(tokens):
            for n in range(min(self._longest, len(tokens) - i), 0, -1):
                replacement = self._map.get(tuple(t.key for t in tokens[i : i + n]))
                if replacement is not None:
                    out.append((replacement, tokens[i : i + n]))
                    i += n
                    break
            else:
                out.append(([tokens[i]], [tokens[i]]))
                i += 1
        return out
