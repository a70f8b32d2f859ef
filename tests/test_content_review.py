"""Clinical review of the bundled pack: citations, the seed article's imprecise points, hedges.

Terms used here:

- A *unit* is one piece of pack text shown on its own: a topic summary, a section body, the
  comparison summary, an aspect (its title and two cells), or a fact. Sections, aspects and
  facts carry cited *notes*.
- A *paragraph* is a line of a summary or body (the YAML folds a blank line into one line
  break). Every paragraph ends with an in-text citation in the pack's one style, "[id]" or
  "[id, id]", and the sources a summary or body declares are exactly the ones it cites in
  its text, so the citation shown is the citation listed.
- A *statement beyond the seed* is any paragraph, note or fact that is not mapped to the seed
  article. A paragraph or fact is *mapped to the seed* when [seed] is its only citation, it
  holds at least one key phrase that `tests/test_seed_coverage.py` ties to a paragraph or
  table row of the article, and it holds none of BEYOND_SEED_MARKERS (figures, drugs, scales
  and terms that the article never uses). Anything else must cite a non-seed source; every
  note must, since a note exists to add the literature.

The table of the article's imprecise points (IMPRECISE) and the hedge table (HEDGES) are
written from the article and the clinical references, not from the pack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.loader import Pack
from bot.schema import Note
from tests.test_seed_coverage import SEED, SEED_PARAGRAPHS, norm

# The one in-text citation style, restated here so the test does not trust the code under test.
CITE = re.compile(r"\[([a-z0-9][a-z0-9-]*(?:, [a-z0-9][a-z0-9-]*)*)\]")
ANY_BRACKETS = re.compile(r"\[[^\[\]]*\]")
# Other citation styles the pack used before: "(Lee 2019)", "(2014)", "(YESCARTA label)", "et al."
AUTHOR_YEAR = re.compile(r"\([^()]*\b(?:19|20)\d\d\b[^()]*\)")
OTHER_STYLES = (AUTHOR_YEAR, re.compile(r"\bet al\b", re.I), re.compile(r"\([A-Z]+ label\)"))


def keys(text: str) -> set[str]:
    return {k for m in CITE.finditer(text) for k in m.group(1).split(", ")}


@dataclass(frozen=True)
class Unit:
    where: str  # e.g. "topic crs / section triggers"
    kind: str  # summary, section, comparison, aspect, fact
    topic: str | None
    text: str
    sources: tuple[str, ...]
    notes: tuple[Note, ...] = ()

    def note_sources(self) -> set[str]:
        return {s for n in self.notes for s in n.sources}

    def full_text(self) -> str:
        return " ".join((self.text, *(n.text for n in self.notes)))


def units(pack: Pack) -> Iterator[Unit]:
    for t in pack.topics:
        yield Unit(f"topic {t.id} / summary", "summary", t.id, t.summary, t.sources)
        for s in t.sections:
            yield Unit(f"topic {t.id} / section {s.id}", "section", t.id, s.body, s.sources, s.notes)
    for c in pack.comparisons:
        if c.summary:
            yield Unit(f"comparison {c.id} / summary", "comparison", None, c.summary, c.sources)
        for a in c.aspects:
            yield Unit(f"comparison {c.id} / aspect {a.id}", "aspect", None, f"{a.title}: {a.left} | {a.right}", a.sources, a.notes)
    for f in pack.facts:
        yield Unit(f"fact {f.id}", "fact", None, f.text, (f.source,), f.notes)


def prose(pack: Pack) -> Iterator[Unit]:
    """Units written as prose with in-text citations: summaries and section bodies."""
    return (u for u in units(pack) if u.kind in {"summary", "section", "comparison"})


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n") if p.strip()]


def all_notes(pack: Pack) -> Iterator[tuple[str, Note]]:
    for u in units(pack):
        for n in u.notes:
            yield u.where, n


# --------------------------------------------------------------------------- every statement has a source

# Figures, drugs, scales and terms of the cited literature that the seed article never uses: a
# paragraph holding one is beyond the seed even if it cites only [seed]. Digits that the
# article itself uses (IL-6, SARS-CoV-2, COVID-19) are allowed.
BEYOND_SEED_MARKERS = (
    "tocilizumab", "siltuximab", "anakinra", "emapalumab", "axicabtagene", "blinatumomab",
    "teclistamab", "okt3", "muromonab", "rituximab", "lenalidomide", "glucocorticoid", "hlh",
    "castleman", "hhv-8", "icans", "ice score", "capd", "astct", "ctcae", "grade",
    "vasopressor", "hypoxia", "il-1", "il-10", "gm-csf", "crp", "ferritin", "bispecific",
    "umbrella", "iatrogenic", "fda", "label", "cohort", "mice", "mouse", "preclinical",
    "ham24", "lee19", "literature",
)
SEED_DIGITS = {"interleukin 6", "il 6", "sars cov 2", "covid 19"}


def mapped_to_seed(text: str) -> bool:
    n = norm(text)
    phrases = [norm(p) for _, ps in SEED_PARAGRAPHS.values() for p in ps]
    return any(p in n for p in phrases)


def beyond_seed_markers(text: str) -> list[str]:
    n = norm(text)
    found = [m for m in BEYOND_SEED_MARKERS if norm(m) in n]
    stripped = n
    for allowed in SEED_DIGITS:
        stripped = stripped.replace(allowed, "")
    found += re.findall(r"\d+", stripped)
    return found


def test_every_paragraph_ends_with_a_citation(bundled_pack: Pack) -> None:
    bad = [
        (u.where, p[-60:])
        for u in prose(bundled_pack)
        for p in paragraphs(u.text)
        if not re.search(r"\[[^\]]+\]\.?$", p)
    ]
    assert not bad, f"paragraphs without a closing citation: {bad}"


def test_declared_sources_are_the_cited_ones(bundled_pack: Pack) -> None:
    """A summary or body lists exactly what it cites; a note or fact cites only what it lists."""
    problems = []
    for u in prose(bundled_pack):
        if keys(u.text) != set(u.sources):
            problems.append((u.where, "cites", sorted(keys(u.text)), "declares", sorted(u.sources)))
    for u in units(bundled_pack):
        if u.kind in {"fact", "aspect"} and keys(u.text) - set(u.sources):
            problems.append((u.where, "cites undeclared", sorted(keys(u.text) - set(u.sources))))
    for where, n in all_notes(bundled_pack):
        if keys(n.text) - set(n.sources):
            problems.append((where, "note cites undeclared", sorted(keys(n.text) - set(n.sources))))
    assert not problems, problems


def test_seed_only_text_is_mapped_to_the_seed(bundled_pack: Pack) -> None:
    problems = []
    for u in prose(bundled_pack):
        for p in paragraphs(u.text):
            if keys(p) == {"seed"}:
                if not mapped_to_seed(p):
                    problems.append((u.where, "cites only [seed] but holds no seed key phrase", p[:80]))
                if markers := beyond_seed_markers(p):
                    problems.append((u.where, "cites only [seed] but holds", markers))
    for u in units(bundled_pack):
        if u.kind in {"fact", "aspect"} and set(u.sources) == {"seed"}:
            if not mapped_to_seed(u.text):
                problems.append((u.where, "seed fact holds no seed key phrase"))
            if markers := beyond_seed_markers(u.text):
                problems.append((u.where, "seed-only text holds", markers))
    assert not problems, problems


def test_every_unit_and_note_has_a_source(bundled_pack: Pack) -> None:
    for u in units(bundled_pack):
        assert u.sources, f"{u.where} declares no source"
    for where, n in all_notes(bundled_pack):
        assert set(n.sources) - {"seed"}, f"a note of {where} cites only the seed: {n.text[:60]}"


def test_every_source_is_used(bundled_pack: Pack) -> None:
    cited: set[str] = set()
    for u in units(bundled_pack):
        cited |= keys(u.text) | set(u.sources) | u.note_sources()
    unused = set(bundled_pack.sources) - cited
    assert not unused, f"sources cited nowhere: {sorted(unused)}"
    # Every literature source is also cited in some text a reader sees, not only in a list.
    shown = {k for u in units(bundled_pack) for k in keys(u.full_text())} | {f.source for f in bundled_pack.facts}
    shown |= {s for _, n in all_notes(bundled_pack) for s in n.sources}  # note labels show their keys
    assert not set(bundled_pack.sources) - shown


# --------------------------------------------------------------------------- one citation style


def pack_strings(pack: Pack) -> Iterator[tuple[str, str]]:
    """Every text of the pack a reader sees, except the bibliography itself."""
    yield "pack description", pack.info.description
    for u in units(pack):
        yield u.where, u.text
        for n in u.notes:
            yield u.where + " / note", n.text
    for t in pack.topics:
        yield f"topic {t.id} / title", t.title
        for s in t.sections:
            yield f"topic {t.id} / section {s.id} / title", s.title
    for scale in pack.scales:  # the grading scales' texts follow the same style
        yield f"scale {scale.id} / summary", scale.summary
        for n in scale.notes:
            yield f"scale {scale.id} / note", n.text
        if scale.requires is not None:
            yield f"scale {scale.id} / requires", scale.requires.text
        for d in scale.domains:
            for v in d.values:
                yield f"scale {scale.id} / {d.id}={v.id}", v.criterion


def test_in_text_citations_use_one_style(bundled_pack: Pack) -> None:
    problems = []
    for where, text in pack_strings(bundled_pack):
        for m in ANY_BRACKETS.finditer(text):
            if not CITE.fullmatch(m.group(0)):
                problems.append((where, m.group(0)))
        for style in OTHER_STYLES:
            problems += [(where, m.group(0)) for m in style.finditer(text)]
    assert not problems, f"citations outside the [id] style: {problems}"


def test_every_in_text_key_is_a_source(bundled_pack: Pack) -> None:
    used = {k for _, text in pack_strings(bundled_pack) for k in keys(text)}
    for source in bundled_pack.sources.values():
        used |= keys(source.caveat or "")
    assert used, "the pack cites nothing in its text"
    assert not used - set(bundled_pack.sources), f"unknown citation keys: {sorted(used - set(bundled_pack.sources))}"


def test_seed_source_title_is_the_articles_heading(bundled_pack: Pack) -> None:
    if not SEED.is_file():
        pytest.skip(f"seed article not found at {SEED}")
    headings = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip() and not line.rstrip().endswith(".") and "|" not in line and len(line) < 120]
    assert bundled_pack.sources["seed"].title in headings, headings


# Identifiers exactly as the clinical references, PubMed or the publisher give them (labels, the
# FDA notice and Sch15 have none). A source may carry a DOI and a PMID; the last closes the citation.
REFERENCE_IDENTIFIERS: dict[str, tuple[str, ...]] = {
    "lee19": ("doi:10.1016/j.bbmt.2018.12.758",), "fj20": ("doi:10.1056/NEJMra2026131",),
    "lee14": ("doi:10.1182/blood-2014-05-552729", "PMID 24876563"), "sv18": ("PMID 29907163",),
    "le18": ("doi:10.1634/theoncologist.2018-0028",), "deis15": ("doi:10.1158/1078-0432.CCR-14-1678",),
    "ceschi20": ("doi:10.3389/fphar.2020.00557", "PMID 32425791"),
    "ham24": ("doi:10.1080/2162402X.2024.2372875", "PMID 38974986"),
    "mor22": ("doi:10.1056/NEJMoa2203478", "PMID 35661166"), "tec23": ("doi:10.1002/cncr.34756", "PMID 36991547"),
    "ba24": ("PMID 39042880",), "ana23": ("doi:10.1016/j.jtct.2023.04.001", "PMID 37031746"),
    "gia18": ("PMID 29808005",), "nor18": ("PMID 29808007",), "tea16": ("PMID 27076371",),
    "ste19": ("PMID 30463995",), "sar20": ("PMID 31611251",), "gab06": ("doi:10.1186/ar1917",),
    "tv21": ("PMID 34768710",), "mf21": ("doi:10.1097/BOR.0000000000000822",),
    "neu21": ("doi:10.1007/s00415-020-10237-3",), "ott22": ("doi:10.2147/OTT.S305429",),
    "asco21": ("doi:10.1200/JCO.21.01992", "PMID 34724386"), "sitc20": ("doi:10.1136/jitc-2020-001511", "PMID 33335028"),
    "hines23": ("PMID 36906275",),
}
NO_IDENTIFIER = {"seed", "fda18", "yes", "yes-current", "blin", "syl", "sch15", "editorial", "act"}
# Sources other branches add (sources_more.yaml) follow the same style but are checked by their own tests.
OTHER_BRANCH_FILES = ("sources_more.yaml",)


def own_sources(pack: Pack) -> dict:
    from pathlib import Path

    from tests.test_seed_coverage import CONTENT

    foreign: set[str] = set()
    for name in OTHER_BRANCH_FILES:
        path = Path(CONTENT) / name
        if path.is_file():
            import yaml

            foreign |= {e["id"] for e in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("sources", [])}
    return {sid: src for sid, src in pack.sources.items() if sid not in foreign}


def test_sources_list_identifiers_in_one_style(bundled_pack: Pack) -> None:
    sources = own_sources(bundled_pack)
    assert set(sources) == set(REFERENCE_IDENTIFIERS) | NO_IDENTIFIER
    for sid, source in sources.items():
        found = tuple(re.findall(r"doi:\S+?(?=\.?(?:\s|$))|PMID \d+", source.citation))
        if sid in NO_IDENTIFIER:
            assert not found, sid
            continue
        assert found == REFERENCE_IDENTIFIERS[sid], (sid, found)
        urls = {f"https://doi.org/{i[4:]}" if i.startswith("doi:") else f"https://pubmed.ncbi.nlm.nih.gov/{i[5:]}/" for i in found}
        assert source.url in urls, sid
        assert source.citation.endswith(found[-1]), f"{sid}: the identifier closes the citation"


# Sources whose date or revision could not be read; every other one names a year in its citation.
NO_DATE = {"seed", "editorial", "blin"}


def test_every_source_carries_its_date_or_label_revision(bundled_pack: Pack) -> None:
    for sid, source in own_sources(bundled_pack).items():
        if sid in NO_DATE:
            assert source.caveat, f"{sid}: an undated source says why in its caveat"
            continue
        assert re.search(r"\b(?:19|20)\d\d\b", source.citation), f"{sid}: no date or revision in {source.citation!r}"
        if "Prescribing Information" in source.citation:
            assert re.search(r"revision|label", source.citation.replace("Prescribing Information", "")), sid


def test_the_2017_car_t_label_is_marked_superseded(bundled_pack: Pack) -> None:
    old = bundled_pack.sources["yes"]
    assert "superseded" in old.title.casefold() and "yes-current" in keys(old.caveat or "")
    assert "lee 2014" in norm(old.caveat or "")


# --------------------------------------------------------------------------- the article's imprecise points


@dataclass(frozen=True)
class Imprecise:
    point: str
    phrases: tuple[str, ...]  # any of these in a unit's own text reveals the article's statement
    required: frozenset[str]  # the note must cite all of these
    not_in_topics: frozenset[str] = frozenset()  # topics where the phrase does not carry the statement


# Written from the article and the seven points of ../shared/docs/clinical-references.md.
IMPRECISE = (
    Imprecise("1 checkpoint inhibitors 'most commonly'", ("most commonly", "common association"), frozenset({"ham24", "ceschi20"})),
    Imprecise("2 cytokine storm 'also known as CRS'", ("also known as", "another name", "synonym"), frozenset({"fj20", "tv21"})),
    Imprecise("3 CRS 'generally less severe'", ("less severe",), frozenset({"fj20", "yes-current"})),
    # The article's storm paragraph lists infections as storm triggers: not imprecise there.
    Imprecise("4 infection as a CRS trigger", ("immunotherapies, infections", "infections, certain medications", "infections and autoimmune", "infections, and autoimmune"),
              frozenset({"sv18"}), frozenset({"cytokine-storm"})),
    Imprecise("5 'IL-6 inhibitors' blurs two drugs", ("il-6 inhibitor",), frozenset({"le18", "deis15"})),
    Imprecise("6 Covid-19 as a cytokine storm", ("covid", "sars-cov-2"), frozenset({"mf21"})),
    Imprecise("7 the 'basis of comparison' row", ("basis of comparison", "mechanism of excessive cytokine release"), frozenset({"editorial"})),
)


def carries(u: Unit, required: frozenset[str]) -> bool:
    """Notes carry the correction; a summary has no notes, so it must cite it in its text."""
    if u.kind in {"summary", "comparison"}:
        return required <= keys(u.text)
    if u.kind == "fact":
        return required <= u.note_sources() | {u.sources[0]} and (u.notes or u.sources[0] in required)
    return required <= u.note_sources()


@pytest.mark.parametrize("point", IMPRECISE, ids=[p.point for p in IMPRECISE])
def test_imprecise_point_carries_its_note_wherever_it_appears(bundled_pack: Pack, point: Imprecise) -> None:
    hits = [u for u in units(bundled_pack) if u.topic not in point.not_in_topics and any(norm(p) in norm(u.text) for p in point.phrases)]
    assert hits, f"point {point.point}: the article's statement appears nowhere (table out of date?)"
    missing = [u.where for u in hits if not carries(u, point.required)]
    assert not missing, f"point {point.point}: no note citing {sorted(point.required)} in {missing}"


def test_imprecise_table_phrases_come_from_the_article() -> None:
    if not SEED.is_file():
        pytest.skip(f"seed article not found at {SEED}")
    seed = norm(SEED.read_text(encoding="utf-8"))
    for point in IMPRECISE:
        assert any(norm(p) in seed for p in point.phrases), point.point


# --------------------------------------------------------------------------- hedges


# (what reveals the article's statement, hedges of which one must stay beside it)
HEDGES = (
    (("positive feedback loop", "self-perpetuating cycle", "t cells and macrophages"), ("believed", "not fully understood", "still being studied")),
    (("exact mechanism",), ("not fully understood", "still being studied")),
    (("fever-reducing",), ("such as",)),
    (("fever-reducing",), ("may",)),
    (("corticosteroids or il-6 inhibitors",), ("such as",)),
    (("collaboration between oncologists",), ("can help ensure",)),
)
STRONGER_THAN_SOURCES = ("main driver", "dominant driver", "only supportive care", "need only supportive")


@pytest.mark.parametrize(("statement", "hedges"), HEDGES, ids=[h[0][0] for h in HEDGES])
def test_article_hedges_are_kept(bundled_pack: Pack, statement: tuple[str, ...], hedges: tuple[str, ...]) -> None:
    hits = [u for u in units(bundled_pack) if any(norm(s) in norm(u.text) for s in statement)]
    assert hits, statement
    dropped = [u.where for u in hits if not any(norm(h) in norm(u.text) for h in hedges)]
    assert not dropped, f"{statement[0]!r} without {hedges} in {dropped}"


def test_nothing_is_stronger_than_its_source(bundled_pack: Pack) -> None:
    found = [(where, s) for where, text in pack_strings(bundled_pack) for s in STRONGER_THAN_SOURCES if s in norm(text)]
    assert not found, found


# --------------------------------------------------------------------------- specific corrections


def test_crs_grades_always_come_with_the_treated_fever_rule(bundled_pack: Pack) -> None:
    """Wherever CRS is graded by hypotension or hypoxia, fever's exception after treatment is stated."""
    listing = [u for u in units(bundled_pack) if "hypoxia" in norm(u.full_text()) and "grade" in norm(u.full_text())]
    assert len(listing) >= 10
    missing = [u.where for u in listing if "antipyretics or anti cytokine therapy" not in norm(u.full_text())]
    assert not missing, f"CRS grades without the treated-fever rule: {missing}"
    where = {u.where for u in listing}
    assert {"topic crs / section symptoms", "topic crs-grading / summary", "comparison crs-vs-cytokine-storm / aspect severity"} <= where


