"""The question box and the question-file panel.

`explain` answers a question through the engine, the path the bot takes, and says why it landed
there from what the answerer reports (`bot.ask`'s public `Outcome`: the passage, the confidence,
the runners-up) plus which of the question's words the landing passage names or holds.

`score_file` runs a question file in the format of tests/data/questions.yaml: `in_scope` and
`held_out` rows (`q` and the `expect`ed canonical commands, first card answered), and
`out_of_scope` / `held_out_out_of_scope` questions that must get no confident answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from bot.ask import asker_for
from bot.ask.words import tokenize
from bot.engine import Engine
from bot.reply import CardKind, Reply

try:  # the answerer's threshold; another version of bot.ask may move it
    from bot.ask.resolve import CONFIDENT as THRESHOLD
except ImportError:  # pragma: no cover
    THRESHOLD = 0.6

SCORED = ("in_scope", "held_out")
UNANSWERED = ("out_of_scope", "held_out_out_of_scope")
MAX_FILE = 1_000_000  # bytes of a question file
FORMAT_HINT = ("Write a mapping with `in_scope:` (and optionally `held_out:`), a list of rows like "
               "`- q: what is HLH` / `  expect: [topic hlh]`, and optionally `out_of_scope:`, a list of questions.")


class QuestionFileError(ValueError):
    """A question file that is not in the expected format; the message says what to write."""


def canonical(line: str) -> tuple:
    """A command line as a comparable key: a comparison's two topics in either order."""
    words = line.split()
    if words and words[0] == "compare":
        return ("compare", frozenset(words[1:3]), tuple(words[3:]))
    return tuple(words)


def answered(reply: Reply) -> str:
    """What a reply answers with first: its canonical command, greeting, thanks or not-covered."""
    if reply.is_error:
        return "not-covered"
    if not reply.command and reply.cards and reply.cards[0].kind is CardKind.HELP:
        return {"Hello!": "greeting", "You're welcome": "thanks"}.get(reply.cards[0].title, "help")
    return reply.command


@dataclass(frozen=True, slots=True)
class Miss:
    question: str
    got: str
    expected: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GroupResult:
    name: str
    total: int
    misses: tuple[Miss, ...]
    out_of_scope: bool = False  # then a miss is a confident answer

    @property
    def right(self) -> int:
        return self.total - len(self.misses)

    @property
    def share(self) -> float:
        return self.right / self.total if self.total else 0.0


def parse_file(text: str) -> dict[str, list]:
    """The groups of a question file, checked; raises QuestionFileError saying what to fix."""
    if len(text.encode("utf-8", "replace")) > MAX_FILE:
        raise QuestionFileError(f"That file is over {MAX_FILE:,} bytes; split it into smaller files.")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise QuestionFileError(f"That is not valid YAML{where}. {FORMAT_HINT}") from None
    if not isinstance(data, Mapping) or not any(k in data for k in (*SCORED, *UNANSWERED)):
        raise QuestionFileError(f"No question groups found. {FORMAT_HINT}")
    groups: dict[str, list] = {}
    for name in SCORED:
        rows = data.get(name) or []
        if not isinstance(rows, list):
            raise QuestionFileError(f"`{name}` must be a list of rows. {FORMAT_HINT}")
        for n, row in enumerate(rows, start=1):
            expect = row.get("expect") if isinstance(row, Mapping) else None
            if isinstance(expect, str):
                expect = [expect]
            if (not isinstance(row, Mapping) or not isinstance(row.get("q"), str) or not isinstance(expect, list)
                    or not expect or not all(isinstance(e, str) for e in expect)):
                raise QuestionFileError(f"Row {n} of `{name}` needs `q:` (the question) and `expect:` (a list of "
                                        f"commands such as `topic hlh`). {FORMAT_HINT}")
        groups[name] = [(row["q"], tuple([row["expect"]] if isinstance(row["expect"], str) else row["expect"]))
                        for row in rows]
    for name in UNANSWERED:
        rows = data.get(name) or []
        if not isinstance(rows, list) or not all(isinstance(q, str) for q in rows):
            raise QuestionFileError(f"`{name}` must be a list of questions (plain strings). {FORMAT_HINT}")
        groups[name] = list(rows)
    return groups


