"""Grading scales interpreted from pack data: answers in, the grade and its reasons out.

The code knows no scale. A scale (`bot.schema.Scale`) lists domains, each answer's grade
contribution and, optionally, a requirement for the condition to be graded at all, patients
it does not grade (exclusions) and red flags. The grade is the most severe contribution;
none when the requirement fails, an exclusion holds or nothing contributes.

Answers are matched as typed (`value_key`): case and the separators between words do not
matter, and nothing else is dropped, so "1.0", "1,0", "1 0", "-1" or "+8" can never be read
as another number. A numeric domain takes a whole number in its range written plainly; any
other text is refused with the accepted values. A domain left out stands in with its
default only while no other answer to it would change the outcome; otherwise the command
asks for it. A guessed answer could under-grade a patient.

`check_scale` is the loader's consistency check of one scale, so a pack cannot carry a scale
this module would misread.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from .matcher import Matcher
from .normalize import normalize
from .schema import RESERVED_DOMAIN_IDS, Alert, Condition, Domain, Exclusion, Flag, Scale, ScaleValue

# `key=value`, `key: value`, `key = value`: a key is one word; its value runs to the next key.
_KEY = re.compile(r"(?<![\w-])([^\W\d_][\w-]*)\s*[:=]\s*")
_TRAILING = " ,;."  # sentence punctuation after an answer ("fever=yes, hypotension=none.")
_SEPARATORS = re.compile(r"[\s_\-'’]+")
_PLAIN_NUMBER = re.compile(r"0|[1-9][0-9]*")  # ASCII digits, no sign, no leading zero


@dataclass(frozen=True, slots=True)
class Typed:
    """Free text split into leading words (a scale name, perhaps) and key/value pairs."""

    lead: str
    pairs: tuple[tuple[str, str], ...]


def split_answers(text: str) -> Typed:
    """ "crs fever=yes, hypotension: fluids" -> lead "crs", pairs (fever, yes), (hypotension, fluids).

    Only trailing punctuation is trimmed from an answer: a leading "-", "+" or "." is part of
    what was typed (".5" stays ".5", never "5")."""
    marks = list(_KEY.finditer(text))
    if not marks:
        return Typed(text.strip(" ,;."), ())
    pairs = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        pairs.append((mark.group(1), text[mark.end() : end].strip().rstrip(_TRAILING)))
    return Typed(text[: marks[0].start()].strip(" ,;."), tuple(pairs))


def value_key(text: str) -> str:
    """Key for matching an answer exactly as typed: case, and spaces, hyphens, underscores and
    apostrophes between words, do not matter ("Low Flow" = "low-flow" = "lowflow"; "cushing's"
    = "cushings"). Everything else is kept, unlike `normalize`: a separator between two digits
    stays ("1 0" is not "10"), and so do signs, points and commas ("-1", "+8", "1.0", "1,0")."""
    folded = unicodedata.normalize("NFKC", text).casefold().strip()

    def join(m: re.Match[str]) -> str:
        before = folded[m.start() - 1] if m.start() else ""
        after = folded[m.end()] if m.end() < len(folded) else ""
        if not before or not after:
            return m.group()  # leading or trailing: a sign or a dash, kept
        if before.isdigit() and after.isdigit():
            return " "  # "1 0", "1-0": two numbers, never one
        return ""

    return _SEPARATORS.sub(join, folded)


def plain_number(text: str) -> int | None:
    """A whole number written plainly ("0", "7", "10"), else None ("07", "7.0", "+7", "7 0")."""
    text = text.strip()
    return int(text) if _PLAIN_NUMBER.fullmatch(text) else None


def is_plain_number(name: str) -> bool:
    return _PLAIN_NUMBER.fullmatch(name) is not None


@dataclass(frozen=True, slots=True)
class Finding:
    """One domain's answer; `assumed` when not given and the domain's default stands in.
    `number`: the whole number typed for a numeric domain (age=8 is `child`, number 8)."""

    domain: Domain
    value: ScaleValue
    assumed: bool = False
    number: int | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    scale: Scale
    grade: int  # 0: not graded, or nothing contributes
    findings: tuple[Finding, ...]
    requirement_met: bool
    # Answers left out whose default would change the outcome: the command asks for them.
    undecided: tuple[Domain, ...] = ()
    excluded: Exclusion | None = None
    flags: tuple[Flag, ...] = ()
    alert: Alert | None = None  # the requirement is not met, but the answers alone score >= alert.grade
    ungated_grade: int = 0  # the most severe contribution, requirement or not

    @property
    def deciding(self) -> tuple[Finding, ...]:
        """The answers whose contribution is the grade (several when they tie)."""
        if not self.requirement_met or self.excluded is not None or self.grade == 0:
            return ()
        return tuple(f for f in self.findings if f.value.grade == self.grade)

    @property
    def headline(self) -> str:
        """What the card concludes, as its title: two answers with the same headline decide nothing."""
        scale = self.scale
        if self.excluded is not None:
            return self.excluded.title
        if not self.requirement_met:
            assert scale.requires is not None
            return scale.requires.title or f"No {scale.name}"
        return f"Grade {self.grade} {scale.name}" if self.grade else f"No {scale.name}"


@dataclass
class Resolution:
    """Typed pairs matched against a scale: what was understood, and every problem."""

    chosen: dict[str, ScaleValue] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    unknown_keys: list[str] = field(default_factory=list)
    bad_values: list[tuple[Domain, str]] = field(default_factory=list)
    conflicts: list[tuple[Domain, str, str]] = field(default_factory=list)
    missing: list[Domain] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.unknown_keys or self.bad_values or self.conflicts or self.missing)


def holds(conditions: Iterable[Condition], answers: Mapping[str, str]) -> bool:
    """Every condition holds for the answers (domain id -> value id); an unanswered domain holds none."""
    return all(answers.get(c.domain) in c.values for c in conditions)


class Grader:
    """One scale, with exact lookups of its domains and of their values as typed."""

    def __init__(self, scale: Scale):
        self.scale = scale
        self._domains: Matcher[Domain] = Matcher((d, d.id, d.aliases) for d in scale.domains)
        self._values: dict[str, dict[str, ScaleValue]] = {}
        for d in scale.domains:
            names: dict[str, ScaleValue] = {}
            for v in d.values:
                for name in (v.id, *v.aliases):
                    if d.numeric is not None and is_plain_number(name):
                        continue  # numbers are read by `_number`, never as text
                    names.setdefault(value_key(name), v)
            self._values[d.id] = names

    def domain(self, key: str) -> Domain | None:
        return self._domains.exact(key)

    def read(self, domain: Domain, typed: str) -> tuple[ScaleValue | None, int | None]:
        """The value an answer names, and the number typed for a numeric domain."""
        if domain.numeric is not None:
            number = plain_number(typed)
            if number is not None:
                return self._number(domain, number), number
        return self._values[domain.id].get(value_key(typed)), None

    def value(self, domain: Domain, typed: str) -> ScaleValue | None:
        return self.read(domain, typed)[0]

    @staticmethod
    def _number(domain: Domain, number: int) -> ScaleValue | None:
        assert domain.numeric is not None
        if not domain.numeric.min <= number <= domain.numeric.max:
            return None
        for v in domain.values:
            if v.numbers is not None and v.numbers.min <= number <= v.numbers.max:
                return v
            if v.numbers is None and is_plain_number(v.id) and int(v.id) == number:
                return v
        return None

    def knows(self, key: str) -> bool:
        return self.domain(key) is not None

    def resolve(self, pairs: Iterable[tuple[str, str]]) -> Resolution:
        """Match every pair; collect every problem rather than stopping at the first."""
        out = Resolution()
        typed: dict[str, str] = {}
        for key, text in pairs:
            domain = self.domain(key)
            if domain is None:
                out.unknown_keys.append(key)
                continue
            value, number = self.read(domain, text) if text.strip() else (None, None)
            if value is None:
                out.bad_values.append((domain, text))
                continue
            earlier = out.chosen.get(domain.id)
            if earlier is not None and (earlier.id, out.numbers.get(domain.id)) != (value.id, number):
                out.conflicts.append((domain, typed[domain.id], text))
                continue
            out.chosen[domain.id] = value
            if number is not None:
                out.numbers[domain.id] = number
            typed[domain.id] = text
        answered = {d.id for d, _ in out.bad_values} | {d.id for d, _, _ in out.conflicts} | set(out.chosen)
        out.missing = [d for d in self.scale.domains if d.default is None and not d.optional and d.id not in answered]
        return out

    def assess(self, chosen: Mapping[str, ScaleValue], numbers: Mapping[str, int] | None = None) -> Assessment:
        """The outcome for the answers given; `undecided` names the answers left out whose
        default would change it (every combination of them is tried)."""
        numbers = numbers or {}
        result = self._assess(chosen, numbers)
        left_out = [d for d in self.scale.domains if d.id not in chosen and d.default is not None]
        if not left_out:
            return result
        combos = itertools.islice(itertools.product(*(d.values for d in left_out)), 10_000)
        outcomes = {self._assess({**chosen, **{d.id: v for d, v in zip(left_out, combo)}}, numbers).headline for combo in combos}
        if len(outcomes) == 1:
            return result
        single = [d for d in left_out
                  if len({self._assess({**chosen, d.id: v}, numbers).headline for v in d.values}) > 1]
        return replace(result, undecided=tuple(single or left_out))

    def _assess(self, chosen: Mapping[str, ScaleValue], numbers: Mapping[str, int]) -> Assessment:
        scale = self.scale
        findings = []
        for d in scale.domains:
            value = chosen.get(d.id)
            if value is not None:
                findings.append(Finding(d, value, number=numbers.get(d.id)))
            elif d.default is not None:
                findings.append(Finding(d, next(v for v in d.values if v.id == d.default), assumed=True))
        answers = {f.domain.id: f.value.id for f in findings}
        ungated = max((f.value.grade for f in findings), default=0)
        requires = scale.requires
        met = requires is None or any(answers.get(c.domain) in c.values for c in requires.any_of)
        excluded = next((x for x in scale.excludes if holds(x.all_of, answers)), None)
        flags = tuple(f for f in scale.flags if holds(f.all_of, answers))
        alert = None
        if requires is not None and not met and excluded is None and requires.alert is not None and ungated >= requires.alert.grade:
            alert = requires.alert
        grade = ungated if met and excluded is None else 0
        return Assessment(scale, grade, tuple(findings), met, (), excluded, flags, alert, ungated)


# --------------------------------------------------------------------------- pack checks

Problems = list[tuple[tuple[str | int, ...], str]]


def check_scale(scale: Scale) -> Problems:
    """Consistency problems of one scale, as (path inside the scale, message)."""
    problems: Problems = []
    domain_names: dict[str, int] = {}  # normalised name -> index of the domain that has it
    for i, d in enumerate(scale.domains):
        for j, name in enumerate((d.id, *d.aliases)):
            where = ("domains", i, "aliases", j - 1) if j else ("domains", i, "id")
            key = normalize(name)
            if key in RESERVED_DOMAIN_IDS:
                problems.append((where, f"domain name '{name}' is reserved (the grade command uses it): rename it"))
            elif not key:
                problems.append((where, f"domain name '{name}' has no letters or digits: change it"))
            elif domain_names.setdefault(key, i) != i:
                other = scale.domains[domain_names[key]].id
                problems.append((where, f"domain name '{name}' of domain '{d.id}' is already used by domain '{other}': rename one"))
        problems += _check_values(scale, i, d)
    ids = {d.id: d for d in scale.domains}
    if scale.requires is not None:
        problems += _check_conditions(scale, ids, ("requires", "any_of"), scale.requires.any_of, "requires")
        alert = scale.requires.alert
        if alert is not None and alert.grade > scale.top_grade:
            problems.append((("requires", "alert", "grade"), f"alert grade {alert.grade} is above the scale's top grade {scale.top_grade}: lower it"))
    for k, x in enumerate(scale.excludes):
        problems += _check_conditions(scale, ids, ("excludes", k, "all_of"), x.all_of, "an exclusion")
    for k, f in enumerate(scale.flags):
        problems += _check_conditions(scale, ids, ("flags", k, "all_of"), f.all_of, "a flag")
    if not any(v.grade == scale.top_grade for d in scale.domains for v in d.values):
        problems.append((("top_grade",), f"no answer reaches the top grade {scale.top_grade}: lower top_grade or fix a grade"))
    if not problems:
        problems += _check_example(scale)
    return problems


def _check_conditions(scale: Scale, ids: Mapping[str, Domain], at: tuple[str | int, ...],
                      conditions: Iterable[Condition], what: str) -> Problems:
    problems: Problems = []
    for k, cond in enumerate(conditions):
        where = at + (k,)
        domain = ids.get(cond.domain)
        if domain is None:
            problems.append((where + ("domain",), f"{what} names domain '{cond.domain}', which scale '{scale.id}' does not have"))
            continue
        known = [v.id for v in domain.values]
        for n, value in enumerate(cond.values):
            if value not in known:
                problems.append((where + ("values", n), f"'{value}' is not a value of domain '{domain.id}': use one of {', '.join(known)}"))
    return problems


def _check_values(scale: Scale, i: int, d: Domain) -> Problems:
    """Every name of every value leads to that value only, and nothing can be misread as a number.

    Names are compared after `normalize`, which drops more than `value_key` does, so a name that
    could pass for another value's once punctuation is ignored ("1.0" beside "10") is refused."""
    problems: Problems = []
    names: dict[str, int] = {}  # normalised name -> index of the value that has it
    for k, v in enumerate(d.values):
        at = ("domains", i, "values", k)
        if v.grade > scale.top_grade:
            problems.append((at + ("grade",), f"grade {v.grade} of '{d.id}={v.id}' is impossible: the scale's top grade is {scale.top_grade}"))
        for j, name in enumerate((v.id, *v.aliases)):
            key = normalize(name)
            where = at + (("aliases", j - 1) if j else ("id",))
            if not key:
                problems.append((where, f"value name '{name}' has no letters or digits: change it"))
                continue
            if names.setdefault(key, k) != k:
                other = d.values[names[key]].id
                problems.append((where, f"value name '{name}' of '{d.id}={v.id}' is already used by '{d.id}={other}': rename one"))
            if key.isdigit() and (d.numeric is None or j or not is_plain_number(name)):
                fix = ("give it words, or make the domain numeric (numeric: {min: …, max: …})" if d.numeric is None
                       else "a numeric domain takes numbers only as plain value ids ('7') or as `numbers` ranges")
                problems.append((where, f"value name '{name}' of '{d.id}={v.id}' reads as a number: {fix}"))
        if v.numbers is not None and d.numeric is None:
            problems.append((at + ("numbers",), f"'{d.id}={v.id}' has numbers but domain '{d.id}' is not numeric: add numeric: {{min: …, max: …}} to the domain"))
    if d.default is not None and d.default not in {v.id for v in d.values}:
        problems.append((("domains", i, "default"), f"default '{d.default}' is not a value of domain '{d.id}': use one of {', '.join(v.id for v in d.values)}"))
    if d.numeric is not None:
        problems += _check_numbers(i, d)
    return problems