FIVE_DOMAINS = ("ice score", "consciousness", "seizure", "motor", "oedema")


def test_icans_is_graded_by_five_domains_wherever_ice_maps_to_a_grade(bundled_pack: Pack) -> None:
    mapping = [u for u in units(bundled_pack) if "7 9" in norm(u.text)]
    assert len(mapping) >= 3
    for u in mapping:
        text = norm(u.full_text())
        assert all(d in text for d in FIVE_DOMAINS) or re.search(r"other (four )?domains can set a higher", text), u.where
    section = next(s for t in bundled_pack.topics if t.id == "crs-grading" for s in t.sections if s.id == "icans-ice-score")
    assert all(d in norm(section.body) for d in FIVE_DOMAINS)
    assert "capd" in norm(section.body) and "12 or under" in norm(section.body)


def sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.;])\s+", text)


def test_siltuximab_is_never_set_beside_viral_il6_without_its_label_limit(bundled_pack: Pack) -> None:
    for u in units(bundled_pack):
        text = norm(u.full_text())
        if "siltuximab" in text and any(w in text for w in ("castleman", "viral il 6", "hhv 8")):
            assert "hhv 8 negative" in text, u.where
            assert "syl" in keys(u.full_text()) | u.note_sources() | set(u.sources), u.where
        for sentence in sentences(u.full_text()):
            assert not ("siltuximab" in sentence.casefold() and "off-label" in sentence.casefold()), (u.where, sentence)
    for t in bundled_pack.topics:
        texts = [t.summary, *(s.body for s in t.sections)]
        if any("siltuximab" in x.casefold() for x in texts):
            for x in texts:
                if "viral il-6" in x.casefold():
                    assert "hhv-8-negative" in x.casefold() and "syl" in keys(x), (t.id, x[:80])


