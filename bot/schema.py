"""Schema of a content pack: what each YAML file may hold.

A pack is a directory of YAML files. Each file is a mapping with any of the top-level keys
of `PackFile`; the loader merges the files and then checks what spans files (duplicate ids
and aliases, references to sources, topics and the default comparison). Grading scales
(`scales`) are checked further by `bot.grading.check_scale`.

Limits on text lengths keep every card inside what Slack and Discord accept once rendered.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=48, pattern=ID_PATTERN)]
Alias = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]

MAX_SUMMARY = 800
MAX_SECTION_BODY = 1800
MAX_NOTE = 600
MAX_ASPECT_CELL = 400
MAX_FACT = 200
MAX_CITATION = 400
MAX_DISCLAIMER = 400
MAX_CRITERION = 200
MAX_QUESTION = 100  # a domain's question is a Discord option description: at most 100 characters
MAX_EXAMPLE = 300
MAX_SCALE_GRADE = 10
MAX_DOMAIN_VALUES = 25  # Discord offers at most 25 choices per option
MAX_SCALE_DOMAINS = 20
MAX_NUMBER = 1000  # the largest whole number a numeric domain may take  # Discord allows 25 options per subcommand; one is `public`
# Discord names subcommands and options with at most 32 characters; scales and domains become both.
OptionId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=ID_PATTERN)]
# Words a scale's domains may not be called: the grade command's own arguments and the
# `public` word every command takes.
RESERVED_DOMAIN_IDS = frozenset({"scale", "answers", "public"})


def text(max_length: int) -> type[str]:
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)]  # type: ignore[return-value]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Note(Strict):
    """A cited clarification attached where the seed article is imprecise or incomplete."""

    text: text(MAX_NOTE)  # type: ignore[valid-type]
    sources: tuple[Id, ...] = Field(min_length=1)


class PackInfo(Strict):
    id: Id
    name: Title
    version: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    description: text(MAX_SUMMARY)  # type: ignore[valid-type]
    disclaimer: text(MAX_DISCLAIMER)  # type: ignore[valid-type]
    default_comparison: Id | None = None
    # The zone daily facts use when a channel subscribes without naming one (IANA name; UTC if none).
    timezone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None
    # The date the pack's content was last checked against its sources: `about` shows it, and
    # so do the footers of cards that quote a label (which may have been revised since).
    as_of: date | None = None


class Source(Strict):
    id: Id
    title: Title
    citation: text(MAX_CITATION)  # type: ignore[valid-type]
    url: Annotated[str, StringConstraints(max_length=300, pattern=r"^https?://\S+$")] | None = None
    caveat: text(MAX_NOTE) | None = None  # type: ignore[valid-type]
    # A prescribing information (label), and the revision it quotes ("Revised 09/2025"). A
    # source whose title or citation says "prescribing information" counts as a label too.
    kind: Literal["label"] | None = None
    revision: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)] | None = None


class Section(Strict):
    id: Id
    title: Title
    body: text(MAX_SECTION_BODY)  # type: ignore[valid-type]
    aliases: tuple[Alias, ...] = ()
    sources: tuple[Id, ...] = ()
    notes: tuple[Note, ...] = ()


class Topic(Strict):
    id: Id
    title: Title
    aliases: tuple[Alias, ...] = ()
    summary: text(MAX_SUMMARY)  # type: ignore[valid-type]
    sources: tuple[Id, ...] = Field(min_length=1)
    sections: tuple[Section, ...] = ()
    tags: tuple[Tag, ...] = ()


class Aspect(Strict):
    id: Id
    title: Title
    aliases: tuple[Alias, ...] = ()
    left: text(MAX_ASPECT_CELL)  # type: ignore[valid-type]
    right: text(MAX_ASPECT_CELL)  # type: ignore[valid-type]
    sources: tuple[Id, ...] = ()
    notes: tuple[Note, ...] = ()


class Comparison(Strict):
    id: Id
    title: Title
    left: Id
    right: Id
    aliases: tuple[Alias, ...] = ()
    summary: text(MAX_SUMMARY) | None = None  # type: ignore[valid-type]
    sources: tuple[Id, ...] = Field(min_length=1)
    aspects: tuple[Aspect, ...] = Field(min_length=1)


class Fact(Strict):
    """A short statement served alone (fact of the day, `fact`): its notes travel with it."""

    id: Id
    text: text(MAX_FACT)  # type: ignore[valid-type]
    tags: tuple[Tag, ...] = Field(min_length=1)
    source: Id
    notes: tuple[Note, ...] = ()


class Numbers(Strict):
    """Whole numbers from `min` to `max`, both included."""

    min: Annotated[StrictInt, Field(ge=0, le=MAX_NUMBER)]
    max: Annotated[StrictInt, Field(ge=0, le=MAX_NUMBER)]


class ScaleValue(Strict):
    """One accepted answer of a domain, and the grade it contributes (0: none).

    In a numeric domain a value whose id is a plain whole number ("7") is that number; a
    value with `numbers` stands for each typed number in that range ("age=8" is `child`)."""

    id: Id
    aliases: tuple[Alias, ...] = ()
    grade: Annotated[StrictInt, Field(ge=0, le=MAX_SCALE_GRADE)]
    criterion: text(MAX_CRITERION)  # type: ignore[valid-type]
    numbers: Numbers | None = None


class Domain(Strict):
    """One question of a grading scale (fever, hypotension, ICE score, ...).

    With `default` the domain may be left out, and that answer stands in only while no other
    answer would change the outcome: otherwise the calculator asks for it. With `optional`
    (and no default) it may be left out and then counts for nothing. With `numeric` the
    answer is a whole number in that range, written plainly ("7"; not "7.0", "+7", "07" or
    "7 0"): anything else is refused, never read as another number."""

    id: OptionId
    title: Title
    aliases: tuple[Alias, ...] = ()
    question: text(MAX_QUESTION)  # type: ignore[valid-type]
    values: tuple[ScaleValue, ...] = Field(min_length=2, max_length=MAX_DOMAIN_VALUES)
    default: Id | None = None
    optional: bool = False
    numeric: Numbers | None = None


class Condition(Strict):
    """Holds when the answer to `domain` is one of `values`."""

    domain: Id
    values: tuple[Id, ...] = Field(min_length=1)


class Alert(Strict):
    """A red-flag line for answers the requirement leaves ungraded although, on their own,
    they would score at least `grade`."""

    grade: Annotated[StrictInt, Field(ge=1, le=MAX_SCALE_GRADE)]
    text: text(MAX_NOTE)  # type: ignore[valid-type]  # cites in its text: "[lee19]"


class Requirement(Strict):
    """What must hold for the condition to be graded at all (CRS: fever, or treatment that can
    mask it). When none of `any_of` holds, the card is titled `title` (default "No <name>")
    and says `text`, whatever else was given."""

    any_of: tuple[Condition, ...] = Field(min_length=1)
    text: text(MAX_NOTE)  # type: ignore[valid-type]
    sources: tuple[Id, ...] = Field(min_length=1)
    title: Title | None = None
    alert: Alert | None = None


class Flag(Strict):
    """A red-flag line shown at the top of the card when every condition holds: answers the
    criteria cannot grade, or that contradict each other. It never lowers the grade."""

    all_of: tuple[Condition, ...] = Field(min_length=1)
    text: text(MAX_NOTE)  # type: ignore[valid-type]  # cites in its text: "[lee19]"


class Exclusion(Strict):
    """Patients the scale does not grade (children, for a score made for adults): when every
    condition holds, the card is titled `title`, says `text`, and shows no grade."""

    all_of: tuple[Condition, ...] = Field(min_length=1)
    title: Title
    text: text(MAX_NOTE)  # type: ignore[valid-type]  # cites in its text: "[lee19]"


class Scale(Strict):
    """A grading scale as data: the grade is the most severe contribution of its domains."""

    id: OptionId
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    title: Title
    aliases: tuple[Alias, ...] = ()
    summary: text(MAX_SUMMARY)  # type: ignore[valid-type]
    top_grade: Annotated[StrictInt, Field(ge=1, le=MAX_SCALE_GRADE)]
    domains: tuple[Domain, ...] = Field(min_length=1, max_length=MAX_SCALE_DOMAINS)
    requires: Requirement | None = None
    excludes: tuple[Exclusion, ...] = ()
    flags: tuple[Flag, ...] = ()
    # Shown on every grade card of this scale (CRS: "assess ICANS too"), with the decision-aid line.
    reminder: text(MAX_NOTE) | None = None  # type: ignore[valid-type]
    example: text(MAX_EXAMPLE)  # type: ignore[valid-type]  # answers as typed: "fever=yes hypotension=fluids"
    notes: tuple[Note, ...] = ()
    sources: tuple[Id, ...] = Field(min_length=1)


# --------------------------------------------------------------------------- synonyms (questions)

MAX_SYNONYM_VARIANTS = 30


class Synonym(Strict):
    """Words people type for a term the pack uses. A question is read as if it said `term`
    ("are steroids used" -> corticosteroids), so a synonym only steers lookups to the pack's own
    words and never adds a claim. The loader checks that `term` occurs in the pack."""

    term: Alias
    variants: tuple[Alias, ...] = Field(min_length=1, max_length=MAX_SYNONYM_VARIANTS)


class PackFile(Strict):
    """One YAML file of a pack. Every key is optional; the pack as a whole must have `pack`."""

    pack: PackInfo | None = None
    sources: tuple[Source, ...] = ()
    topics: tuple[Topic, ...] = ()
    comparisons: tuple[Comparison, ...] = ()
    facts: tuple[Fact, ...] = ()
    scales: tuple[Scale, ...] = ()
    synonyms: tuple[Synonym, ...] = ()
