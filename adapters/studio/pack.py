"""What the studio shows of a pack: the index of everything in it, each card as the three
platforms receive it, the grading scales as tables, and which sources are cited where.

Cards come from the engine (`engine.execute`, the path every adapter takes) and are rendered
by the platform renderers themselves; nothing here builds a card or a payload of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from adapters.discord.render import render_message as discord_message
from adapters.slack.render import render_message as slack_message
from bot.citations import cited_keys, sources_of
from bot.engine import Engine
from bot.reply import Reply
from bot.schema import Scale

from .limits import Flag, all_flags
from .terminal import terminal_html, terminal_plain

INDEX_SHOWN = 400  # entries listed at once; a search narrows a large pack
KINDS = ("topic", "section", "comparison", "aspect", "fact", "source", "scale", "command")
KIND_LABELS = {"topic": "Topics", "section": "Sections", "comparison": "Comparisons", "aspect": "Aspects",
               "fact": "Facts", "source": "Sources", "scale": "Grading scales", "command": "Commands"}


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing the pack holds, and the command line that shows its card."""

    kind: str
    label: str
    line: str
    choice: str | None = None  # its name in autocomplete, where it has one
    parent: str = ""  # the topic or comparison a section or aspect belongs to
    words: str = field(default="", compare=False)  # what a search matches (casefolded)


def entries(engine: Engine) -> list[Entry]:
    cat = engine.catalog
    out: list[Entry] = []

    def add(kind: str, label: str, line: str, choice: str | None = None, parent: str = "", extra: Iterable[str] = ()) -> None:
        out.append(Entry(kind, label, line, choice, parent, " ".join((label, line, *extra)).casefold()))

    for t in cat.topics.values():
        add("topic", t.title, f"topic {t.id}", t.title, extra=(*t.aliases, *t.tags))
        for s in t.sections:
            add("section", f"{t.title}: {s.title}", f"topic {t.id} {s.id}", parent=t.id, extra=s.aliases)
    for c in cat.comparisons.values():
        add("comparison", c.title, f"compare {c.left} {c.right}", c.title, extra=c.aliases)
        for a in c.aspects:
            add("aspect", f"{c.title}: {a.title}", f"compare {c.left} {c.right} {a.id}", a.title, c.id, a.aliases)
    for f in cat.facts.values():
        add("fact", f"{f.id}: {f.text}", f"fact {f.id}", f"{f.id}: {f.text}", extra=f.tags)
    for s in cat.sources.values():
        add("source", f"[{s.id}] {s.title}", f"sources {s.id}", f"{s.id}: {s.title}")
    for sc in cat.scales.values():
        add("scale", sc.title, f"grade {sc.id} {sc.example}", extra=(sc.id, sc.name, *sc.aliases))
    for spec in engine.registry:
        add("command", f"{spec.name}: {spec.summary}", f"help {spec.name}", f"{spec.name}: {spec.summary}", extra=spec.aliases)
    return out


def choice_of(engine: Engine, line: str) -> str | None:
    """The autocomplete name of what `line` shows (as `entries` gives it), without listing the pack."""
    cat = engine.catalog
    words = line.split()
    kind, ids = (words[0], words[1:]) if words else ("", [])
    if kind == "topic" and len(ids) == 1 and ids[0] in cat.topics:
        return cat.topics[ids[0]].title
    if kind == "compare" and len(ids) in (2, 3):
        c = cat.comparison_between(ids[0], ids[1])
        if c is not None and len(ids) == 2:
            return c.title
        if c is not None:
            return next((a.title for a in c.aspects if a.id == ids[2]), None)
    if kind == "fact" and len(ids) == 1 and ids[0] in cat.facts:
        return f"{ids[0]}: {cat.facts[ids[0]].text}"
    if kind == "sources" and len(ids) == 1 and ids[0] in cat.sources:
        return f"{ids[0]}: {cat.sources[ids[0]].title}"
    if kind == "help" and len(ids) == 1:
        spec = next((s for s in engine.registry if s.name == ids[0]), None)
        return f"{spec.name}: {spec.summary}" if spec is not None else None
    return None


def search(all_entries: list[Entry], query: str) -> list[Entry]:
    """Entries whose label, command line, aliases or tags hold every word of `query`."""
    words = query.casefold().split()
    if not words:
        return all_entries
    return [e for e in all_entries if all(w in e.words for w in words)]