def test_checkpoint_crs_is_often_mild_with_high_grade_and_fatal_cases(bundled_pack: Pack) -> None:
    """Ham24: "often mild", 2 of 28 high-grade, 1 fatal. Never "usually mild"."""
    fact = next(f for f in bundled_pack.facts if f.id == "checkpoint-crs-rare")
    assert "often mild" in fact.text and "1%" in fact.text and "2,672" in fact.text and "fatal" in fact.text
    for where, text in pack_strings(bundled_pack):
        assert "usually mild" not in norm(text), where
    mild = [u for u in units(bundled_pack) if "checkpoint" in norm(u.full_text()) and "mild" in norm(u.full_text())]
    assert len(mild) >= 5
    for u in mild:
        assert "fatal" in norm(u.full_text()), f"{u.where}: 'mild' without the fatal cases"


def test_treatment_rule_facts_read_as_cited_reference_statements(bundled_pack: Pack) -> None:
    facts = {f.id: f for f in bundled_pack.facts}
    assert facts["crs-mild-vs-severe-care"].text.startswith("The seed article says")
    assert {"le18", "deis15", "lee19", "yes-current", "asco21"} <= {s for n in facts["crs-mild-vs-severe-care"].notes for s in n.sources}
    early = facts["early-immunosuppression"]
    assert "2014" in early.text and "could limit" in early.text
    assert any("asco21" in n.sources for n in early.notes), "the 2021 guideline is set beside the 2014 caution"


