"""The grade command on the bundled ASTCT scales and on a made-up scale the code never saw.

The expected grades are written here from the tables in ../shared/docs/clinical-references.md,
top-down as the tables read, not from the pack's data or the engine's rule (the most severe
contribution); every combination of answers is checked against them.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands.grading import grade_variants
from bot.engine import Engine
from bot.grading import check_scale, plain_number, value_key
from bot.reply import CardKind, Reply

SCALEPACK = Path(__file__).parent / "data" / "scalepack"


# Written here from the brief and ../shared/docs/clinical-references.md, not from the pack.
NOT_GRADED_CRS = "Not graded as CRS: the ASTCT definition needs fever of at least 38 °C"
CHILD_ICANS = "Not graded: children aged 12 or under are assessed with CAPD, not the ICE score"


def expected_crs(fever: str, hypotension: str, hypoxia: str, treated: str) -> str:
    """ASTCT CRS [Lee19]: fever is required unless antipyretics or anti-cytokine therapy were
    given; then the more severe of hypotension and hypoxia, grade 1 being fever (or treated CRS) alone."""
    if fever == "no" and treated == "no":
        return NOT_GRADED_CRS
    if hypotension == "vasopressors" or hypoxia == "positive-pressure":
        return "Grade 4 CRS"
    if hypotension == "vasopressor" or hypoxia == "high-flow":
        return "Grade 3 CRS"
    if hypotension == "fluids" or hypoxia == "low-flow":
        return "Grade 2 CRS"
    return "Grade 1 CRS"


def crs_red_flag(fever: str, hypotension: str, hypoxia: str, treated: str) -> bool:
    """Not graded for want of fever, though hypotension or hypoxia alone would be grade 2 or more
    (every hypotension or hypoxia answer but none is grade 2 or more in the table)."""
    return expected_crs(fever, hypotension, hypoxia, treated) == NOT_GRADED_CRS and (hypotension, hypoxia) != ("none", "none")


def expected_icans(ice: int, consciousness: str, seizure: str, motor: str, edema: str) -> str:
    """ASTCT ICANS [Lee19, Neu21, Ott22]: the most severe of the five domains."""
    if consciousness == "unarousable" or seizure == "prolonged" or motor == "weakness" or edema == "diffuse":
        return "Grade 4 ICANS"
    if ice <= 2 or consciousness == "touch" or seizure == "rapid" or edema == "focal":
        return "Grade 3 ICANS"
    if ice <= 6 or consciousness == "voice":
        return "Grade 2 ICANS"
    if ice <= 9 or consciousness == "spontaneous":
        return "Grade 1 ICANS"
    return "No ICANS"


def icans_contradiction(ice: int, consciousness: str) -> bool:
    """An unarousable patient cannot perform the ICE, which the criteria score as ICE 0."""
    return consciousness == "unarousable" and ice > 0


def icans_ice0_check(ice: int, consciousness: str) -> bool:
    """ICE 0 in a patient who can be woken: grade 3 if awake with global aphasia; unarousable is grade 4."""
    return ice == 0 and consciousness != "unarousable"


CRS_VALUES = {
    "fever": ("yes", "no"),
    "hypotension": ("none", "fluids", "vasopressor", "vasopressors"),
    "hypoxia": ("none", "low-flow", "high-flow", "positive-pressure"),
    "treated": ("yes", "no"),
}
ICANS_VALUES = {
    "ice": tuple(range(11)),
    "consciousness": ("alert", "spontaneous", "voice", "touch", "unarousable"),
    "seizure": ("none", "rapid", "prolonged"),
    "motor": ("none", "weakness"),
    "edema": ("none", "focal", "diffuse"),
}
RED_FLAG = "⚠ Red flag: urgent review."


def graded(reply: Reply):
    assert not reply.is_error, reply.text
    [card] = reply.cards
    assert card.kind is CardKind.GRADE
    return card


def field(card, name: str) -> str:
    [value] = [f.value for f in card.fields if f.name == name]
    return value


def test_every_crs_combination_matches_the_astct_table(engine: Engine) -> None:
    combos = list(itertools.product(*CRS_VALUES.values()))
    assert len(combos) == 64
    for fever, hypotension, hypoxia, treated in combos:
        line = f"grade crs fever={fever} hypotension={hypotension} hypoxia={hypoxia} treated={treated}"
        card = graded(engine.execute(line))
        title = expected_crs(fever, hypotension, hypoxia, treated)
        assert card.title == title, line
        assert "No CRS" not in card.title
        # Every domain's contribution is on the card, with the answer given.
        shown = {f.name: f.value for f in card.fields}
        assert [shown[t].split(" ")[0] for t in ("Fever", "Hypotension", "Hypoxia")] == [fever, hypotension, hypoxia]
        # The red flag is the first line exactly when the answers alone would be grade 2 or more.
        flagged = crs_red_flag(fever, hypotension, hypoxia, treated)
        assert card.body.startswith(RED_FLAG) is flagged, line
        if flagged:
            first = card.body.splitlines()[0]
            assert "fever may be masked" in first and "consider sepsis" in first
            worst = max(int(expected_crs("yes", hypotension, hypoxia, treated).split()[1]), 2)
            assert f"would score grade {worst} on their own" in first, line
        if title.startswith("Grade"):
            grade = title.split()[1]
            assert re.search(rf"^Decided by \S+ \(grade {grade}\)", card.body, re.M), card.body
        # Every card reminds that ICANS is graded separately, and that it is a decision aid.
        assert "ICANS is graded separately" in shown["Also assess"]
        assert "Confirm the grade at the bedside" in shown["Decision aid"]


def test_every_icans_combination_matches_the_astct_table(engine: Engine) -> None:
    combos = list(itertools.product(*ICANS_VALUES.values()))
    assert len(combos) == 11 * 5 * 3 * 2 * 3
    for ice, consciousness, seizure, motor, edema in combos:
        line = f"grade icans ice={ice} consciousness={consciousness} seizure={seizure} motor={motor} edema={edema}"
        card = graded(engine.execute(line))
        assert card.title == expected_icans(ice, consciousness, seizure, motor, edema), line
        lines = card.body.splitlines()
        contradiction = any(x.startswith("⚠ These answers contradict each other") for x in lines)
        check = any(x.startswith("⚠ Check the ICE 0") for x in lines)
        assert (contradiction, check) == (icans_contradiction(ice, consciousness), icans_ice0_check(ice, consciousness)), line
        assert "CRS is graded separately" in field(card, "Also assess")
        # Over 12 the same; 12 or under not graded at all (no grade in the title).
        assert graded(engine.execute(f"{line} age=13")).title == card.title
        child = graded(engine.execute(f"{line} age=12"))
        assert child.title == CHILD_ICANS and "Grade" not in child.title, line


def test_fever_no_with_treated_left_out_asks_and_never_assumes(engine: Engine) -> None:
    for hypotension, hypoxia in itertools.product(CRS_VALUES["hypotension"], CRS_VALUES["hypoxia"]):
        line = f"grade crs fever=no hypotension={hypotension} hypoxia={hypoxia}"
        reply = engine.execute(line)
        assert reply.is_error, line  # no card with a grade or "not graded" from an assumed answer
        [card] = reply.cards
        assert card.title == "CRS: one more answer needed"
        assert "premedication" in card.body and "treated=yes" in card.body and "treated=no" in card.body
        assert card.body.startswith(RED_FLAG) is ((hypotension, hypoxia) != ("none", "none")), line
        # The two lines to type, and each one grades as the table says.
        for treated in ("yes", "no"):
            typed = f"{line} treated={treated}"
            assert f"/crs {typed}" in reply.text, reply.text
            assert graded(engine.execute(typed)).title == expected_crs("no", hypotension, hypoxia, treated)


def test_fever_yes_with_treated_left_out_is_graded_as_either_answer_would(engine: Engine) -> None:
    for hypotension, hypoxia in itertools.product(CRS_VALUES["hypotension"], CRS_VALUES["hypoxia"]):
        line = f"grade crs fever=yes hypotension={hypotension} hypoxia={hypoxia}"
        card = graded(engine.execute(line))
        assert card.title == expected_crs("yes", hypotension, hypoxia, "no") == expected_crs("yes", hypotension, hypoxia, "yes")
        assert "(not given; assumed: no other answer would change the outcome)" in field(card, "Antipyretic or anti-cytokine therapy given")


@pytest.mark.parametrize(("line", "title"), [
    # The references' own example: ICE 3 with a generalised seizure is grade 3.
    ("grade icans ice=3 consciousness=alert seizure=rapid motor=none edema=none", "Grade 3 ICANS"),
    # ICE 8 alone is grade 1; with a seizure it is not.
    ("grade icans ice=8 consciousness=alert seizure=none motor=none edema=none", "Grade 1 ICANS"),
    ("grade icans ice=8 consciousness=alert seizure=rapid motor=none edema=none", "Grade 3 ICANS"),
    # ICE 0: grade 3 awake (global aphasia), grade 4 unarousable.
    ("grade icans ice=0 consciousness=alert seizure=none motor=none edema=none", "Grade 3 ICANS"),
    ("grade icans ice=0 consciousness=unarousable seizure=none motor=none edema=none", "Grade 4 ICANS"),
    ("grade icans ice=10 consciousness=alert seizure=none motor=none edema=none", "No ICANS"),
    ("grade icans ice=10 consciousness=alert seizure=none motor=hemiparesis edema=none", "Grade 4 ICANS"),
    ("grade crs fever=yes hypotension=none hypoxia=none", "Grade 1 CRS"),
    ("grade crs fever=yes hypotension=fluids hypoxia=high-flow", "Grade 3 CRS"),
    ("grade crs fever=yes hypotension=vasopressor hypoxia=none", "Grade 3 CRS"),
    ("grade crs fever=yes hypotension=vasopressors hypoxia=none", "Grade 4 CRS"),
    ("grade crs fever=yes hypotension=none hypoxia=cpap", "Grade 4 CRS"),
    # After tocilizumab or steroids, fever is no longer required.
    ("grade crs fever=no hypotension=vasopressor hypoxia=none treated=yes", "Grade 3 CRS"),
    ("grade crs fever=no hypotension=none hypoxia=none treated=yes", "Grade 1 CRS"),
    ("grade crs fever=no hypotension=none hypoxia=none treated=no", NOT_GRADED_CRS),
    ("grade crs fever=no hypotension=vasopressors hypoxia=positive-pressure treated=no", NOT_GRADED_CRS),
    # ICE 0 with an awake patient is grade 3 (global aphasia); a child is not graded.
    ("grade icans ice=0 consciousness=alert seizure=none motor=none edema=none age=40", "Grade 3 ICANS"),
    ("grade icans ice=9 consciousness=alert seizure=none motor=none edema=none age=12", CHILD_ICANS),
    ("grade icans ice=9 consciousness=alert seizure=none motor=none edema=none age=child", CHILD_ICANS),
    ("grade icans ice=9 consciousness=alert seizure=none motor=none edema=none age=0", CHILD_ICANS),
    ("grade icans ice=9 consciousness=alert seizure=none motor=none edema=none age=13", "Grade 1 ICANS"),
])
def test_cases_from_the_references(engine: Engine, line: str, title: str) -> None:
    assert graded(engine.execute(line)).title == title


def test_no_fever_card_is_titled_for_what_it_is_with_the_red_flag_first(engine: Engine) -> None:
    """The review's case: several vasopressors and positive pressure, no fever, nothing given."""
    card = graded(engine.execute("grade crs fever=no hypotension=vasopressors hypoxia=positive-pressure treated=no"))
    assert card.title == NOT_GRADED_CRS
    first, rest = card.body.split("\n", 1)
    assert first.startswith(RED_FLAG) and "urgent review" in first
    assert "fever may be masked" in first and "consider sepsis" in first and "grade 4" in first
    assert rest == engine.catalog.scales["crs"].requires.text
    hypotension = field(card, "Hypotension")
    assert hypotension.startswith("vasopressors → grade 4") and "Not counted" in hypotension
    quiet = graded(engine.execute("grade crs fever=no hypotension=none hypoxia=none treated=no"))
    assert quiet.title == NOT_GRADED_CRS and "⚠" not in quiet.body