def score(engine: Engine, groups: Mapping[str, list]) -> list[GroupResult]:
    """Each group's share right first (answered with one of its `expect`ed cards) and its misses;
    out-of-scope groups count a confident answer as a miss."""
    results = []
    for name in SCORED:
        rows = groups.get(name) or []
        if not rows:
            continue
        misses = []
        for question, expected in rows:
            got = answered(engine.execute(question))
            if canonical(got) not in {canonical(e) for e in expected}:
                misses.append(Miss(question, got, tuple(expected)))
        results.append(GroupResult(name, len(rows), tuple(misses)))
    for name in UNANSWERED:
        rows = groups.get(name) or []
        if not rows:
            continue
        misses = []
        for question in rows:
            reply = engine.execute(question)
            if not reply.is_error:
                misses.append(Miss(question, answered(reply), ("not covered",)))
        results.append(GroupResult(name, len(rows), tuple(misses), out_of_scope=True))
    return results


def score_file(engine: Engine, text: str) -> list[GroupResult]:
    return score(engine, parse_file(text))


# --------------------------------------------------------------------------- the question box

@dataclass(frozen=True, slots=True)
class WordRole:
    word: str
    role: str  # "name" (a name of the passage says it), "text" (only its text holds it), "filler", "none"


@dataclass(frozen=True, slots=True)
class Explanation:
    question: str
    reply: Reply
    landed: str  # what the reply answers with (answered())
    read_as: str  # "command" or "question"
    kind: str  # the answerer's outcome kind
    confidence: float | None
    threshold: float
    runners_up: tuple[str, ...]
    closest: tuple[str, ...]
    words: tuple[WordRole, ...]


def _names_and_text(engine: Engine, key: tuple[str, ...]) -> tuple[str, str]:
    """The names (ids, titles, aliases, tags) and the text of a passage."""
    cat = engine.catalog
    kind = key[0]
    if kind in ("topic", "section"):
        t = cat.topics[key[1]]
        names = [t.id, t.title, *t.aliases, *t.tags]
        text = t.summary
        if kind == "section":
            s = next(s for s in t.sections if s.id == key[2])
            names += [s.id, s.title, *s.aliases]
            text = " ".join((s.body, *(n.text for n in s.notes)))
        return " ".join(names), text
    if kind in ("comparison", "aspect"):
        c = cat.comparisons[key[1]]
        left, right = cat.topics[c.left], cat.topics[c.right]
        names = [c.id, c.title, *c.aliases, left.id, left.title, *left.aliases, right.id, right.title, *right.aliases]
        if kind == "aspect":
            a = next(a for a in c.aspects if a.id == key[2])
            names += [a.id, a.title, *a.aliases]
            text = " ".join((a.left, a.right, *(n.text for n in a.notes)))
        else:
            text = " ".join(f"{a.title} {a.left} {a.right}" for a in c.aspects)
        return " ".join(names), text
    if kind == "fact":
        f = cat.facts[key[1]]
        return " ".join((f.id, *f.tags)), f.text
    return "", ""


def word_roles(question: str, names: str, text: str) -> tuple[WordRole, ...]:
    """Each word of the question: said by a name of the passage, only by its text, or neither."""
    name_keys = {t.key for t in tokenize(names)} | {t.stem for t in tokenize(names)}
    text_keys = {t.key for t in tokenize(text)} | {t.stem for t in tokenize(text)}
    roles = []
    for token in tokenize(question):
        if token.key in name_keys or token.stem in name_keys:
            role = "name"
        elif token.filler:
            role = "filler"
        elif token.key in text_keys or token.stem in text_keys:
            role = "text"
        else:
            role = "none"
        roles.append(WordRole(token.word, role))
    return tuple(roles)


def explain(engine: Engine, question: str) -> Explanation:
    reply = engine.execute(question)
    landed = answered(reply)
    first = question.split()[0].casefold() if question.split() else ""
    read_as = "command" if reply.command and reply.command.split()[0] == first else "question"
    kind, confidence, runners, closest, words = "command", None, (), (), ()
    if read_as == "question":
        outcome = asker_for(engine.catalog).ask(question)
        kind = getattr(outcome, "kind", "")
        confidence = getattr(outcome, "confidence", None)
        runners = tuple(getattr(p, "line", str(p)) for p in getattr(outcome, "alternatives", ()))
        closest = tuple(getattr(outcome, "closest", ()))
        best = getattr(outcome, "best", None)
        key = getattr(best, "key", None)
        if key is not None:
            words = word_roles(question, *_names_and_text(engine, tuple(key)))
        else:
            words = tuple(WordRole(t.word, "filler" if t.filler else "none") for t in tokenize(question))
    return Explanation(question, reply, landed, read_as, kind, confidence, THRESHOLD, runners, closest, words)