def test_new_topics_exist_with_the_names_people_type(catalog) -> None:
    expected = {
        "car-t": ("CAR-T", "car t", "bispecific T-cell engagers", "blinatumomab", "teclistamab", "axi-cel"),
        "icans": ("ICANS", "neurotoxicity", "ice score"),
        "siltuximab": ("siltuximab", "Sylvant"),
        "anakinra": ("anakinra",),
        "emapalumab": ("emapalumab",),
        "corticosteroids": ("steroids", "corticosteroid", "glucocorticoids"),
        "checkpoint-inhibitors": ("checkpoint inhibitors", "ICI", "immune checkpoint inhibitors"),
    }
    for topic_id, names in expected.items():
        for name in names:
            found = catalog.topic_names.exact(name)
            assert found is not None and found.id == topic_id, (name, topic_id)


def test_at_least_twenty_more_cited_facts(bundled_pack: Pack) -> None:
    cited = [f for f in bundled_pack.facts if f.source != "seed"]
    # 32 facts cited the literature before the clinical review.
    assert len(cited) >= 52, len(cited)


def test_ice_score_and_grading_figures_are_as_given(bundled_pack: Pack) -> None:
    """Figures exactly as the references give them, wherever the pack states them."""
    text = " ".join(u.full_text() for u in units(bundled_pack))
    for figure in ("7-9", "3-6", "0-2", "(> 5 min)", "≤ 6 L/min", "> 6 L/min", "≥ 38 °C", "counting back from 100 by tens",
                   "94%", "13%", "72.1%", "0.6%", "15%", "2,672", "43-patient", "51-patient", "475", "50,000 µg/L",
                   "30 Aug 2017", "20 Nov 2018", "CTCAE v5.0"):
        assert figure in text, figure


