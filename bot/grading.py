"""Grading scales interpreted from pack data: answers in, the grade and its reasons out.

The code knows no scale. A scale (`bot.schema.Scale`) lists domains, each answer's grade
contribution and, optionally, a requirement for the condition to be present at all. The
grade is the most severe contribution; "none" when the requirement fails or nothing
contributes. Values are matched exactly (after normalisation), never fuzzily: a guessed
answer could under-grade a patient.

`check_scale` is the loader's consistency check of one scale, so a pack cannot carry a scale
this module would misread.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .matcher import Matcher
from .normalize import normalize
from .schema import RESERVED_DOMAIN_IDS, Domain, Scale, ScaleValue

# `key=value`, `key: value`, `key = value`: a key is one word; its value runs to the next key.
_KEY = re.compile(r"(?<![\w-])([^\W\d_][\w-]*)\s*[:=]\s*")
_TRIM = " ,;."


@dataclass(frozen=True, slots=True)
class Typed:
    """Free text split into leading words (a scale name, perhaps) and key/value pairs."""

    lead: str
    pairs: tuple[tuple[str, str], ...]


def split_answers(text: str) -> Typed:
    """ "crs fever=yes, hypotension: fluids" -> lead "crs", pairs (fever, yes), (hypotension, fluids)."""
    marks = list(_KEY.finditer(text))
    if not marks:
        return Typed(text.strip(_TRIM), ())
    pairs = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        pairs.append((mark.group(1), text[mark.end() : end].strip(_TRIM)))
    return Typed(text[: marks[0].start()].strip(_TRIM), tuple(pairs))


@dataclass(frozen=True, slots=True)
class Finding:
    """One domain's answer; `assumed` when not given and the domain's default stands in."""

    domain: Domain
    value: ScaleValue
    assumed: bool = False


@dataclass(frozen=True, slots=True)
class Alternative:
    """What a different answer to an assumed domain would make the grade."""

    domain: Domain
    value: ScaleValue
    grade: int


@dataclass(frozen=True, slots=True)
class Assessment:
    scale: Scale
    grade: int  # 0: the condition is absent ("No CRS")
    findings: tuple[Finding, ...]
    requirement_met: bool
    alternatives: tuple[Alternative, ...] = ()

    @property
    def deciding(self) -> tuple[Finding, ...]:
        """The answers whose contribution is the grade (several when they tie)."""
        if not self.requirement_met or self.grade == 0:
            return ()
        return tuple(f for f in self.findings if f.value.grade == self.grade)


@dataclass
class Resolution:
    """Typed pairs matched against a scale: what was understood, and every problem."""

    chosen: dict[str, ScaleValue] = field(default_factory=dict)
    unknown_keys: list[str] = field(default_factory=list)
    bad_values: list[tuple[Domain, str]] = field(default_factory=list)
    conflicts: list[tuple[Domain, str, str]] = field(default_factory=list)
    missing: list[Domain] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.unknown_keys or self.bad_values or self.conflicts or self.missing)


class Grader:
    """One scale, with exact-name lookups of its domains and their values."""

    def __init__(self, scale: Scale):
        self.scale = scale
        self._domains: Matcher[Domain] = Matcher((d, d.id, d.aliases) for d in scale.domains)
        self._values = {d.id: Matcher((v, v.id, v.aliases) for v in d.values) for d in scale.domains}

    def domain(self, key: str) -> Domain | None:
        return self._domains.exact(key)

    def value(self, domain: Domain, typed: str) -> ScaleValue | None:
        return self._values[domain.id].exact(typed)

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
            value = self.value(domain, text) if normalize(text) else None
            if value is None:
                out.bad_values.append((domain, text))
                continue
            earlier = out.chosen.get(domain.id)
            if earlier is not None and earlier.id != value.id:
                out.conflicts.append((domain, typed[domain.id], text))
                continue
            out.chosen[domain.id] = value
            typed[domain.id] = text
        answered = {d.id for d, _ in out.bad_values} | {d.id for d, _, _ in out.conflicts} | set(out.chosen)
        out.missing = [d for d in self.scale.domains if d.default is None and d.id not in answered]
        return out

    def assess(self, chosen: Mapping[str, ScaleValue]) -> Assessment:
        """The grade for a complete set of answers (optional domains may be left out)."""
        grade, met, findings = self._grade(chosen)
        alternatives = []
        for f in findings:
            if f.assumed:
                for other in f.domain.values:
                    other_grade = self._grade({**chosen, f.domain.id: other})[0]
                    if other_grade > grade:
                        alternatives.append(Alternative(f.domain, other, other_grade))
        return Assessment(self.scale, grade, findings, met, tuple(alternatives))

    def _grade(self, chosen: Mapping[str, ScaleValue]) -> tuple[int, bool, tuple[Finding, ...]]:
        findings = []
        for d in self.scale.domains:
            value = chosen.get(d.id)
            if value is None:
                value = next(v for v in d.values if v.id == d.default)
                findings.append(Finding(d, value, assumed=True))
            else:
                findings.append(Finding(d, value))
        by_domain = {f.domain.id: f.value.id for f in findings}
        requires = self.scale.requires
        met = requires is None or any(by_domain.get(c.domain) in c.values for c in requires.any_of)
        grade = max(f.value.grade for f in findings) if met else 0
        return grade, met, tuple(findings)


# --------------------------------------------------------------------------- pack checks


def check_scale(scale: Scale) -> list[tuple[tuple[str | int, ...], str]]:
    """Consistency problems of one scale, as (path inside the scale, message)."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
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
        for k, cond in enumerate(scale.requires.any_of):
            where = ("requires", "any_of", k)
            domain = ids.get(cond.domain)
            if domain is None:
                problems.append((where + ("domain",), f"requires names domain '{cond.domain}', which scale '{scale.id}' does not have"))
                continue
            known = {v.id for v in domain.values}
            for n, value in enumerate(cond.values):
                if value not in known:
                    problems.append((where + ("values", n), f"'{value}' is not a value of domain '{domain.id}': use one of {', '.join(known)}"))
    if not any(v.grade == scale.top_grade for d in scale.domains for v in d.values):
        problems.append((("top_grade",), f"no answer reaches the top grade {scale.top_grade}: lower top_grade or fix a grade"))
    if not problems:
        problems += _check_example(scale)
    return problems


def _check_values(scale: Scale, i: int, d: Domain) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
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
            elif names.setdefault(key, k) != k:
                other = d.values[names[key]].id
                problems.append((where, f"value name '{name}' of '{d.id}={v.id}' is already used by '{d.id}={other}': rename one"))
    if d.default is not None and d.default not in {v.id for v in d.values}:
        problems.append((("domains", i, "default"), f"default '{d.default}' is not a value of domain '{d.id}': use one of {', '.join(v.id for v in d.values)}"))
    return problems


def _check_example(scale: Scale) -> list[tuple[tuple[str | int, ...], str]]:
    typed = split_answers(scale.example)
    result = Grader(scale).resolve(typed.pairs)
    wrong = [*result.unknown_keys, *(f"{d.id}={t}" for d, t in result.bad_values), *(d.id for d, _, _ in result.conflicts)]
    if typed.lead or wrong or result.missing:
        what = ", ".join([*(f"'{w}'" for w in ([typed.lead] if typed.lead else []) + wrong), *(f"missing '{d.id}'" for d in result.missing)])
        return [(("example",), f"example does not grade on this scale ({what}): write it as key=value answers to every required domain")]
    return []
