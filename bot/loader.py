"""Load a content pack from a directory of YAML files, validating it as a whole.

Which files are read, and within which limits, is `bot.reading`'s business; this module
validates what it read. Every problem names the file, the line and what to
change, and a pack with any problem is refused whole: half a pack is worse than none for
medical reference text.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .citations import cited_keys
from .grading import check_scale
from .normalize import normalize
from .reading import Budget, PackProblem, Path_, pack_files, parse_bytes, read_bytes
from .reading import PackFileText as _File
from .reading import type_name as _type_name
from .pack_state import FileState, FreshFile, StoredFile, resolved
from .schema import Comparison, Fact, PackFile, PackInfo, Scale, Source, Synonym, Topic

__all__ = ["Pack", "PackError", "PackProblem", "bundled_content_dir", "content_dir_from_env", "load_pack"]


MAX_PROBLEMS = 200  # listed in full; a file of 100,000 wrong items says so in one more line


class PackError(Exception):
    """The pack cannot be used; `problems` lists every reason found (the first MAX_PROBLEMS)."""

    def __init__(self, problems: list[PackProblem]):
        if len(problems) > MAX_PROBLEMS:
            rest = len(problems) - MAX_PROBLEMS
            problems = [*problems[:MAX_PROBLEMS], PackProblem("(pack)", None, f"... and {rest:,} more problems: fix the ones above first")]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Pack:
    """A validated content pack. Lookup structures live in `bot.catalog`, not here."""

    directory: Path
    info: PackInfo
    sources: dict[str, Source]
    topics: tuple[Topic, ...]
    comparisons: tuple[Comparison, ...]
    facts: tuple[Fact, ...]
    files: tuple[str, ...] = field(default=())
    scales: tuple[Scale, ...] = field(default=())
    synonyms: tuple[Synonym, ...] = ()
    # What a later load of the same directory may reuse, file by file (see FileState).
    states: Mapping[str, FileState] = field(default_factory=dict, compare=False, repr=False)


def bundled_content_dir() -> Path:
    """The pack shipped with cytobot: inside the wheel, or `content/` beside `bot/` in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_bundled_content", here.parent / "content"):
        if candidate.is_dir():
            return candidate
    return here.parent / "content"


def content_dir_from_env() -> Path:
    """`CYTOBOT_CONTENT_DIR` if set, else the bundled pack; never the working directory."""
    value = os.environ.get("CYTOBOT_CONTENT_DIR", "").strip()
    return Path(value).expanduser().resolve() if value else bundled_content_dir()


# --------------------------------------------------------------------------- validation messages