# --------------------------------------------------------------------------- issue 14: the review's findings


def test_no_treatment_sentence_says_for_severe_crs_alone(bundled_pack: Pack) -> None:
    """The boxed warning says "severe or life-threatening"; the guideline starts tocilizumab at grade 2."""
    bad = []
    for where, text in pack_strings(bundled_pack):
        for sentence in sentences(text):
            if re.search(r"\bfor severe CRS\b(?! or life-threatening)", sentence, re.I):
                bad.append((where, sentence[:100]))
    assert not bad, bad
    boxed = [u for u in units(bundled_pack) if "boxed warning" in norm(u.text) and "tocilizumab" in norm(u.text)]
    assert len(boxed) >= 5
    for u in boxed:
        assert "severe or life threatening crs" in norm(u.text), u.where


def test_fever_rule_keeps_its_qualifier(bundled_pack: Pack) -> None:
    """Lee 2019: in patients who have CRS and then receive antipyretics or anti-cytokine therapy."""
    stated = [(u.where, t) for u in units(bundled_pack) for t in (u.text, *(n.text for n in u.notes)) if "antipyretics or anti cytokine therapy" in norm(t)]
    assert len(stated) >= 12
    missing = [w for w, t in stated if not any(q in norm(t) for q in ("who have crs", "patient with crs"))]
    assert not missing, f"the treated-fever rule without 'in patients who have CRS': {missing}"