def test_contradictory_icans_answers_are_flagged_and_still_graded_at_the_worst(engine: Engine) -> None:
    card = graded(engine.execute("grade icans ice=10 consciousness=unarousable seizure=none motor=none edema=none"))
    assert card.title == "Grade 4 ICANS"
    assert card.body.startswith("⚠ These answers contradict each other: an unarousable patient cannot perform the")
    awake = graded(engine.execute("grade icans ice=0 consciousness=alert seizure=none motor=none edema=none"))
    assert awake.title == "Grade 3 ICANS"
    assert awake.body.startswith("⚠ Check the ICE 0") and "global aphasia" in awake.body and "consciousness=unarousable" in awake.body
    plain = graded(engine.execute("grade icans ice=0 consciousness=unarousable seizure=none motor=none edema=none"))
    assert plain.title == "Grade 4 ICANS" and "⚠" not in plain.body


def test_a_child_is_not_graded_and_the_card_says_why(engine: Engine) -> None:
    reply = engine.execute("grade icans ice=3 consciousness=alert seizure=none motor=none edema=none age=8")
    card = graded(reply)
    assert card.title == CHILD_ICANS
    assert "CAPD" in card.body and "does not grade children" in card.body and "[lee19]" in card.body
    assert "Decided by" not in card.body
    ice = field(card, "ICE score")
    assert ice.startswith("3 → grade 2") and "Not counted: the patient is not graded on this scale" in ice
    assert field(card, "Age").startswith("8 (child) → no grade")
    assert reply.command == "grade icans ice=3 consciousness=alert seizure=none motor=none edema=none age=8"
    for bad in ("8.5", "-3", "+8", "08", "eight", "200"):
        refused = engine.execute(f"grade icans ice=3 consciousness=alert seizure=none motor=none edema=none age={bad}")
        assert refused.is_error and f"“{bad}” is not an answer I accept" in refused.text, bad
        assert "age=a whole number from 0 to 120 in plain digits" in refused.text