def _check_numbers(i: int, d: Domain) -> Problems:
    """A numeric domain: each whole number in its range belongs to exactly one value."""
    assert d.numeric is not None
    lo, hi = d.numeric.min, d.numeric.max
    at = ("domains", i, "numeric")
    if lo > hi:
        return [(at, f"numeric range of '{d.id}' is empty: min {lo} is above max {hi}")]
    owner: dict[int, str] = {}
    problems: Problems = []
    for k, v in enumerate(d.values):
        if v.numbers is not None:
            span = range(v.numbers.min, v.numbers.max + 1)
            where = ("domains", i, "values", k, "numbers")
            if v.numbers.min > v.numbers.max or v.numbers.min < lo or v.numbers.max > hi:
                problems.append((where, f"numbers {v.numbers.min}-{v.numbers.max} of '{d.id}={v.id}' are not within {lo}-{hi}: fix the range"))
                continue
        elif is_plain_number(v.id):
            span = range(int(v.id), int(v.id) + 1)
            where = ("domains", i, "values", k, "id")
            if not lo <= int(v.id) <= hi:
                problems.append((where, f"'{d.id}={v.id}' is outside the domain's numbers {lo}-{hi}: fix the value or the range"))
                continue
        else:
            continue  # a worded answer ("unable"), typed as words
        for n in span:
            if owner.setdefault(n, v.id) != v.id:
                problems.append((where, f"number {n} of '{d.id}' belongs to both '{owner[n]}' and '{v.id}': give each number one value"))
                break
    gaps = [n for n in range(lo, hi + 1) if n not in owner]
    if gaps:
        shown = ", ".join(map(str, gaps[:5])) + (" …" if len(gaps) > 5 else "")
        problems.append((at, f"numbers of '{d.id}' without a value: {shown}: add a value for each, or narrow the range"))
    return problems


def _check_example(scale: Scale) -> Problems:
    typed = split_answers(scale.example)
    grader = Grader(scale)
    result = grader.resolve(typed.pairs)
    wrong = [*result.unknown_keys, *(f"{d.id}={t}" for d, t in result.bad_values), *(d.id for d, _, _ in result.conflicts)]
    if typed.lead or wrong or result.missing:
        what = ", ".join([*(f"'{w}'" for w in ([typed.lead] if typed.lead else []) + wrong), *(f"missing '{d.id}'" for d in result.missing)])
        return [(("example",), f"example does not grade on this scale ({what}): write it as key=value answers to every required domain")]
    if grader.assess(result.chosen, result.numbers).undecided:
        left = ", ".join(d.id for d in grader.assess(result.chosen, result.numbers).undecided)
        return [(("example",), f"example leaves out an answer that would change its outcome ({left}): add it")]
    return []