def test_the_2014_caution_is_dated_and_set_beside_asco_2021(bundled_pack: Pack) -> None:
    cautions = [u for u in units(bundled_pack) if "lee14" in keys(u.full_text()) | {u.sources[0] if u.kind == "fact" else ""} and "immunosuppression" in norm(u.full_text())]
    assert len(cautions) >= 6
    for u in cautions:
        assert "2014" in u.full_text(), f"{u.where}: the caution is undated"
        assert "asco21" in keys(u.full_text()) | u.note_sources(), f"{u.where}: no ASCO 2021 beside the 2014 caution"
        assert "blunt" not in norm(u.full_text()), u.where


def test_less_severe_corrections_say_fatal(bundled_pack: Pack) -> None:
    hits = [u for u in units(bundled_pack) if "less severe" in norm(u.text)]
    assert len(hits) >= 3
    for u in hits:
        assert "fatal" in norm(u.full_text()), f"{u.where}: the correction names grade 4 but not fatal"


def test_zuma1_13_percent_is_marked_lee_2014_grading(bundled_pack: Pack) -> None:
    hits = [(w, t) for w, t in pack_strings(bundled_pack) if "13%" in t]
    assert len(hits) >= 3
    for where, text in hits:
        assert "lee 2014" in norm(text), f"{where}: 13% without its grading system"