def test_card_shows_notes_and_every_source_it_cites_is_in_its_footer(engine: Engine) -> None:
    for line, scale in (("grade crs fever=yes hypotension=none hypoxia=none", "crs"),
                        ("grade icans ice=9 consciousness=alert seizure=none motor=none edema=none", "icans")):
        card = graded(engine.execute(line))
        s = engine.catalog.scales[scale]
        notes = [f for f in card.fields if f.name.startswith("Note")]
        assert [n.value for n in notes] == [n.text for n in s.notes]
        cited = {c.strip() for n in notes for c in re.search(r"\[(.*)\]", n.name).group(1).split(",")}
        footer = {ref.id for ref in card.footer.sources}
        assert cited | set(s.sources) == footer
        assert "lee19" in footer
        assert "not medical advice" in card.footer.disclaimer
    icans = graded(engine.execute("grade icans ice=9 consciousness=alert seizure=none motor=none edema=none"))
    assert any("12 or under" in f.value and "CAPD" in f.value for f in icans.fields)
    assert any("Tremor and myoclonus" in f.value for f in icans.fields)
    crs = graded(engine.execute("grade crs fever=yes hypotension=none hypoxia=none"))
    assert any("CTCAE v5.0" in f.value for f in crs.fields)


# ---------------------------------------------------------------- what people type


