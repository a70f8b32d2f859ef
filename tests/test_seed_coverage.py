"""Every statement of the seed article is represented somewhere in the content pack.

Each seed paragraph, table row and the advisory note is named and given key phrases that
would only be in the pack if that paragraph's content is. The pack check never depends on
the seed file; a second check ties each name to an anchor phrase of the seed itself, so the
list cannot drift away from the article (skipped only when the seed file is absent).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CONTENT = REPO / "content"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "crs-vs-cytokine-storm.txt"

_DASHES = re.compile(r"[\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212]")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_SPACE = re.compile(r"\s+")


def norm(text: str) -> str:
    """Lowercase; hyphens and dashes become spaces; curly quotes straight; single spaces."""
    text = text.translate(_QUOTES).casefold()
    text = _DASHES.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


# paragraph name -> (anchor phrase found in the seed, key phrases that must be in the pack)
SEED_PARAGRAPHS: dict[str, tuple[str, list[str]]] = {
    "crs-1-definition": (
        "most commonly associated with the use of immune checkpoint inhibitors",
        ["overactivation of the immune system", "excessive levels of cytokines", "autoimmune diseases",
         "checkpoint inhibitors", "car-t cell therapy", "cancer treatment"],
    ),
    "crs-2-dysregulation": (
        "in crs, this response becomes dysregulated",
        ["coordinate the immune response", "becomes dysregulated", "cascade of events", "systemic inflammation"],
    ),
    "crs-3-symptoms": (
        "muscle aches, headache, rash, difficulty breathing",
        ["muscle aches", "headache", "rash", "difficulty breathing", "low blood pressure",
         "cardiac dysfunction", "multi-organ failure"],
    ),
    "crs-4-mechanism": (
        "creating a positive feedback loop",
        ["not fully understood", "t cells and macrophages", "pro-inflammatory cytokines", "positive feedback loop"],
    ),
    "crs-5-management": (
        "fever-reducing medications and fluids",
        ["underlying cause", "supportive care", "fever-reducing", "fluids", "corticosteroids or il-6 inhibitors"],
    ),
    "crs-6-prevention": (
        "oncologists, immunologists, and critical care specialists",
        ["early detection", "receiving immunotherapies", "oncologists", "immunologists", "critical care specialists"],
    ),
    "storm-1-definition": (
        "also known as cytokine release syndrome (crs)",
        ["also known as cytokine release syndrome", "excessive and uncontrolled immune response",
         "small signalling proteins", "infection or injury", "into the bloodstream"],
    ),
    "storm-2-triggers": (
        "certain strains of avian influenza",
        ["viral infections", "bacterial infections", "any age", "sars-cov-2", "avian influenza"],
    ),
    "storm-3-symptoms": (
        "muscle and joint pain",
        ["damage to healthy tissues", "severe fatigue", "muscle and joint pain", "organ failure", "life-threatening"],
    ),
    "storm-4-mechanism": (
        "self-perpetuating cycle of inflammation",
        ["still being studied", "large amounts of pro-inflammatory cytokines", "self-perpetuating cycle"],
    ),
    "storm-5-management": (
        "requires a multi-faceted approach",
        ["multi-faceted approach", "control the excessive immune response", "monoclonal antibodies",
         "cytokine inhibitors"],
    ),
    "storm-6-early-detection": (
        "immunology, critical care, and infectious diseases",
        ["prompt intervention", "patients at risk", "multidisciplinary", "infectious diseases"],
    ),
    "table-basis": (
        "basis of comparison | mechanism of excessive cytokine release",
        ["mechanism of excessive cytokine release", "severity and clinical impact of the response"],
    ),
    "table-definition": (
        "definition | excessive release of cytokines",
        ["excessive release of cytokines", "excessive and uncontrolled immune response"],
    ),
    "table-trigger": (
        "trigger | infections, certain medications",
        ["infections, certain medications", "infections, autoimmune diseases, medications"],
    ),
    "table-cytokines": (
        "cytokine involvement | involves multiple cytokines",
        ["cytokine involvement", "involves multiple cytokines"],
    ),
    "table-immune-cells": (
        "immune cell activation | activation of immune cells",
        ["immune cell activation", "activation of immune cells"],
    ),
    "table-severity": (
        "severity | generally less severe",
        ["generally less severe", "can be severe and life-threatening"],
    ),
    "table-presentation": (
        "clinical presentation | fever, fatigue, inflammation",
        ["fever, fatigue, inflammation", "high fever, respiratory distress, organ failure"],
    ),
    "table-management": (
        "management | focuses on controlling cytokine levels",
        ["focuses on controlling cytokine levels", "immunosuppressive medications, targeted therapies"],
    ),
    "table-treatment": (
        "treatment | supportive care, immunosuppressive drugs",
        ["supportive care, immunosuppressive drugs", "immunomodulatory drugs, cytokine inhibitors"],
    ),
    "table-monitoring": (
        "monitoring | close monitoring of symptoms",
        ["close monitoring of symptoms", "close monitoring for complications"],
    ),
    "advisory": (
        "advisory note",
        ["knowledge purposes only", "not medical advice", "treatment or consultation", "doctor"],
    ),
}

# seed table row label -> aspect id in the comparison
SEED_TABLE_ROWS: dict[str, str] = {
    "basis of comparison": "basis",
    "definition": "definition",
    "trigger": "trigger",
    "cytokine involvement": "cytokines",
    "immune cell activation": "immune-cells",
    "severity": "severity",
    "clinical presentation": "presentation",
    "management": "management",
    "treatment": "treatment",
    "monitoring": "monitoring",
}


def _load_all() -> list[dict[str, Any]]:
    files = sorted(p for p in CONTENT.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
    assert files, f"no YAML files under {CONTENT}"
    return [yaml.safe_load(p.read_text(encoding="utf-8")) or {} for p in files]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    return _load_all()


@pytest.fixture(scope="module")
def pack_text(documents: list[dict[str, Any]]) -> str:
    return norm(" \n ".join(s for doc in documents for s in _strings(doc)))


@pytest.fixture(scope="module")
def seed_text() -> str:
    if not SEED.is_file():
        pytest.skip(f"seed article not found at {SEED}")
    return norm(SEED.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", list(SEED_PARAGRAPHS))
def test_seed_paragraph_is_in_pack(name: str, pack_text: str) -> None:
    _, phrases = SEED_PARAGRAPHS[name]
    missing = [p for p in phrases if norm(p) not in pack_text]
    assert not missing, f"seed paragraph {name!r}: the pack lacks {missing}"


@pytest.mark.parametrize("name", list(SEED_PARAGRAPHS))
def test_paragraph_anchor_is_in_seed(name: str, seed_text: str) -> None:
    anchor, _ = SEED_PARAGRAPHS[name]
    assert norm(anchor) in seed_text, f"seed paragraph {name!r}: anchor {anchor!r} not found in {SEED}"


def test_every_seed_paragraph_has_phrases() -> None:
    for name, (_, phrases) in SEED_PARAGRAPHS.items():
        assert len(phrases) >= 1, name


def test_disclaimer_says_not_medical_advice(documents: list[dict[str, Any]]) -> None:
    packs = [doc["pack"] for doc in documents if doc.get("pack")]
    assert len(packs) == 1, "exactly one file must define `pack:`"
    assert "not medical advice" in packs[0]["disclaimer"]


def test_every_seed_table_row_is_an_aspect(documents: list[dict[str, Any]]) -> None:
    comparisons = {c["id"]: c for doc in documents for c in doc.get("comparisons") or ()}
    assert "crs-vs-cytokine-storm" in comparisons
    comparison = comparisons["crs-vs-cytokine-storm"]
    assert (comparison["left"], comparison["right"]) == ("crs", "cytokine-storm")
    aspect_ids = {a["id"] for a in comparison["aspects"]}
    missing = [aid for aid in SEED_TABLE_ROWS.values() if aid not in aspect_ids]
    assert not missing, f"comparison lacks aspects for seed table rows: {missing}"


def test_seed_table_rows_are_in_seed(seed_text: str) -> None:
    for label in SEED_TABLE_ROWS:
        assert f"{norm(label)} |" in seed_text, f"seed table has no row {label!r}"
