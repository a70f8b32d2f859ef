"""Every source a card shows is in its footer, over every command line the bundled pack offers.

A card "shows" a source when its visible text cites it ("[lee19]", a note labelled
"Note [ham24, ceschi20]") or when it shows an entity's text: a topic summary and the previews
of its sections, a section or aspect with its notes, the comparison table, a fact with its
notes, or search results drawn from any of these. The expectations are computed here from
the pack, not from the card builder. Also: the new material and its notes are on the cards
readers open (`search tocilizumab`, `topic crs`, `topic icans`, `topic siltuximab`,
`compare severity`, a fact with notes), and the loader refuses citations that name no source.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.catalog import Catalog
from bot.engine import Engine
from bot.loader import PackError, load_pack
from bot.reply import Card, Reply
from bot.search import STOP
from tests.test_content_review import keys, units

MINI = Path(__file__).parent / "data" / "minipack"
ARROW = re.compile(r"→ /crs (.+)$", re.M)


@pytest.fixture(scope="module")
def bot(catalog: Catalog) -> Engine:
    return Engine(catalog)


def visible(card: Card) -> str:
    parts = [card.title, card.subtitle, card.body, *(f"{f.name}\n{f.value}" for f in card.fields)]
    if card.table is not None:
        parts += [cell for row in (card.table.headers, *card.table.rows) for cell in row]
    return "\n".join(parts)


def footer(card: Card) -> set[str]:
    return {s.id for s in card.footer.sources}


def entity_sources(cat: Catalog, command: str) -> set[str]:
    """What the card opened by `command` draws on, from the pack alone."""
    words = command.split()
    if words[0] == "topic":
        topic = cat.topics[words[1]]
        if len(words) == 2:
            return set(topic.sources) | {s for sec in topic.sections for s in sec.sources}
        section = next(s for s in topic.sections if s.id == words[2])
        return set(section.sources or topic.sources) | {s for n in section.notes for s in n.sources}
    if words[0] == "compare":
        comparison = next(c for c in cat.comparisons.values() if {c.left, c.right} == {words[1], words[2]})
        if len(words) == 3:
            return set(comparison.sources) | {s for a in comparison.aspects for s in a.sources}
        aspect = next(a for a in comparison.aspects if a.id == words[3])
        return set(aspect.sources or comparison.sources) | {s for n in aspect.notes for s in n.sources}
    if words[0] == "fact":
        fact = cat.facts[words[1]]
        return {fact.source} | {s for n in fact.notes for s in n.sources}
    return set()


def search_result_sources(cat: Catalog, card: Card) -> set[str]:
    """Search results show text of topics, sections, aspects and facts: their sources count."""
    found: set[str] = set()
    for f in card.fields:
        m = ARROW.search(f.value)
        assert m, f"search result without its command: {f.value[-80:]}"
        command = m.group(1)
        words = command.split()
        if words[0] == "topic" and len(words) == 2:
            found |= set(cat.topics[words[1]].sources)  # the result shows the summary, not the sections
        else:
            found |= entity_sources(cat, command)
    return found


def command_lines(cat: Catalog) -> list[str]:
    lines = ["help", "about", "list", "sources", "compare", "fact today"]
    lines += ["grade", *(f"grade {sid}" for sid in cat.scales)]  # the grading calculators
    lines += ["grade crs fever=yes hypotension=vasopressor hypoxia=low-flow",
              "grade icans ice=3 consciousness=voice seizure=rapid motor=none edema=none"]
    lines += [f"sources {sid}" for sid in cat.sources]
    lines += [f"sources {tid}" for tid in cat.topics] + [f"sources {cid}" for cid in cat.comparisons]
    for t in cat.topics.values():
        lines.append(f"topic {t.id}")
        lines += [f"topic {t.id} {s.id}" for s in t.sections]
    for c in cat.comparisons.values():
        lines.append(f"compare {c.left} {c.right}")
        lines += [f"compare {c.left} {c.right} {a.id}" for a in c.aspects]
    lines += [f"fact {fid}" for fid in cat.facts]
    searchable = " ".join(u.full_text() for u in units(cat.pack) if u.kind != "comparison")  # what search indexes
    words = sorted({w.casefold() for w in re.findall(r"[^\W\d_][\w-]{3,}", searchable)} - STOP)
    lines += [f"search {w}" for w in words]
    lines += [f"search {alias}" for t in cat.topics.values() for alias in t.aliases]
    return lines


def test_every_card_lists_every_source_it_shows(bot: Engine) -> None:
    cat = bot.catalog
    lines = command_lines(cat)
    assert len(lines) > 900
    problems = []
    for line in lines:
        reply = bot.execute(line)
        assert not reply.is_error, (line, reply.text[:200])
        for card in reply.cards:
            listed = footer(card)
            shown = {k for k in keys(visible(card)) if k in cat.sources}
            if reply.command.startswith("search "):
                shown |= search_result_sources(cat, card)
            else:
                shown |= entity_sources(cat, reply.command)
            if shown - listed:
                problems.append((line, sorted(shown - listed)))
    assert not problems, f"{len(problems)} cards omit sources they show, e.g. {problems[:5]}"


def test_search_cards_list_their_results_sources(bot: Engine) -> None:
    card = bot.execute("search tocilizumab").cards[0]
    assert card.footer.sources, "a search card lists sources"
    assert {"le18"} <= footer(card)
    assert search_result_sources(bot.catalog, card) <= footer(card)


def only(reply: Reply) -> Card:
    assert not reply.is_error and len(reply.cards) == 1, reply.text[:300]
    return reply.cards[0]


def test_search_tocilizumab_shows_the_new_material(bot: Engine) -> None:
    card = only(bot.execute("search tocilizumab"))
    commands = [ARROW.search(f.value).group(1) for f in card.fields]
    # The management topics (dosing, CRS by grade) now rank beside the drug's own sections.
    assert {"topic tocilizumab mechanism", "topic tocilizumab-dosing", "fact tocilizumab-approval"} <= set(commands), commands
    mechanism = next(f.value for f in card.fields if f.value.endswith("topic tocilizumab mechanism"))
    # The note on the seed article's "IL-6 inhibitors" is searchable and shown in the snippet.
    assert "Siltuximab, by contrast, binds IL-6 itself [deis15]" in mechanism
    assert '"IL-6 inhibitors" in the seed article covers both' in mechanism
    # The use-in-CRS section carries the treated-fever rule; its source is listed though the snippet is cut.
    assert "fever is no longer required" in bot.catalog.topics["tocilizumab"].sections[2].body
    assert {"le18", "deis15", "act", "asco21"} <= footer(card)


def test_topic_crs_shows_the_corrections(bot: Engine) -> None:
    card = only(bot.execute("topic crs"))
    assert "rare and often mild, with high-grade and fatal cases [ham24,\nceschi20]" in card.body or "rare and often mild, with high-grade and fatal cases [ham24, ceschi20]" in card.body
    assert "therapy-triggered form of cytokine storm [fj20, tv21]" in card.body
    assert "infections are among its listed triggers [sv18]" in card.body
    assert "antipyretics or anti-cytokine therapy" in card.body
    assert {"seed", "ham24", "ceschi20", "fj20", "tv21", "sv18", "lee19", "yes", "blin", "mor22", "tec23"} <= footer(card)
    symptoms = only(bot.execute("topic crs symptoms"))
    assert "fever is no longer required" in symptoms.body
    definition = only(bot.execute("topic crs definition"))
    notes = [f for f in definition.fields if f.name.startswith("Note [")]
    assert {f.name for f in notes} == {"Note [lee14, tv21, ham24, ceschi20]", "Note [fj20, tv21, sv18]"}


def test_topic_icans_shows_five_domains_and_capd(bot: Engine) -> None:
    card = only(bot.execute("topic icans"))
    for domain in ("ICE score", "consciousness", "seizures", "motor findings", "cerebral oedema"):
        assert domain in card.body, domain
    assert "CAPD" in card.body and "12 or under" in card.body
    assert {f.name for f in card.fields} >= {"Seizures", "Motor findings", "Depressed level of consciousness", "Children"}
    assert {"lee19", "neu21", "ott22"} <= footer(card)
    seizures = only(bot.execute("topic icans seizures"))
    assert "(> 5 min)" in seizures.body
    assert only(bot.execute("icans")).title == card.title, "the bare word opens the topic"


def test_topic_siltuximab_shows_its_label_limit(bot: Engine) -> None:
    card = only(bot.execute("topic siltuximab"))
    assert "HIV-negative and HHV-8-negative" in card.body
    assert "did not bind virally produced IL-6" in card.body
    assert "off-label" not in card.plain_text().casefold()
    assert {"syl", "deis15", "le18", "fj20"} <= footer(card)
    approval = only(bot.execute("topic siltuximab approval"))
    assert "[syl]" in approval.body and "[fj20]" in approval.body


def test_compare_severity_shows_the_notes(bot: Engine) -> None:
    card = only(bot.execute("compare severity"))
    notes = {f.name: f.value for f in card.fields if f.name.startswith("Note [")}
    assert set(notes) == {"Note [lee19, fj20, yes-current]", "Note [lee19]"}
    assert any("fever is no longer required" in v for v in notes.values())
    assert {"seed", "lee19", "fj20", "yes-current"} <= footer(card)


def test_fact_card_shows_its_notes(bot: Engine) -> None:
    card = only(bot.execute("fact crs-mild-vs-severe-care"))
    names = [f.name for f in card.fields]
    assert "Note [le18, deis15]" in names and "Note [lee19, yes-current, asco21]" in names
    assert footer(card) == {"seed", "le18", "deis15", "lee19", "yes-current", "asco21"}
    for fact_id in ("storm-viral-infections", "seed-table-severity", "checkpoint-crs-rare", "siltuximab"):
        fields = only(bot.execute(f"fact {fact_id}")).fields
        assert any(f.name.startswith("Note [") for f in fields), fact_id


# --------------------------------------------------------------------------- the loader checks citations


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(MINI, target)
    return target


def test_fact_notes_and_in_text_citations_load_and_reach_the_card(pack_dir: Path) -> None:
    (pack_dir / "more.yaml").write_text(
        "facts:\n"
        "  - id: alpha-cited\n"
        "    text: Alpha is graded by fever [src-a].\n"
        "    tags: [alpha]\n"
        "    source: src-a\n"
        "    notes:\n"
        "      - text: Beta authors disagree [src-b].\n"
        "        sources: [src-b]\n"
    )
    engine = Engine(Catalog(load_pack(pack_dir)))
    card = only(engine.execute("fact alpha-cited"))
    assert ("Note [src-b]", "Beta authors disagree [src-b].") in [(f.name, f.value) for f in card.fields]
    assert [s.id for s in card.footer.sources] == ["src-a", "src-b"]
    results = only(engine.execute("search disagree"))
    assert {"src-a", "src-b"} <= footer(results)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("    notes:\n      - text: A note.\n        sources: [nope]\n", "fact 'alpha-fever' cites source 'nope'"),
        ("    notes:\n      - text: A note citing [ghost].\n        sources: [src-b]\n", "cites source 'ghost', which no file defines"),
    ],
    ids=["fact-note-dangling-source", "in-text-key-unknown"],
)
def test_loader_refuses_citations_of_missing_sources(pack_dir: Path, text: str, message: str) -> None:
    path = pack_dir / "topics.yaml"
    original = path.read_text()
    anchor = "    source: src-a\n"
    assert anchor in original
    path.write_text(original.replace(anchor, anchor + text, 1))
    with pytest.raises(PackError) as info:
        load_pack(pack_dir)
    matching = [p for p in info.value.problems if message in p.message]
    assert matching, [str(p) for p in info.value.problems]
    line = matching[0].line
    assert line is not None and ("nope" in path.read_text().splitlines()[line - 1] or "ghost" in path.read_text().splitlines()[line - 1])


def test_unknown_key_in_a_section_body_names_its_section(pack_dir: Path) -> None:
    path = pack_dir / "topics.yaml"
    text = path.read_text().replace("body: Fever, fatigue and low blood pressure (hypotension).", "body: Fever [src-q].", 1)
    path.write_text(text)
    with pytest.raises(PackError) as info:
        load_pack(pack_dir)
    problem = next(p for p in info.value.problems if "'src-q'" in p.message)
    assert "section 'symptoms'" in problem.message
    assert "[src-q]" in text.splitlines()[problem.line - 1]