@pytest.mark.parametrize("line", [
    "grade crs fever=yes hypotension=fluids hypoxia=low-flow",
    "grade fever=yes hypotension=fluids hypoxia=low-flow",  # plain `grade` + CRS keys means CRS
    "GRADE CRS FEVER=YES HYPOTENSION=FLUIDS HYPOXIA=LOW-FLOW",
    "grade crs fever: yes, hypotension: fluids; hypoxia: low flow",
    "grade crs fever = yes  hypotension = fluid  hypoxia = blow-by",
    "grade cytokine release syndrome temp=febrile bp=fluid-responsive o2=Low Flow",
    "/crs grade crs fever=y hypotension=no-vasopressors oxygen=lowflow",
    "grade scale=crs fever=yes hypotension=fluids hypoxia=low-flow",
])
def test_formats_and_aliases(engine: Engine, line: str) -> None:
    reply = engine.execute(line)
    assert graded(reply).title == "Grade 2 CRS"
    assert reply.command == "grade crs fever=yes hypotension=fluids hypoxia=low-flow"


def test_public_word_and_share_command_reproduce_the_card(engine: Engine) -> None:
    reply = engine.execute("grade ice: 4 loc: voice seizure: no motor: no edema: no")
    assert graded(reply).title == "Grade 2 ICANS"
    assert reply.command == "grade icans ice=4 consciousness=voice seizure=none motor=none edema=none"
    assert engine.execute(reply.command).cards == reply.cards
    public = engine.execute("grade ice: 4 loc: voice seizure: no motor: no edema: no public")
    assert public.visibility.value == "public" and public.cards == reply.cards


