"""The ward topics of issue 14 (onset, bispecifics, iec-hs, crs-vs-sepsis, pediatrics, rems).

Written from what was read at each source, not from the pack:

- every figure in these topics is listed below with the source it was read in, and appears
  only in a paragraph that cites that source (a new or changed figure fails until it is
  listed here with its source);
- every dosing statement is on a card that names the label it quotes with the date of the
  revision or reproduction read, and says to check the current label and the institution's
  protocol;
- what could not be read stays out: no paediatric tocilizumab dose, no CAPD thresholds, no
  post-REMS durations;
- the sources of sources_more.yaml each carry a date, and an identifier only in the pack's style;
- the words a nurse or fellow types reach these topics.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.catalog import Catalog
from bot.engine import Engine
from bot.loader import Pack, bundled_content_dir
from tests.test_content_review import keys, paragraphs, units

WARD_TOPICS = ("onset", "bispecifics", "iec-hs", "crs-vs-sepsis", "pediatrics", "rems")
WARD_SOURCES = {"carv", "carv-crs", "carv-sar", "tec-pi", "kym", "fda-rems", "pey24"}

# Every figure of the ward topics, by the source it was read in (search tool, Dec 2026):
FIGURES: dict[str, set[str]] = {
    # 2017 YESCARTA label, important safety information as reproduced in ASH Clinical News 4.1
    "yes": {"2017", "2", "1-12", "94%", "101/108", "1", "12", "7", "58", "4", "87%", "98%", "8"},
    # Janssen Medical Information, CARVYKTI CRS, updated 29 Jul 2024 (CARTITUDE-1)
    "carv-crs": {"7", "5-8", "97", "95%", "33.4", "89%", "4", "3-6"},
    # Blinatumomab label, as the pack already cites it
    "blin": {"2", "15%"},
    # Tec23 abstract (PubMed 36991547)
    "tec23": {"72.1%", "33.3%", "165", "119", "50.3%", "21.2%", "1", "2", "3", "20.0%", "62.2%"},
    # Ba24 abstract (Blood Adv 2024;8(20):5346)
    "ba24": {"2", "475", "9", "2018", "2023", "0%", "0.7%"},
    # TECVAYLI US PI as reproduced by Drugs.com (5 Jul 2024), PrescriberPoint (12 Dec 2025), tecvaylihcp.com
    "tec-pi": {"0.06", "0.3", "1.5", "1", "4", "7", "2", "48", "3", "16", "5", "2024", "12", "2025"},
    # MajesTEC-1 methods (Moreau 2022): dexamethasone 16 mg, acetaminophen, diphenhydramine
    "mor22": {"16"},
    # Peyrony 2024 abstract
    "pey24": {"152", "87", "57.2%", "30", "3", "2-5", "82", "94.3%", "9", "10.3%", "4", "4.6%"},
    # Le 2018: approval date and age
    "le18": {"30", "2017", "2"},
    # Lee 2019: CAPD at 12 or under
    "lee19": {"12"},
    # KYMRIAH openFDA record: REMS (5.3) removed 6/2025, boxed warning and 2.3 changed 6/2025
    "kym": {"6/2025"},
    # FDA announcement as quoted by the International Myeloma Foundation
    "fda-rems": {"2025"},
}
FIGURE = re.compile(r"(?<![\w./-])\d+(?:[.,/-]\d+)*%?")
DOSE = re.compile(r"\b\d+(?:\.\d+)? ?mg(?:/kg)?\b")
MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
DATE = re.compile(rf"\b\d{{1,2}} {MONTHS}\w* \d{{4}}\b|\b{MONTHS}\w* \d{{4}}\b|\b(?:19|20)\d\d\b")


def ward_units(pack: Pack):
    return [u for u in units(pack) if u.topic in WARD_TOPICS]


def test_the_ward_topics_exist(bundled_pack: Pack) -> None:
    assert set(WARD_TOPICS) <= {t.id for t in bundled_pack.topics}


def test_every_figure_is_listed_with_the_source_it_was_read_in(bundled_pack: Pack) -> None:
    problems = []
    for u in ward_units(bundled_pack):
        for p in paragraphs(u.text):
            cited = keys(p)
            allowed = set().union(*(FIGURES.get(k, set()) for k in cited))
            for figure in FIGURE.findall(re.sub(r"\[[^\]]*\]", "", p)):
                if figure.rstrip(".,") not in allowed:
                    problems.append((u.where, figure, sorted(cited)))
    assert not problems, f"figures not read in the source their paragraph cites: {problems}"


def test_every_listed_figure_appears_beside_its_source(bundled_pack: Pack) -> None:
    found: dict[str, set[str]] = {}
    for u in ward_units(bundled_pack):
        for p in paragraphs(u.text):
            figures = {f.rstrip(".,") for f in FIGURE.findall(re.sub(r"\[[^\]]*\]", "", p))}
            for k in keys(p):
                found.setdefault(k, set()).update(figures)
    missing = {k: sorted(v - found.get(k, set())) for k, v in FIGURES.items() if v - found.get(k, set())}
    assert not missing, f"listed figures the topics no longer give beside their source: {missing}"


@pytest.mark.parametrize(
    ("figure", "phrase", "source"),
    [
        ("72.1%", "CRS occurred in 119", "tec23"),
        ("33.3%", "had more than one CRS event", "tec23"),
        ("20.0% vs", "62.2%", "tec23"),
        ("0.06 mg/kg", "step-up dose 1", "tec-pi"),
        ("0.3 mg/kg", "step-up dose 2", "tec-pi"),
        ("1.5 mg/kg", "first treatment dose", "tec-pi"),
        ("dexamethasone 16 mg", "1 to 3 hours before the dose", "tec-pi"),
        ("48 hours", "hospitalised", "tec-pi"),
        ("7 days (IQR 5-8 days)", "CARTITUDE-1", "carv-crs"),
        ("2 days (range 1 to 12 days)", "YESCARTA", "yes"),
        ("0.7%", "third week", "ba24"),
        ("94.3%", "4.6%", "pey24"),
    ],
)
def test_key_figures_read_as_their_source_gives_them(bundled_pack: Pack, figure: str, phrase: str, source: str) -> None:
    hits = [p for u in ward_units(bundled_pack) for p in paragraphs(u.text) if figure in p and phrase.casefold() in p.casefold()]
    assert hits, (figure, phrase)
    assert all(source in keys(p) for p in hits), (figure, hits)


def test_every_dosing_card_names_its_label_revision_and_sends_to_the_current_label(bundled_pack: Pack) -> None:
    dosing = [u for u in ward_units(bundled_pack) if DOSE.search(u.text)]
    assert {u.where for u in dosing} >= {"topic bispecifics / section step-up", "topic bispecifics / section premedication"}
    for u in dosing:
        text = u.text.replace("\n", " ")
        assert "TECVAYLI US Prescribing Information" in text, u.where
        assert DATE.search(text.split("Prescribing Information", 1)[1]), f"{u.where}: no revision or reproduction date"
        assert "check the current label" in text.casefold(), u.where
        assert "institution's protocol" in text, u.where
        assert "tec-pi" in keys(text), u.where


def test_what_could_not_be_read_is_left_out(bundled_pack: Pack) -> None:
    ward = {u.where: u.text.replace("\n", " ") for u in ward_units(bundled_pack)}
    children = " ".join(t for w, t in ward.items() if w.startswith("topic pediatrics"))
    assert not DOSE.search(children) and "30 kg" not in children, "no paediatric tocilizumab dose was read at the ACTEMRA label"
    assert "current ACTEMRA label and your institution's protocol" in children
    capd = ward["topic pediatrics / section capd"]
    assert "does not grade ICANS in children" in capd and not re.search(r"CAPD (score )?(of )?\d", capd)
    rems = " ".join(t for w, t in ward.items() if w.startswith("topic rems"))
    assert not re.search(r"\bweeks?\b|\d+ days?\b", rems), "no post-REMS durations: the FDA page was not read"
    assert "quotes no new monitoring, proximity or driving duration" in rems
    assert "no treatment text for IEC-HS" in ward["topic iec-hs / section management"]


def test_rems_names_the_six_products_and_scopes_the_change(bundled_pack: Pack) -> None:
    products = next(u.text for u in ward_units(bundled_pack) if u.where == "topic rems / section products")
    for name in ("Abecma", "Breyanzi", "Carvykti", "Kymriah", "Tecartus", "Yescarta"):
        assert name in products
    summary = next(u.text for u in ward_units(bundled_pack) if u.where == "topic rems / summary")
    assert "BCMA- and CD19-directed autologous" in summary


def test_findings_keep_their_scope(bundled_pack: Pack) -> None:
    text = {u.where: u.text.replace("\n", " ") for u in ward_units(bundled_pack)}
    late = text["topic onset / section late"]
    for scope in ("axicabtagene ciloleucel", "tisagenlecleucel", "lisocabtagene maraleucel", "B-cell non-Hodgkin lymphoma", "retrospective"):
        assert scope in late, scope
    assert "does not cover BCMA-directed" in late
    sepsis = text["topic crs-vs-sepsis / section antibiotics"]
    assert "not a reason to withhold antibiotics" in sepsis and "neutropenic fever protocol" in sepsis
    assert "retrospective" in text["topic crs-vs-sepsis / section evidence"]


def test_ward_sources_carry_dates_and_one_identifier_style() -> None:
    data = yaml.safe_load((bundled_content_dir() / "sources_more.yaml").read_text(encoding="utf-8"))
    sources = {s["id"]: s for s in data["sources"]}
    assert set(sources) == WARD_SOURCES
    for sid, s in sources.items():
        citation = " ".join(s["citation"].split())
        assert DATE.search(citation), f"{sid}: no date or revision"
        found = re.findall(r"doi:\S+|PMID \d+", citation)
        if sid == "pey24":
            assert found == ["doi:10.1093/ofid/ofae398"] and citation.endswith(found[0])
            assert s["url"] == "https://doi.org/10.1093/ofid/ofae398"
        else:
            assert not found, sid
        if "Prescribing Information" in s["title"]:
            assert re.search(r"read|reproduced", citation), f"{sid}: say how the label was read"
            assert "revision" in (s.get("caveat") or "") or "Only the" in (s.get("caveat") or ""), sid


def test_ward_sources_are_cited_by_the_ward_topics(bundled_pack: Pack) -> None:
    cited = {k for u in ward_units(bundled_pack) for k in keys(u.text)}
    assert WARD_SOURCES <= cited, sorted(WARD_SOURCES - cited)
    assert {"hines23", "lee19", "le18", "ba24", "tec23", "mor22", "yes", "blin"} <= cited


NAMES = {
    "crs-vs-sepsis": ("sepsis", "neutropenic fever", "febrile neutropenia", "is this CRS or sepsis", "empiric antibiotics"),
    "bispecifics": ("premedication", "step-up dosing", "TECVAYLI", "CRS recurrence"),
    "pediatrics": ("children", "paediatric", "pediatric", "CAPD"),
    "rems": ("REMS", "risk evaluation and mitigation strategy"),
    "onset": ("when does CRS start", "when does ICANS start", "time to onset"),
    "iec-hs": ("IEC-HS", "HLH-like syndrome"),
}


@pytest.mark.parametrize("topic_id", NAMES)
def test_names_people_type_reach_the_topic(catalog: Catalog, topic_id: str) -> None:
    for name in NAMES[topic_id]:
        found = catalog.topic_names.exact(name)
        assert found is not None and found.id == topic_id, (name, found and found.id)


@pytest.mark.parametrize(
    ("question", "command"),
    [
        ("is this crs or sepsis", "topic crs-vs-sepsis"),
        ("when does crs start", "topic onset"),
        ("premedication", "topic bispecifics"),
        ("step-up", "topic bispecifics step-up"),
        ("children", "topic pediatrics"),
        ("REMS", "topic rems"),
    ],
)
def test_ward_questions_land_on_the_ward_card(catalog: Catalog, question: str, command: str) -> None:
    reply = Engine(catalog).execute(question)
    assert not reply.is_error and reply.command == command, (question, reply.command)


def test_the_car_t_topic_still_answers_teclistamab(catalog: Catalog) -> None:
    """The bispecifics topic took the id 'bispecifics' from car-t's aliases; the drug names stay there."""
    assert catalog.topic_names.exact("teclistamab").id == "car-t"
    assert catalog.topic_names.exact("bispecifics").id == "bispecifics"


def test_sources_file_is_the_one_the_test_reads() -> None:
    assert Path(bundled_content_dir(), "sources_more.yaml").is_file()