def _dotted(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(err: dict[str, Any], data: Any) -> str:
    loc = tuple(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    where = _dotted(loc)
    owner = _owner_id(data, loc)
    prefix = f"{where}{f' (in {owner})' if owner else ''}"
    if kind == "extra_forbidden":
        return f"{prefix}: unknown key '{loc[-1]}': remove it or check its spelling"
    if kind == "missing":
        return f"{prefix}: missing required field '{loc[-1]}': add it"
    if kind == "string_too_long":
        return (
            f"{prefix}: text is {len(value)} characters; the limit is {ctx.get('max_length')}: shorten it"
        )
    if kind == "string_too_short":
        return f"{prefix}: must not be empty: write some text"
    if kind == "string_pattern_mismatch":
        if loc and loc[-1] == "url":
            return f"{prefix}: '{value}' is not a web address: use http(s)://…"
        return f"{prefix}: '{value}' is not a valid id: use lowercase letters, digits and hyphens (e.g. 'il-6')"
    if kind == "too_short":
        return f"{prefix}: needs at least {ctx.get('min_length', 1)} item(s)"
    if kind == "too_long":
        return f"{prefix}: has {ctx.get('actual_length')} items; the limit is {ctx.get('max_length')}: remove some"
    if kind == "int_type":
        return f"{prefix}: expected a whole number, got {_type_name(value)}{f' ({value!r})' if isinstance(value, (str, float)) else ''}"
    if kind in {"greater_than_equal", "less_than_equal"}:
        bound = f"at least {ctx.get('ge')}" if kind == "greater_than_equal" else f"at most {ctx.get('le')}"
        return f"{prefix}: {value} is impossible here: it must be {bound}"
    if kind in {"string_type", "tuple_type", "list_type", "model_type", "model_attributes_type", "dict_type"}:
        expected = {
            "string_type": "text",
            "tuple_type": "a list",
            "list_type": "a list",
            "model_type": "a mapping",
            "model_attributes_type": "a mapping",
            "dict_type": "a mapping",
        }[kind]
        quote = ""
        if expected == "text" and isinstance(value, (bool, int, float)):
            quote = f" (YAML read it as {_type_name(value)}: put the value in quotes)"
        return f"{prefix}: expected {expected}, got {_type_name(value)}{quote}"
    return f"{prefix}: {err['msg']}"


def _echo_of_item_error(err: dict[str, Any], errors: list[dict[str, Any]]) -> bool:
    """A list whose only item is wrong is also "too short": say only what is wrong with the item."""
    if err["type"] != "too_short":
        return False
    loc = tuple(err["loc"])
    return any(len(other["loc"]) > len(loc) and tuple(other["loc"][: len(loc)]) == loc for other in errors)


def _owner_id(data: Any, loc: tuple[Any, ...]) -> str | None:
    """Name the innermost entity with an id along `loc`, so messages say which topic etc."""
    names = {"topics": "topic", "sources": "source", "comparisons": "comparison", "facts": "fact",
             "sections": "section", "aspects": "aspect", "scales": "scale", "domains": "domain", "values": "value",
             "synonyms": "synonym"}
    found: list[str] = []
    node = data
    for i, part in enumerate(loc):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(part, int) and isinstance(node, dict) and isinstance(node.get("id"), str):
            kind = names.get(str(loc[i - 1]), "item") if i else "item"
            found.append(f"{kind} '{node['id']}'")
    return ", ".join(found) or None


# --------------------------------------------------------------------------- loading


def load_pack(directory: str | os.PathLike[str], previous: Pack | None = None) -> Pack:
    """Load and validate the pack in `directory`; raise PackError listing every problem.

    With `previous` (an earlier load of the same directory), files whose bytes are unchanged
    are not parsed or validated again: their models are reused. The checks across files
    (ids, aliases, citations, references) always run over the whole pack, so an edit that
    breaks a reference in an untouched file is refused as a cold load would refuse it."""
    root = Path(directory)
    if not root.is_dir():
        raise PackError([PackProblem(str(root), None, "content directory does not exist: check CYTOBOT_CONTENT_DIR")])
    problems: list[PackProblem] = []
    files = pack_files(root, problems)
    if not files and not problems:
        raise PackError([PackProblem(str(root), None, "no .yaml files found: a pack needs at least pack.yaml")])

    known = previous.states if previous is not None else {}
    parsed: list[tuple[FreshFile | StoredFile, PackFile]] = []
    states: dict[str, FileState] = {}
    budget = Budget()
    for path, name in files:
        raw = read_bytes(path, name, problems, budget)
        if raw is None:
            continue
        digest = hashlib.sha256(raw).digest()
        state = known.get(name)
        if state is not None and state.digest == digest and state.size == len(raw):
            budget.nodes = max(0, budget.nodes - state.nodes)
            parsed.append((StoredFile(path, name, state), state.model))
            states[name] = state
            continue
        nodes_before = budget.nodes
        f = parse_bytes(raw, name, problems, budget)
        if f is None:
            continue
        try:
            model = PackFile.model_validate(f.data)
        except ValidationError as exc:
            errors = exc.errors()
            for err in errors:
                if not _echo_of_item_error(err, errors):
                    problems.append(PackProblem(name, f.line(tuple(err["loc"])), _describe(err, f.data)))
            continue
        parsed.append((FreshFile(f), model))
        states[name] = FileState(digest, len(raw), nodes_before - budget.nodes, model,
                                 tuple((key, at) for key, _, at in _text_refs(f)))

    if problems:
        # Cross-file checks would only repeat these (a rejected sources.yaml leaves every citation dangling).
        problems.append(PackProblem(str(root), None, "cross-file checks (ids, aliases, references) run once every file above is valid"))
        raise PackError([resolved(p) for p in problems])
    pack = _check_whole(root, parsed, problems, states)
    if problems:
        raise PackError([resolved(p) for p in problems])
    assert pack is not None
    return pack


class _Registry:
    """Tracks where each id/alias was first defined, to report clashes across files."""

    def __init__(self, what: str, problems: list[PackProblem]):
        self.what = what
        self.problems = problems
        self.seen: dict[str, tuple[str, int | None, str, object]] = {}

    def add(self, key: str, shown: str, file: str, line: int | None, owner: str, ident: object = None) -> None:
        """`ident` tells entities apart: the same alias twice on one entity is harmless."""
        if not key:
            self.problems.append(PackProblem(file, line, f"{self.what} '{shown}' has no letters or digits: change it"))
            return
        if key in self.seen:
            other_file, other_line, other_owner, other_ident = self.seen[key]
            if ident is not None and other_ident == ident:
                return  # an alias repeating its own id or another alias of the same thing is harmless
            where = f"{other_file}:{other_line}" if other_line else other_file
            self.problems.append(
                PackProblem(file, line, f"{self.what} '{shown}' of {owner} is already used by {other_owner} ({where}): rename one")
            )
            return
        self.seen[key] = (file, line, owner, ident)


def _check_whole(root: Path, parsed: list[tuple[FreshFile | StoredFile, PackFile]], problems: list[PackProblem],
                 states: Mapping[str, FileState]) -> Pack | None:
    info: PackInfo | None = None
    info_at = ""
    info_lines: dict[str, int | None] = {}
    sources: dict[str, Source] = {}
    topics: list[Topic] = []
    comparisons: list[Comparison] = []
    facts: list[Fact] = []
    scales: list[Scale] = []
    refs: list[tuple[str, str, int | None, str]] = []  # (source id, file, line, who)
    topic_refs: list[tuple[str, str, int | None, str]] = []
    cited_in_text: list[tuple[str, FreshFile | StoredFile, Path_]] = []

    source_ids = _Registry("source id", problems)
    names = _Registry("name", problems)  # ids and aliases of topics and comparisons share one namespace
    fact_ids = _Registry("fact id", problems)
    scale_names = _Registry("scale name", problems)

    for f, pf in parsed:
        if pf.pack is not None:
            if info is not None:
                problems.append(PackProblem(f.name, f.line(("pack",)), f"`pack:` is already defined in {info_at}: keep one"))
            else:
                info, info_at = pf.pack, f.name
                info_lines = {key: f.line(("pack", key)) for key in ("default_comparison", "disclaimer", "timezone")}
        for i, s in enumerate(pf.sources):
            source_ids.add(s.id, s.id, f.name, f.line(("sources", i)), f"source '{s.id}'")
            sources.setdefault(s.id, s)
        for i, t in enumerate(pf.topics):
            at = ("topics", i)
            owner = f"topic '{t.id}'"
            refs += _register(names, f, at, t, owner)
            _check_children(f, at, "sections", t.sections, owner, problems, refs)
            topics.append(t)
        for i, c in enumerate(pf.comparisons):
            at = ("comparisons", i)
            owner = f"comparison '{c.id}'"
            refs += _register(names, f, at, c, owner)
            topic_refs += [(c.left, f.name, f.line(at + ("left",)), owner), (c.right, f.name, f.line(at + ("right",)), owner)]
            if c.left == c.right:
                problems.append(PackProblem(f.name, f.line(at + ("right",)), f"{owner} compares '{c.left}' with itself: pick two topics"))
            _check_children(f, at, "aspects", c.aspects, owner, problems, refs)
            comparisons.append(c)
        for i, fact in enumerate(pf.facts):
            who = f"fact '{fact.id}'"
            fact_ids.add(fact.id, fact.id, f.name, f.line(("facts", i, "id")), who)
            refs.append((fact.source, f.name, f.line(("facts", i, "source")), who))
            refs += _note_refs(f, ("facts", i), fact.notes, who)
            facts.append(fact)
        for i, scale in enumerate(pf.scales):
            refs += _check_scale(scale_names, f, ("scales", i), scale, problems)
            scales.append(scale)
        cited_in_text += [(key, f, at) for key, at in states[f.name].cited]

    # Where an in-text citation is named only for the ones that fail: naming costs a walk.
    refs += [(key, f.name, f.line(path), f"{_owner_id(f.data, path) or _dotted(path)} (in its text)")
             for key, f, path in cited_in_text if key not in sources]

    for sid, file, line, who in refs:
        if sid not in sources:
            problems.append(PackProblem(file, line, f"{who} cites source '{sid}', which no file defines: add it to sources or fix the id"))
    topic_ids = {t.id for t in topics}
    for tid, file, line, who in topic_refs:
        if tid not in topic_ids:
            problems.append(PackProblem(file, line, f"{who} refers to topic '{tid}', which no file defines: fix the id"))
    if info is None:
        if parsed or not problems:
            problems.append(PackProblem(str(root), None, "no file defines `pack:` (id, name, version, description, disclaimer): add pack.yaml"))
        return None
    if info.default_comparison and info.default_comparison not in {c.id for c in comparisons}:
        problems.append(
            PackProblem(info_at, info_lines["default_comparison"], f"default_comparison '{info.default_comparison}' is not a comparison id: fix it or remove it")
        )
    if info.timezone and not _is_zone(info.timezone):
        problems.append(PackProblem(info_at, info_lines["timezone"], f"timezone '{info.timezone}' is not an IANA time zone name: use e.g. Europe/Berlin or UTC"))
    if "not medical advice" not in info.disclaimer.casefold() and "not advice" not in info.disclaimer.casefold():
        problems.append(PackProblem(info_at, info_lines["disclaimer"], "disclaimer must say the text is 'not medical advice' (or 'not advice')"))
    synonyms = _check_synonyms(parsed, topics, comparisons, facts, problems)
    return Pack(root, info, sources, tuple(topics), tuple(comparisons), tuple(facts), tuple(f.name for f, _ in parsed),
                tuple(scales), synonyms, dict(states))


def _is_zone(name: str) -> bool:
    from .daily.schedule import UnknownZone, zone

    try:
        zone(name)
    except UnknownZone:
        return False
    return True


def _register(registry: _Registry, f: _File, at: Path_, entity: Any, owner: str) -> list[tuple[str, str, int | None, str]]:
    """Enter an entity's id and aliases in `registry`; return the sources it cites, with lines."""
    for j, alias in enumerate((entity.id, *entity.aliases)):
        where = at + (("aliases", j - 1) if j else ("id",))
        registry.add(normalize(alias), alias, f.name, f.line(where), owner, (f.name, at))
    return [(s, f.name, f.line(at + ("sources", k)), owner) for k, s in enumerate(entity.sources)]


def _check_children(
    f: _File, at: Path_, key: str, children: Iterable[Any], owner: str,
    problems: list[PackProblem], refs: list[tuple[str, str, int | None, str]],
) -> None:
    """Sections of a topic / aspects of a comparison: ids and aliases unique within their parent."""
    local = _Registry(f"{key[:-1]} name", problems)
    for i, child in enumerate(children):
        path = at + (key, i)
        who = f"{key[:-1]} '{child.id}' of {owner}"
        refs += _register(local, f, path, child, who)
        refs += _note_refs(f, path, child.notes, who)


def _note_refs(f: _File, path: Path_, notes: Iterable[Any], who: str) -> list[tuple[str, str, int | None, str]]:
    return [(s, f.name, f.line(path + ("notes", n, "sources", k)), who) for n, note in enumerate(notes) for k, s in enumerate(note.sources)]


def _text_refs(f: _File) -> list[tuple[str, _File, Path_]]:
    """In-text citations ("[lee19]") anywhere but in `sources`, so each must name a defined source."""
    found: list[tuple[str, _File, Path_]] = []

    def walk(value: Any, path: Path_) -> None:
        if isinstance(value, str):
            if "[" in value:
                found.extend((key, f, path) for key in cited_keys(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, path + (str(key),))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, path + (index,))

    for key, value in f.data.items():
        if key != "sources":
            walk(value, (str(key),))
    return found


def _check_scale(
    registry: _Registry, f: _File, at: Path_, scale: Scale, problems: list[PackProblem]
) -> list[tuple[str, str, int | None, str]]:
    """A grading scale: its names unique among scales, its data consistent; return its citations."""
    owner = f"scale '{scale.id}'"
    refs = _register(registry, f, at, scale, owner)
    for path, message in check_scale(scale):
        problems.append(PackProblem(f.name, f.line(at + path), f"{_dotted(at + path)} (in {owner}): {message}"))
    refs += _note_refs(f, at, scale.notes, owner)
    if scale.requires is not None:
        refs += [(s, f.name, f.line(at + ("requires", "sources", k)), owner) for k, s in enumerate(scale.requires.sources)]
    return refs


# --------------------------------------------------------------------------- synonyms (questions)


def _check_synonyms(
    parsed: list[tuple[_File, PackFile]], topics: list[Topic], comparisons: list[Comparison], facts: list[Fact],
    problems: list[PackProblem],
) -> tuple[Synonym, ...]:
    """Each variant leads to one term, no term is itself a variant (no chains), and every term
    occurs in the pack: a synonym may only steer a question towards the pack's own words."""
    entries: list[tuple[Synonym, _File, int]] = [(s, f, i) for f, pf in parsed for i, s in enumerate(pf.synonyms)]
    if not entries:
        return ()
    terms = _Registry("synonym term", problems)
    variants = _Registry("synonym variant", problems)
    term_keys: dict[str, str] = {}
    for syn, f, i in entries:
        at = ("synonyms", i)
        term_key = normalize(syn.term)
        terms.add(term_key, syn.term, f.name, f.line(at + ("term",)), f"synonym '{syn.term}'")
        term_keys.setdefault(term_key, syn.term)
        for j, variant in enumerate(syn.variants):
            key, line = normalize(variant), f.line(at + ("variants", j))
            if key == term_key:
                problems.append(PackProblem(f.name, line, f"variant '{variant}' is the term '{syn.term}' itself: remove it"))
                continue
            variants.add(key, variant, f.name, line, f"synonym '{syn.term}'", (f.name, at))
    for key, (file, line, owner, _) in variants.seen.items():
        if key in term_keys:
            problems.append(PackProblem(file, line, f"variant '{term_keys[key]}' of {owner} is itself a synonym term: "
                                                    "list its variants under one term (no chains)"))
    corpus = _Corpus(topics, comparisons, facts)
    for syn, f, i in entries:
        if not corpus.holds(syn.term):
            problems.append(PackProblem(f.name, f.line(("synonyms", i, "term")),
                                        f"term '{syn.term}' appears nowhere in the pack's topics, comparisons or facts: "
                                        "a synonym must lead to words the pack uses"))
    return tuple(syn for syn, _, _ in entries)


class _Corpus:
    """Every name and text of the pack, case-folded, one entity at a time and only as far as
    needed: a synonym's term is usually found in the first few topics, so a large pack is not
    folded into one string on every load."""

    def __init__(self, topics: list[Topic], comparisons: list[Comparison], facts: list[Fact]):
        self._source = iter(self._parts(topics, comparisons, facts))
        self._chunks: list[str] = []

    @staticmethod
    def _parts(topics: list[Topic], comparisons: list[Comparison], facts: list[Fact]) -> Iterator[list[str]]:
        for t in topics:
            parts = [t.id, t.title, t.summary, *t.aliases, *t.tags]
            for s in t.sections:
                parts += [s.id, s.title, s.body, *s.aliases, *(n.text for n in s.notes)]
            yield parts
        for c in comparisons:
            parts = [c.id, c.title, c.summary or "", *c.aliases]
            for a in c.aspects:
                parts += [a.id, a.title, a.left, a.right, *a.aliases, *(n.text for n in a.notes)]
            yield parts
        for fact in facts:
            yield [fact.id, fact.text, *fact.tags, *(n.text for n in fact.notes)]

    def _all(self) -> Iterator[str]:
        yield from self._chunks
        for parts in self._source:
            chunk = "\n".join(parts).casefold()
            self._chunks.append(chunk)
            yield chunk

    def holds(self, term: str) -> bool:
        """`term` as whole words, whatever separates them ("IL-6 inhibitors" matches "IL 6 inhibitors")."""
        words = re.findall(r"[^\W_]+", term.casefold())
        if not words:
            return False
        pattern = re.compile(r"(?<![^\W_])" + r"[\W_]+".join(map(re.escape, words)) + r"(?![^\W_])")
        return any(pattern.search(chunk) is not None for chunk in self._all())