def test_typed_options_as_discord_sends_them(engine: Engine) -> None:
    args = {"scale": "icans", "ice": "8", "consciousness": "alert", "seizure": "rapid", "motor": "none", "edema": "none"}
    assert graded(engine.invoke("grade", args)).title == "Grade 3 ICANS"
    crs = {"scale": "crs", "fever": "no", "hypotension": "fluids", "hypoxia": "none", "treated": "yes"}
    assert graded(engine.invoke("grade", crs)).title == "Grade 2 CRS"
    bad = engine.invoke("grade", {"scale": "nope", "fever": "yes"})
    assert bad.is_error and "no grading scale “nope”" in bad.text


def test_missing_answers_list_the_accepted_values(engine: Engine) -> None:
    reply = engine.execute("grade icans ice=8 seizure=rapid")
    assert reply.is_error
    [card] = reply.cards
    assert card.title == "ICANS: answers needed"
    assert "consciousness=alert | spontaneous | voice | touch | unarousable" in card.body
    assert "motor=none | weakness" in card.body and "edema=none | focal | diffuse" in card.body
    assert "ice=" not in card.body.split("Still needed:")[1]  # what was given is not asked again


@pytest.mark.parametrize(("line", "wanted"), [
    ("grade crs fever=yes hypotension=vasopresor hypoxia=none", "“vasopresor” is not an answer I accept. Accepted: hypotension=none | fluids | vasopressor | vasopressors"),
    ("grade crs fever=maybe hypotension=none hypoxia=none", "Accepted: fever=yes | no"),
    ("grade crs fever= hypotension=none hypoxia=none", "Fever: no answer was given. Accepted: fever=yes | no"),
    ("grade crs fevr=yes hypotension=none hypoxia=none", "CRS has no question “fevr”. Its questions: fever, hypotension, hypoxia, treated."),
    ("grade crs fever=yes fever=no hypotension=none hypoxia=none", "Fever was answered twice (“yes” and “no”)"),
    ("grade icans ice=11 consciousness=alert seizure=none motor=none edema=none", "Accepted: ice=10 | 9 | 8"),
    ("grade icans ice=8/10 consciousness=alert seizure=none motor=none edema=none", "ICE score: “8/10” is not"),
    ("grade icans ice=9 consciousness=alert seizure=yes motor=none edema=none", "Accepted: seizure=none | rapid | prolonged"),
    ("grade icans ice=9 consciousness=alert seizure=none motor=tremor edema=none", "Accepted: motor=none | weakness"),
    ("grade nope fever=yes hypotension=none hypoxia=none", "There is no grading scale “nope”"),
])
def test_bad_answers_are_refused_with_the_accepted_values(engine: Engine, line: str, wanted: str) -> None:
    reply = engine.execute(line)
    assert reply.is_error
    assert wanted in reply.text
    assert "/crs grade" in reply.text  # an example to copy


ICANS_REST = "consciousness=alert seizure=none motor=none edema=none"


@pytest.mark.parametrize("ice", ["1.0", "1,0", "1 0", "-1", "+8", "10.0", "07", "00", "8/10", ".5", "1e1", "٣", "ten", "1-0"])
def test_an_ice_score_not_written_plainly_is_refused_never_read_as_another_number(engine: Engine, ice: str) -> None:
    """The review's finding: ice=1.0 answered No ICANS (read as 10); the true grade is 3."""
    for reply in (engine.execute(f"grade icans ice={ice} {ICANS_REST}"),
                  engine.invoke("grade", {"scale": "icans", "ice": ice, **dict(p.split("=") for p in ICANS_REST.split())})):
        assert reply.is_error, (ice, reply.text)
        assert f"ICE score: “{ice}” is not an answer I accept" in reply.text
        assert "Accepted: ice=10 | 9 | 8 | 7 | 6 | 5 | 4 | 3 | 2 | 1 | 0 (a whole number from 0 to 10 in plain digits" in reply.text
        assert "No ICANS" not in reply.text and "Grade" not in reply.cards[0].title


@pytest.mark.parametrize(("ice", "title"), [("1", "Grade 3 ICANS"), ("10", "No ICANS"), (" 8 ", "Grade 1 ICANS"),
                                             ("0", "Grade 3 ICANS"), ("１０", "No ICANS")])
