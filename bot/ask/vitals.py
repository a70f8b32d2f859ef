"""Free-text findings ("fever 39 on norepinephrine, what grade"): the `grade` line they suggest,
for the asker to check and run. This never grades: a grade computed from a sentence could be
wrong without anyone seeing why, so the reply only fills in the answers it read and leaves the
rest to the asker.

Everything comes from the pack's grading scales: a domain is named by its id, title and
aliases; an answer is read when the message names one of a value's id or aliases ("cpap",
"high flow"), or gives a number next to the domain that a value's own id ("ice 6") or the
bound in its criterion ("at least 38 °C", "≤ 6 L/min") accepts. What could under-grade is never
filled in:

- only answers that contribute a grade (above 0) are read; "none", "no", "alert" are left to
  the asker, so an unmentioned or negated finding is never written down as absent;
- a negated mention ("no pressors", "off oxygen") is not read;
- a value named twice (two drugs that both read as "vasopressor") is left out when the
  domain has a more severe answer (several of them), and of two answers the more severe is
  kept;
- a number no value accepts (a temperature under the bound, a decimal ICE score) is left out
  and named in the reply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..schema import Domain, Scale, ScaleValue
from .words import Synonyms, Token, tokenize

ITEM = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+")
# A bound in a criterion: "at least 38 °C", "(≤ 6 L/min)", "(> 5 min)".
BOUND = re.compile(r"(≤|<=|<|≥|>=|>|at least|more than|less than|up to)\s*(\d+(?:\.\d+)?)\s*(°\s*[cf]|l\s*/\s*min|min|l)?",
                   re.IGNORECASE)
GRADE_WORDS = frozenset({"grade", "grading", "graded", "grades", "grade?"})
# Words that answer any question: they mean something only as `domain=value`, never in a sentence.
ANSWER_WORDS = frozenset({"yes", "no", "y", "n", "true", "false", "none", "normal"})
NEGATIONS = frozenset({"no", "not", "without", "off", "nil", "denies", "stopped"})
UNITS = {"c": "c", "°c": "c", "f": "f", "°f": "f", "l": "l", "lpm": "l", "litre": "l", "litres": "l", "liter": "l",
         "liters": "l", "min": "min", "mins": "min", "minutes": "min"}
NEAR = 3  # items between a number and the word that says what it measures
COMPARE = {"≤": float.__le__, "<=": float.__le__, "<": float.__lt__, "≥": float.__ge__, ">=": float.__ge__,
           ">": float.__gt__, "at least": float.__ge__, "more than": float.__gt__, "less than": float.__lt__,
           "up to": float.__le__}


@dataclass(frozen=True, slots=True)
class Read:
    """An answer read from the message, and the words or number it was read from."""

    domain: Domain
    value: ScaleValue
    said: str


@dataclass(frozen=True, slots=True)
class Offer:
    """The answers read for one scale, what was seen but left out, and what is left to answer."""

    scale: Scale
    read: tuple[Read, ...]
    left_out: tuple[tuple[Domain, str], ...]  # a domain and what was said about it but not read
    open: tuple[Domain, ...]  # domains with no answer read

    @property
    def answers(self) -> str:
        return " ".join(f"{r.domain.id}={r.value.id}" for r in self.read)


@dataclass(frozen=True, slots=True)
class _Item:
    word: str = ""  # a word, after the pack's synonyms
    typed: str = ""  # the words it was read from, as typed
    number: str = ""  # or a number as typed
    unit: str = ""  # a number's unit, when one follows it


def _items(question: str, synonyms: Synonyms) -> list[_Item]:
    out: list[_Item] = []
    run: list[Token] = []

    def flush() -> None:
        for replacement, typed in synonyms.spans(run):
            said = " ".join(t.word for t in typed)
            out.extend(_Item(word=t.word, typed=said) for t in replacement)
        run.clear()

    for match in ITEM.finditer(question.casefold()):
        text = match.group()
        if text[0].isdigit():
            flush()
            out.append(_Item(number=text))
        else:
            run.extend(tokenize(text))
    flush()
    # A number's unit: the word right after it ("2 L", "39 C", "6 l/min", "10 min").
    for i, item in enumerate(out):
        if item.number and i + 1 < len(out) and out[i + 1].word in UNITS:
            out[i] = _Item(number=item.number, unit=UNITS[out[i + 1].word])
    return out


def _phrases(names: Sequence[str]) -> list[tuple[str, ...]]:
    found = []
    for name in names:
        words = tuple(t.word for t in tokenize(name))
        # "yes", "none", "no-vasopressor": answers that mean something only after `domain=`.
        if words and not any(w in ANSWER_WORDS or w in NEGATIONS for w in words) and not all(w.isdigit() for w in words):
            found.append(words)
    return found


def _at(items: Sequence[_Item], phrase: tuple[str, ...]) -> list[int]:
    n = len(phrase)
    return [i for i in range(len(items) - n + 1) if tuple(it.word for it in items[i : i + n]) == phrase]


def _bounds(criterion: str) -> list[tuple[str, float, str]]:
    out = []
    for op, number, unit in BOUND.findall(criterion):
        unit = re.sub(r"[\s°]", "", unit.casefold())
        out.append((op.casefold(), float(number), {"c": "c", "f": "f", "l/min": "l", "l": "l", "min": "min"}.get(unit, "")))
    return out


def _accepts(value: ScaleValue, number: str, unit: str) -> bool:
    """Whether every bound of the value's criterion holds for the number (and there is one)."""
    if "," in number:
        return False  # "1,5": a decimal comma or two numbers; never guessed
    bounds = _bounds(value.criterion)
    if not bounds:
        return False
    x = float(number)
    return all(COMPARE[op](x, limit) and (not unit or not bunit or unit == bunit) for op, limit, bunit in bounds)