def grouped(found: list[Entry], shown: int = INDEX_SHOWN) -> tuple[list[tuple[str, list[Entry]]], int]:
    """(kind label, entries) groups of the first `shown` entries, and how many were left out."""
    groups: dict[str, list[Entry]] = {}
    for e in found[:shown]:
        groups.setdefault(e.kind, []).append(e)
    return [(KIND_LABELS[k], groups[k]) for k in KINDS if k in groups], max(0, len(found) - shown)


@dataclass(frozen=True, slots=True)
class CardView:
    line: str
    reply: Reply
    slack: dict
    discord: dict
    terminal: object  # Markup
    plain: str
    flags: list[Flag]

    @property
    def slack_json(self) -> str:
        # Block Kit Builder takes {"blocks": [...]}: paste this as is.
        return json.dumps({"blocks": self.slack["blocks"]}, ensure_ascii=False, indent=2)

    @property
    def discord_json(self) -> str:
        return json.dumps(self.discord, ensure_ascii=False, indent=2)

    @property
    def reply_json(self) -> str:
        return json.dumps(self.reply.to_dict(), ensure_ascii=False, indent=2)


def card_view(engine: Engine, line: str, choices: Iterable[str] = ()) -> CardView:
    """A command line's reply, rendered by the three platform renderers, with its limit flags."""
    return view_of(line, engine.execute(line), choices)


def view_of(line: str, reply: Reply, choices: Iterable[str] = ()) -> CardView:
    slack, discord = slack_message(reply), discord_message(reply)
    return CardView(line, reply, slack, discord, terminal_html(reply), terminal_plain(reply),
                    all_flags(reply, slack, discord, choices))


# --------------------------------------------------------------------------- grading scales

@dataclass(frozen=True, slots=True)
class ScaleRow:
    domain: object  # schema Domain
    cells: list[list[object]]  # per grade 0..top_grade: the domain's values that give that grade


def scale_table(scale: Scale) -> tuple[list[int], list[ScaleRow]]:
    """Domains by grade, as the pack defines them: grades 0..top_grade as columns."""
    grades = list(range(scale.top_grade + 1))
    rows = []
    for domain in scale.domains:
        cells: list[list[object]] = [[] for _ in grades]
        for value in domain.values:
            if value.grade < len(cells):
                cells[value.grade].append(value)
        rows.append(ScaleRow(domain, cells))
    return grades, rows


def scale_sources(scale: Scale) -> list[str]:
    ids = [*scale.sources, *(s for n in scale.notes for s in n.sources)]
    if scale.requires is not None:
        ids += scale.requires.sources
    return list(dict.fromkeys(ids))


# --------------------------------------------------------------------------- coverage

@dataclass(frozen=True, slots=True)
class Citing:
    label: str
    line: str


def coverage(engine: Engine) -> list[tuple[object, list[Citing]]]:
    """Every source with the entries that cite it (declared, through a note, or in their text)."""
    cat = engine.catalog
    where: dict[str, list[Citing]] = {sid: [] for sid in cat.sources}

    def cite(ids: Iterable[str], label: str, line: str) -> None:
        for sid in dict.fromkeys(ids):
            if sid in where:
                where[sid].append(Citing(label, line))

    for t in cat.topics.values():
        cite([*sources_of(t), *cited_keys(t.summary)], t.title, f"topic {t.id}")
        for s in t.sections:
            cite([*sources_of(s, t), *cited_keys(s.body)], f"{t.title}: {s.title}", f"topic {t.id} {s.id}")
    for c in cat.comparisons.values():
        cite([*sources_of(c), *cited_keys(c.summary or "")], c.title, f"compare {c.left} {c.right}")
        for a in c.aspects:
            cite([*sources_of(a, c), *cited_keys(f"{a.left} {a.right}")], f"{c.title}: {a.title}",
                 f"compare {c.left} {c.right} {a.id}")
    for f in cat.facts.values():
        cite([*sources_of(f), *cited_keys(f.text)], f"Fact {f.id}", f"fact {f.id}")
    for sc in cat.scales.values():
        cite(scale_sources(sc), sc.title, f"grade {sc.id} {sc.example}")
    return [(cat.sources[sid], found) for sid, found in where.items()]