def test_a_plain_ice_score_is_read_exactly(engine: Engine, ice: str, title: str) -> None:
    """Full-width digits are the same digits (the line is NFKC-normalised before parsing)."""
    reply = engine.execute(f"grade icans ice={ice} {ICANS_REST}")
    assert graded(reply).title == title
    assert f"ice={ice.strip().replace('１０', '10')} " in reply.command


def test_value_key_ignores_case_and_word_separators_and_nothing_else() -> None:
    assert value_key("Low Flow") == value_key("low-flow") == value_key("lowflow") == value_key("LOW_FLOW")
    assert value_key("Cushing's triad") == value_key("cushings-triad")
    assert value_key("1 vasopressor") == value_key("1-vasopressor")
    for typed in ("1.0", "1,0", "1 0", "1-0", "-1", "+8", "10.0", "07", "8/10"):
        assert value_key(typed) not in {str(n) for n in range(11)}, typed
    assert [plain_number(t) for t in ("0", "7", "10", " 10 ")] == [0, 7, 10, 10]
    assert [plain_number(t) for t in ("07", "-1", "+8", "1.0", "1 0", "", "٣", "1e1")] == [None] * 8


@settings(max_examples=300, deadline=None)
@given(typed=st.one_of(st.text(max_size=8), st.text(alphabet="0123456789 .,-+_'/", max_size=6)))
def test_an_ice_answer_is_accepted_only_as_the_plain_number_it_is(catalog, typed: str) -> None:
    grader = catalog.graders["icans"]
    ice = grader.domain("ice")
    value, number = grader.read(ice, typed)
    if value is not None:
        assert typed.strip() == value.id == str(number)


def test_every_name_of_every_value_reads_back_to_that_value_and_no_other(catalog) -> None:
    for scale in catalog.scales.values():
        assert check_scale(scale) == []
        grader = catalog.graders[scale.id]
        for domain in scale.domains:
            for value in domain.values:
                for name in (value.id, *value.aliases):
                    assert grader.value(domain, name) is value, (scale.id, domain.id, name)
                    assert grader.value(domain, name.upper().replace("-", " ")) is value
            if domain.numeric is not None:
                for n in range(domain.numeric.min, domain.numeric.max + 1):
                    value, number = grader.read(domain, str(n))
                    assert value is not None and number == n


def test_no_seizure_answer_that_fits_a_prolonged_seizure_reads_as_a_rapid_one(catalog) -> None:
    """Every seizure ends: "resolved" would turn a prolonged seizure (grade 4) into grade 3."""
    grader = catalog.graders["icans"]
    seizure = grader.domain("seizure")
    for typed in ("resolved", "stopped", "ended", "over"):
        assert grader.value(seizure, typed) is None, typed
    assert grader.value(seizure, "resolves rapidly").id == "rapid"


def test_no_hypoxia_answer_turns_a_patient_who_needs_oxygen_into_none(catalog) -> None:
    """Reviewed by hand: only "none" and "no" (no hypoxia, no oxygen needed) mean no grade.
    "room-air" is refused: a hypoxic patient still on room air needs oxygen."""
    hypoxia = next(d for d in catalog.scales["crs"].domains if d.id == "hypoxia")
    assert "needs" in hypoxia.question
    ungraded = {name for v in hypoxia.values if v.grade == 0 for name in (v.id, *v.aliases)}
    assert ungraded == {"none", "no"}
    grader = catalog.graders["crs"]
    for typed in ("room-air", "room air", "RA", "nil", "on room air", "no oxygen given", "none yet"):
        assert grader.value(hypoxia, typed) is None, typed


def test_a_near_miss_is_never_guessed(engine: Engine) -> None:
    """`vasopressor` and `vasopressors` are one letter apart and one grade apart."""
    for typo in ("vasopresors", "vasopressorss", "vaso", "pressors"):
        assert engine.execute(f"grade crs fever=yes hypotension={typo} hypoxia=none").is_error


