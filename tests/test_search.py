"""Search ranking: words found as typed outrank other forms of their stem, prefixes and typo fixes."""

from __future__ import annotations

from bot.search import EXACT, FUZZY, PREFIX, STEMMED, Document, SearchIndex


def test_tocilizumab_dose_ranks_tocilizumab_before_a_teclistamab_dosing_fact(engine) -> None:
    hits = engine.catalog.search_index.search("tocilizumab dose", limit=5)
    assert hits[0].document.command in {c.document.command for c in hits if "tocilizumab" in c.document.text.casefold()}
    assert "tocilizumab" in hits[0].document.text.casefold()
    assert not any("teclistamab" in h.document.text.casefold() and "tocilizumab" not in h.document.text.casefold()
                   for h in hits[:3])


def _index(*texts: str) -> SearchIndex:
    return SearchIndex(Document("fact", f"Doc {i}", text, f"fact d{i}") for i, text in enumerate(texts))


def test_expansions_say_how_exactly_a_word_was_found() -> None:
    index = _index("step-up dosing of the drug", "the dose was halved", "vasopressors were needed")
    assert index.expand("dosing") == [("dose", EXACT)]
    assert index.expand("doses") == [("dose", STEMMED)]  # only other forms of the stem are in the pack
    assert index.expand("vasopress") == [("vasopressor", PREFIX)]
    assert index.expand("vasopresors") == [("vasopressor", FUZZY)]
    assert index.expand("zebra") == []


def test_a_word_as_typed_outranks_another_form_of_its_stem() -> None:
    index = _index("patients with a high fever after step-up dosing", "the dose was given to patients")
    hits = index.search("dose patients")
    assert [h.document.command for h in hits] == ["fact d1", "fact d0"]
    assert hits[0].coverage == 2 * EXACT and hits[1].coverage == EXACT + STEMMED


def test_a_word_counts_once_however_many_prefix_expansions_a_document_holds() -> None:
    # "cyto" expands to cytokine, cytotoxic and cytometry; doc 0 holds all three, doc 1 holds cyto- once and "storm".
    index = _index("cytokine cytotoxic cytometry", "cytokine storm")
    hits = index.search("cyto storm")
    assert hits[0].document.command == "fact d1"
    assert hits[1].coverage == PREFIX