def test_no_unit_calls_car_t_the_usual_causes_without_a_source_that_says_it(bundled_pack: Pack) -> None:
    for where, text in pack_strings(bundled_pack):
        assert "usual cause" not in norm(text), where
    described = [u for u in units(bundled_pack) if "described after bispecific antibodies" in norm(u.full_text())]
    assert len(described) >= 6
    for u in described:
        assert {"lee14", "tv21"} <= keys(u.full_text()) | u.note_sources(), u.where


def test_anakinra_study_carries_its_limits(bundled_pack: Pack) -> None:
    hits = [u for u in units(bundled_pack) if "43" in u.text and "anakinra" in norm(u.text)]
    assert len(hits) >= 6
    for u in hits:
        text = norm(u.text)
        assert "retrospective" in text and "40" in text, f"{u.where}: the study's limits are missing"


def test_emapalumab_indication_in_full(bundled_pack: Pack) -> None:
    hits = [u for u in units(bundled_pack) if "emapalumab" in norm(u.text) and "approved" in norm(u.text)]
    assert len(hits) >= 6
    for u in hits:
        assert "refractory, recurrent or progressive" in norm(u.text), u.where
        assert "intolerance" in norm(u.text), u.where


def test_ba24_is_scoped_to_its_products_and_disease(bundled_pack: Pack) -> None:
    hits = [u for u in units(bundled_pack) if "ba24" in keys(u.text) or (u.kind == "fact" and u.sources[0] == "ba24")]
    assert len(hits) >= 3
    for u in hits:
        text = norm(u.text)
        assert "non hodgkin lymphoma" in text and ("axicabtagene" in text or "axi cel" in text), u.where
        assert "cd19 car t recipients" not in text, u.where


# Each figure of the management content, the sources allowed to carry it: a paragraph, note or fact
# holding the figure must cite one of them.
MANAGEMENT_FIGURES = {
    "8 mg/kg": {"act", "asco21", "le18"}, "12 mg/kg": {"act", "le18"}, "800 mg": {"act", "asco21"},
    "3 doses in 24 hours": {"asco21"}, "4 in total": {"asco21"}, "dexamethasone 10 mg IV every 6 hours": {"asco21"},
    "500 mg IV every 12 hours": {"asco21"}, "1,000 mg": {"asco21"}, "1 mg/kg IV every 12 hours": {"asco21"},
    "10 mg IV for 2 doses": {"asco21"}, "more than 3 days": {"asco21"}, "every 8 hours": {"asco21"},
    "2 of 28": {"ham24"}, "475": {"ba24"}, "35 eligible": {"asco21"},
}


def cited_pieces(pack: Pack) -> Iterator[tuple[str, str, set[str]]]:
    for u in prose(pack):
        for p in paragraphs(u.text):
            yield u.where, p, keys(p)
    for u in units(pack):
        for n in u.notes:
            yield u.where + " / note", n.text, set(n.sources)
        if u.kind == "fact":
            yield u.where, u.text, {u.sources[0]}