@pytest.mark.parametrize("line", ["grade", "grade 3 crs", "grade what is this", "grade ice 8"])
def test_grade_alone_or_with_plain_words_explains_both_scales(engine: Engine, line: str) -> None:
    reply = engine.execute(line)
    assert not reply.is_error
    [card] = reply.cards
    assert card.kind is CardKind.HELP
    for scale in engine.catalog.scales.values():
        field = next(f for f in card.fields if f.name == scale.title)
        assert f"/crs grade {scale.id} {scale.example}" in field.value
        for domain in scale.domains:
            assert f"{domain.id}=" in field.value
    assert {"lee19", "neu21", "ott22"} <= {s.id for s in card.footer.sources}
    if line != "grade":
        assert "I found no key=value answers" in card.body


def test_grade_with_a_scale_name_explains_that_scale_in_full(engine: Engine) -> None:
    card = engine.execute("grade icans").cards[0]
    assert card.kind is CardKind.HELP and card.title == "Grading: ASTCT consensus grading of ICANS"
    ice = next(f.value for f in card.fields if f.name.startswith("ICE score"))
    assert "9, 8, 7: ICE 7-9. (grade 1)" in ice
    assert any(f.name == "Example" and f.value.endswith(engine.catalog.scales["icans"].example) for f in card.fields)
    crs = engine.execute("grade CRS").cards[0]
    high = next(f.value for f in crs.fields if f.name.startswith("Hypoxia"))
    assert "high-flow: Hypoxia needing high-flow nasal cannula (> 6 L/min)" in high and "hfnc" in high


def test_help_lists_grade(engine: Engine) -> None:
    assert "grade [scale] key=value" in engine.execute("help").text
    assert "/crs grade crs fever=yes" in engine.execute("help grade").text


# ---------------------------------------------------------------- a scale the code never saw


@pytest.fixture(scope="module")
def made_up() -> Engine:
    return Engine.load(SCALEPACK)


@pytest.mark.parametrize(("line", "title"), [
    ("grade wobble sway=wild noise=quiet standing=yes", "Grade 3 Wobble"),
    ("grade sway=slight noise=loud standing=yes", "Grade 2 Wobble"),  # the keys name the scale
    ("grade wobbliness swaying: still noise: quiet", "No Wobble"),  # standing left out changes nothing
    ("grade sway=lots noise=loud standing=no", "No Wobble"),  # its requirement fails
    ("grade brightness=dim", "Grade 1 Glow"),
    ("grade glow brightness=dark", "No Glow"),
])
def test_a_made_up_scale_grades_from_its_data(made_up: Engine, line: str, title: str) -> None:
    card = graded(made_up.execute(line))
    assert card.title == title


def test_made_up_scale_card_requirement_notes_and_footer(made_up: Engine) -> None:
    card = graded(made_up.execute("grade sway=lots noise=loud standing=no"))
    assert card.body == "Nothing wobbles lying down."
    assert [f.name for f in card.fields] == ["Sway", "Noise", "Standing", "Note [src-w]", "Decision aid"]
    assert [s.id for s in card.footer.sources] == ["src-w"]
    missing = made_up.execute("grade wobble sway=wild")
    assert missing.is_error and "noise=quiet | loud" in missing.text and "standing" not in missing.text.split("Still needed:")[1].split("Every answer")[0]
    assumed = graded(made_up.execute("grade wobble sway=none noise=quiet"))
    assert "(not given; assumed" in field(assumed, "Standing")
    # Left out where it matters, the default is not assumed: the reply asks, with both lines.
    asked = made_up.execute("grade wobble sway=wild noise=quiet")
    assert asked.is_error and asked.cards[0].title == "Wobble: one more answer needed"
    assert "/crs grade wobble sway=wild noise=quiet standing=yes" in asked.text
    assert "/crs grade wobble sway=wild noise=quiet standing=no" in asked.text


def test_made_up_scale_typed_forms(made_up: Engine) -> None:
    variants = grade_variants(made_up.catalog)
    assert [(v.name, v.fixed) for v in variants] == [
        ("wobble", (("scale", "wobble"),)), ("glow", (("scale", "glow"),)), ("tally", (("scale", "tally"),))]
    tally = variants[2]
    assert [(p.name, p.required, p.choices) for p in tally.params] == [
        ("taps", True, ("0", "1", "2", "3")), ("mood", False, ("quiet", "loud")), ("size", False, ("tiny", "normal")),
    ]
    wobble = variants[0]
    assert [(p.name, p.required, p.choices) for p in wobble.params] == [
        ("sway", True, ("none", "slight", "wild")), ("noise", True, ("quiet", "loud")), ("standing", False, ("yes", "no")),
    ]
    assert wobble.params[0].choice_labels[2] == "wild (grade 3): Wild sway."
    args = {**dict(wobble.fixed), "sway": "slight", "noise": "quiet", "standing": "yes"}
    assert graded(made_up.invoke("grade", args)).title == "Grade 1 Wobble"