class _Vocabulary:
    """What a scale's domains are called, and the words of their answers, for one scale."""

    def __init__(self, scale: Scale):
        self.scale = scale
        self.names = {d.id: _phrases((d.id, d.title, *d.aliases)) for d in scale.domains}
        self.words = {d.id: {w for p in self.names[d.id] for w in p}
                      | {w for v in d.values for p in _phrases((v.id, *v.aliases)) for w in p if len(w) > 2}
                      for d in scale.domains}
        self.values = {d.id: [(v, _phrases((v.id, *v.aliases))) for v in d.values if v.grade > 0] for d in scale.domains}


def vocabularies(scales: Sequence[Scale]) -> tuple[_Vocabulary, ...]:
    """What `read_answers` needs of a pack's scales, worked out once per catalog."""
    return tuple(_Vocabulary(s) for s in scales)


def read_answers(vocabs: Sequence[_Vocabulary], synonyms: Synonyms, question: str) -> Offer | None:
    """The answers a message gives for the scale it is about, if it asks for a grade and gives any."""
    items = _items(question, synonyms)
    words = [it.word for it in items]
    if not GRADE_WORDS.intersection(words):
        return None
    offers = [o for o in (_read(v, items) for v in vocabs) if o.read or o.left_out]
    if not offers:
        return None
    for offer in offers:  # a scale the message names ("what crs grade")
        for phrase in _phrases((offer.scale.id, offer.scale.name, *offer.scale.aliases)):
            if _at(items, phrase):
                return offer
    return max(offers, key=lambda o: (len(o.read), len(o.left_out)))


def _negated(items: Sequence[_Item], i: int) -> bool:
    return any(items[j].word in NEGATIONS for j in range(max(0, i - 2), i))


def _read(vocab: _Vocabulary, items: Sequence[_Item]) -> Offer:
    scale = vocab.scale
    seen: dict[str, list[Read]] = {d.id: [] for d in scale.domains}
    named: dict[tuple[str, str], int] = {}  # how often words name a value (a number with them is the same finding)
    left_out: list[tuple[Domain, str]] = []
    for d in scale.domains:
        for value, phrases in vocab.values[d.id]:
            for phrase in phrases:
                for i in _at(items, phrase):
                    if not _negated(items, i):
                        named[(d.id, value.id)] = named.get((d.id, value.id), 0) + 1
                        typed = " ".join(dict.fromkeys(it.typed for it in items[i : i + len(phrase)]))
                        seen[d.id].append(Read(d, value, typed))
    for i, item in enumerate(items):
        if not item.number:
            continue
        for d in _measured(vocab, items, i):
            exact = [v for v, _ in vocab.values[d.id] if v.id == item.number and not item.unit]
            bounded = [v for v, _ in vocab.values[d.id] if _accepts(v, item.number, item.unit)]
            said = item.number + (f" {item.unit}" if item.unit else "")
            chosen = exact or bounded
            if len(chosen) == 1 and not _negated(items, i):
                seen[d.id].append(Read(d, chosen[0], said))
            else:
                left_out.append((d, f"“{said}” is not an answer I can read for it"))
    read: list[Read] = []
    for d in scale.domains:
        found = seen[d.id]
        if not found:
            continue
        top = max(found, key=lambda r: r.value.grade)
        more_severe = any(v.grade > top.value.grade for v in d.values)
        if named.get((d.id, top.value.id), 0) > 1 and more_severe:
            both = ", ".join(f"“{r.said}”" for r in found if r.value.id == top.value.id)
            left_out.append((d, f"{both} each read as {top.value.id}: answer whether there are several"))
            continue
        read.append(top)
    answered = {r.domain.id for r in read}
    left = tuple((d, why) for d, why in dict.fromkeys(left_out) if d.id not in answered)
    return Offer(scale, tuple(read), left, tuple(d for d in scale.domains if d.id not in answered))


def _measured(vocab: _Vocabulary, items: Sequence[_Item], i: int) -> list[Domain]:
    """The domains a number measures: one named just before it ("temp 38.5", "ice score of 6"),
    else one whose words are near it and whose bounds take its unit ("2 L nasal cannula")."""
    words = [it.word for it in items]
    named = [d for d in vocab.scale.domains
             if any(words[end - len(p) : end] == list(p) for p in vocab.names[d.id] for end in (i, i - 1)
                    if end - len(p) >= 0 and (end == i or items[end].word))]  # one word between, never a number
    if named:
        return named[:1]
    unit = items[i].unit
    if not unit:
        return []
    window = {it.word for it in items[max(0, i - NEAR) : i + NEAR + 2]}
    return [d for d in vocab.scale.domains
            if window & vocab.words[d.id]
            and any(b[2] == unit for v, _ in vocab.values[d.id] for b in _bounds(v.criterion))]