def test_every_new_figure_is_cited_to_its_source(bundled_pack: Pack) -> None:
    seen = {figure: 0 for figure in MANAGEMENT_FIGURES}
    bad = []
    for where, text, cited in cited_pieces(bundled_pack):
        for figure, allowed in MANAGEMENT_FIGURES.items():
            if figure in text:
                seen[figure] += 1
                if not cited & allowed:
                    bad.append((where, figure, sorted(cited)))
    assert not bad, bad
    assert all(seen.values()), [f for f, n in seen.items() if not n]


DOSE = re.compile(r"\b\d[\d,]*\s?mg\b|mg/kg")


def test_every_dosing_card_says_check_and_names_its_revision(bundled_pack: Pack) -> None:
    """A card quoting a dose says to check the protocol; quoting the label, it names the revision."""
    dosed = [u for u in units(bundled_pack) if DOSE.search(u.text)]
    assert len(dosed) >= 9
    for u in dosed:
        text = norm(u.text)
        assert "institution's protocol" in text, f"{u.where}: a dose without 'check the institution's protocol'"
        labels = [sid for sid in keys(u.text) if bundled_pack.sources[sid].kind == "label"]
        if "act" in labels:
            assert "actemra 2017" in text or "2017 revision" in text, f"{u.where}: the label revision is not named"
            assert "current" in text and "label" in text, f"{u.where}: no 'check the current label'"
        elif "asco" in text:
            pass  # doses quoted from the guideline (a label cited beside them only for its boxed warning)
        elif labels:  # another label (teclistamab): its revision, as its source names it, and the current label
            for sid in labels:
                revision = bundled_pack.sources[sid].revision or ""
                dates = re.findall(r"[A-Z][a-z]{2} \d{4}", revision) or [revision]
                assert revision and all(norm(d) in text for d in dates), f"{u.where}: the revision of [{sid}] ({revision}) is not named"
            assert "check the current label" in text, f"{u.where}: no 'check the current label'"
        else:
            raise AssertionError(f"{u.where}: a dose that names neither the label revision nor the guideline")
    dosing = next(t for t in bundled_pack.topics if t.id == "tocilizumab-dosing")
    for text in (dosing.summary, *(s.body for s in dosing.sections if DOSE.search(s.body))):
        assert "check the current" in norm(text) and "institution's protocol" in norm(text)


def test_management_questions_open_the_management_topics(catalog) -> None:
    for name, topic_id in (("tocilizumab dose", "tocilizumab-dosing"), ("how do i treat icans", "icans-management"),
                           ("steroids for icans", "icans-management"), ("tocilizumab for icans", "icans-management"),
                           ("what to do for grade 2 crs", "crs-management"), ("crs management", "crs-management"),
                           ("when to give dexamethasone", "corticosteroids")):
        found = catalog.topic_names.exact(name)
        assert found is not None and found.id == topic_id, (name, found)


def test_icans_management_puts_corticosteroids_first_and_tocilizumab_with_crs_only(bundled_pack: Pack) -> None:
    topic = next(t for t in bundled_pack.topics if t.id == "icans-management")
    assert "moderate to severe icans should be managed with corticosteroids" in norm(topic.summary)
    assert "tocilizumab is given for icans only when crs is concurrent" in norm(topic.summary)
    by_id = {s.id: norm(s.body) for s in topic.sections}
    assert "only in the rows with concurrent crs" in by_id["tocilizumab"]
    for section in ("grade-1", "grade-2", "grade-3"):
        without = by_id[section].split("with concurrent crs")[0]
        assert "tocilizumab" not in without, f"{section}: tocilizumab offered without concurrent CRS"
    assert by_id["grade-3"].index("without concurrent crs") < by_id["grade-3"].index("with concurrent crs: tocilizumab")
    assert "ice score" in by_id["work-up"] and "eeg" in by_id["work-up"] and "seizure prophylaxis" in by_id["work-up"]


def test_grade_1_keeps_the_supportive_care_hedge_and_the_neutropenia_note(bundled_pack: Pack) -> None:
    topic = next(t for t in bundled_pack.topics if t.id == "crs-management")
    g1 = norm(next(s.body for s in topic.sections if s.id == "grade-1"))
    assert "may be sufficient" in g1 and "neutropenic" in g1 and "more than 3 days" in g1
    assert "asco21" in keys(next(s.body for s in topic.sections if s.id == "grade-1"))