@pytest.mark.parametrize(("line", "title"), [
    ("grade tally taps=3", "Grade 2 Tally"),  # mood left out: loud would not change grade 2
    ("grade tally taps=2 mood=quiet", "Grade 1 Tally"),
    ("grade taps=0 mood=noisy", "Grade 2 Tally"),
    ("grade tally taps=2 mood=quiet size=3", "Not graded: tiny things are not tallied"),
    ("grade tally taps=2 mood=quiet size=wee", "Not graded: tiny things are not tallied"),
    ("grade tally taps=2 mood=quiet size=5", "Grade 1 Tally"),
    ("grade tally taps=2 mood=quiet size=500", "Grade 1 Tally"),
])
def test_a_made_up_numeric_scale_grades_from_its_data(made_up: Engine, line: str, title: str) -> None:
    assert graded(made_up.execute(line)).title == title


def test_made_up_numeric_scale_numbers_flags_exclusions_and_asking(made_up: Engine) -> None:
    reply = made_up.execute("grade tally taps=2 mood=quiet size=3")
    card = graded(reply)
    assert card.body == "Tiny things are counted another way [src-g]."
    assert field(card, "Size").startswith("3 (tiny) → no grade")
    assert "Not counted: the patient is not graded" in field(card, "Taps")
    assert reply.command == "grade tally taps=2 mood=quiet size=3"  # the number typed, not the band
    assert made_up.execute(reply.command).cards == reply.cards
    flagged = graded(made_up.execute("grade tally taps=0 mood=loud"))
    assert flagged.body.startswith("⚠ Zero taps cannot be loud [src-w].")
    assert {"src-g", "src-w"} <= {s.id for s in flagged.footer.sources}  # a flag's citation reaches the footer
    assert field(flagged, "Also assess") == "Count the glow too, on its own scale (grade glow)."
    asked = made_up.execute("grade tally taps=1")
    assert asked.is_error and asked.cards[0].title == "Tally: one more answer needed"
    assert "/crs grade tally taps=1 mood=quiet" in asked.text and "/crs grade tally taps=1 mood=loud" in asked.text
    for bad in ("1.0", "1,0", "1 0", "-1", "+1", "01", "4", "1/3", "one"):
        refused = made_up.execute(f"grade tally taps={bad} mood=quiet")
        assert refused.is_error and f"“{bad}” is not an answer I accept" in refused.text, bad
        assert "taps=0 | 1 | 2 | 3 (a whole number from 0 to 3 in plain digits" in refused.text
    for bad in ("3.0", "-3", "501", "03", "3 cm"):
        refused = made_up.execute(f"grade tally taps=2 mood=quiet size={bad}")
        assert refused.is_error and "size=a whole number from 0 to 500 in plain digits" in refused.text, bad
        assert "| tiny | normal (optional)" in refused.text
    twice = made_up.execute("grade tally taps=2 mood=quiet size=3 size=4")
    assert twice.is_error and "Size was answered twice" in twice.text


def test_a_pack_without_scales_says_so(mini_engine: Engine) -> None:
    reply = mini_engine.execute("grade fever=yes")
    assert reply.is_error and "no grading scales" in reply.text


# ---------------------------------------------------------------- hostile input

answer_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(["crs", "icans", "ice", "=", ":", "fever", "yes", "no", "8", ",", "<@U1>", "\x00", "🧪", "public",
                              "hypotension=", "seizure:", "edema = diffuse", " "]), max_size=20).map("".join),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=answer_text, typed=st.dictionaries(st.sampled_from(["scale", "answers", "ice", "fever", "x"]), answer_text, max_size=3))
def test_random_answers_never_crash(engine: Engine, text: str, typed: dict[str, str]) -> None:
    for reply in (engine.execute(f"grade {text}"), engine.invoke("grade", typed)):
        assert reply.cards and reply.cards[0].footer.disclaimer
        assert reply.cards[0].title != "Sorry, that failed"
