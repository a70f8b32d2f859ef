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
from bot.reply import CardKind, Reply

SCALEPACK = Path(__file__).parent / "data" / "scalepack"


def expected_crs(fever: str, hypotension: str, hypoxia: str, treated: str) -> str:
    """ASTCT CRS [Lee19]: fever is required unless antipyretics or anti-cytokine therapy were
    given; then the more severe of hypotension and hypoxia, grade 1 being fever (or treated CRS) alone."""
    if fever == "no" and treated == "no":
        return "No CRS"
    if hypotension == "vasopressors" or hypoxia == "positive-pressure":
        return "Grade 4 CRS"
    if hypotension == "vasopressor" or hypoxia == "high-flow":
        return "Grade 3 CRS"
    if hypotension == "fluids" or hypoxia == "low-flow":
        return "Grade 2 CRS"
    return "Grade 1 CRS"


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


def graded(reply: Reply):
    assert not reply.is_error, reply.text
    [card] = reply.cards
    assert card.kind is CardKind.GRADE
    return card


def test_every_crs_combination_matches_the_astct_table(engine: Engine) -> None:
    combos = list(itertools.product(*CRS_VALUES.values()))
    assert len(combos) == 64
    for fever, hypotension, hypoxia, treated in combos:
        line = f"grade crs fever={fever} hypotension={hypotension} hypoxia={hypoxia} treated={treated}"
        card = graded(engine.execute(line))
        assert card.title == expected_crs(fever, hypotension, hypoxia, treated), line
        # Every domain's contribution is on the card, with the answer given.
        shown = {f.name: f.value for f in card.fields}
        assert [shown[t].split(" ")[0] for t in ("Fever", "Hypotension", "Hypoxia")] == [fever, hypotension, hypoxia]
        if card.title.startswith("Grade"):
            grade = card.title.split()[1]
            assert re.search(rf"^Decided by \S+ \(grade {grade}\)", card.body, re.M), card.body


def test_every_icans_combination_matches_the_astct_table(engine: Engine) -> None:
    combos = list(itertools.product(*ICANS_VALUES.values()))
    assert len(combos) == 11 * 5 * 3 * 2 * 3
    for ice, consciousness, seizure, motor, edema in combos:
        line = f"grade icans ice={ice} consciousness={consciousness} seizure={seizure} motor={motor} edema={edema}"
        card = graded(engine.execute(line))
        assert card.title == expected_icans(ice, consciousness, seizure, motor, edema), line


def test_treated_left_out_is_assumed_no_and_the_card_says_what_yes_would_make_it(engine: Engine) -> None:
    for fever, hypotension, hypoxia in itertools.product(*list(CRS_VALUES.values())[:3]):
        line = f"grade crs fever={fever} hypotension={hypotension} hypoxia={hypoxia}"
        card = graded(engine.execute(line))
        assert card.title == expected_crs(fever, hypotension, hypoxia, "no")
        worse = expected_crs(fever, hypotension, hypoxia, "yes")
        [treated] = [f.value for f in card.fields if f.name == "Antipyretic or anti-cytokine therapy given"]
        assert "(not given; assumed)" in treated
        warning = f"With treated=yes this would be {worse}."
        if worse != card.title:
            assert treated.endswith(warning)
        else:
            assert "this would be" not in card.plain_text()


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
    ("grade crs fever=no hypotension=none hypoxia=none treated=no", "No CRS"),
])
def test_cases_from_the_references(engine: Engine, line: str, title: str) -> None:
    assert graded(engine.execute(line)).title == title


def test_no_crs_says_why_and_shows_what_it_did_not_count(engine: Engine) -> None:
    card = graded(engine.execute("grade crs fever=no hypotension=vasopressors hypoxia=none treated=no"))
    assert card.title == "No CRS"
    assert card.body == engine.catalog.scales["crs"].requires.text
    hypotension = next(f.value for f in card.fields if f.name == "Hypotension")
    assert hypotension.startswith("vasopressors → grade 4") and "Not counted" in hypotension


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
    ("grade wobble sway=wild noise=quiet", "Grade 3 Wobble"),
    ("grade sway=slight noise=loud", "Grade 2 Wobble"),  # the keys name the scale
    ("grade wobbliness swaying: still noise: quiet", "No Wobble"),
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
    assert [f.name for f in card.fields] == ["Sway", "Noise", "Standing", "Note [src-w]"]
    assert [s.id for s in card.footer.sources] == ["src-w"]
    missing = made_up.execute("grade wobble sway=wild")
    assert missing.is_error and "noise=quiet | loud" in missing.text and "standing" not in missing.text.split("Still needed:")[1]
    assumed = graded(made_up.execute("grade wobble sway=wild noise=quiet"))
    assert "(not given; assumed)" in next(f.value for f in assumed.fields if f.name == "Standing")


def test_made_up_scale_typed_forms(made_up: Engine) -> None:
    variants = grade_variants(made_up.catalog)
    assert [(v.name, v.fixed) for v in variants] == [("wobble", (("scale", "wobble"),)), ("glow", (("scale", "glow"),))]
    wobble = variants[0]
    assert [(p.name, p.required, p.choices) for p in wobble.params] == [
        ("sway", True, ("none", "slight", "wild")), ("noise", True, ("quiet", "loud")), ("standing", False, ("yes", "no")),
    ]
    assert wobble.params[0].choice_labels[2] == "wild (grade 3): Wild sway."
    args = {**dict(wobble.fixed), "sway": "slight", "noise": "quiet"}
    assert graded(made_up.invoke("grade", args)).title == "Grade 1 Wobble"


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
