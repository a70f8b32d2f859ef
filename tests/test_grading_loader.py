"""Broken grading scales are refused with file, line and what to change, like every pack file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.loader import PackError, load_pack
from tests.test_loader import assert_refused, edit, write

SCALEPACK = Path(__file__).parent / "data" / "scalepack"
S = "scales.yaml"

GLOW_AGAIN = """scales:
  - id: glow
    name: Glow
    title: Another glow
    summary: Clashes with the first.
    top_grade: 1
    sources: [src-g]
    example: shine=on
    domains:
      - id: shine
        title: Shine
        question: Shining?
        values:
          - {id: "off", grade: 0, criterion: Off.}
          - {id: "on", grade: 1, criterion: On.}
"""

MANY_VALUES = """scales:
  - id: many
    name: Many
    title: Too many answers
    summary: One domain with 26 answers, more than Discord can offer as choices.
    top_grade: 1
    sources: [src-g]
    example: count=v0
    domains:
      - id: count
        title: Count
        question: How many?
        values:
""" + "".join(f"          - {{id: v{n}, grade: {min(n, 1)}, criterion: Value {n}.}}\n" for n in range(26))


# (case id, mutation, file, a line containing this text (or None), expected message part)
CASES = [
    ("unknown-domain-key", edit(S, "        question: How loud it is", "        questoin: oops\n        question: How loud it is"),
     S, "questoin", "unknown key 'questoin'"),
    ("unknown-scale-key", edit(S, "    top_grade: 2", "    top_grade: 2\n    colour: red"),
     S, "colour: red", "unknown key 'colour'"),
    ("yaml-boolean-value-id", edit(S, '          - id: "yes"', "          - id: yes"),
     S, "id: yes", "put the value in quotes"),
    ("yaml-boolean-in-requirement", edit(S, 'values: ["yes"]', "values: [yes]"),
     S, "values: [yes]", "put the value in quotes"),
    ("grade-as-words", edit(S, "grade: 2\n            criterion: Loud.", "grade: two\n            criterion: Loud."),
     S, "grade: two", "expected a whole number, got text ('two')"),
    ("grade-as-boolean", edit(S, "grade: 2\n            criterion: Loud.", "grade: yes\n            criterion: Loud."),
     S, "grade: yes", "expected a whole number, got true/false"),
    ("grade-fraction", edit(S, "grade: 2\n            criterion: Loud.", "grade: 1.5\n            criterion: Loud."),
     S, "grade: 1.5", "expected a whole number"),
    ("negative-grade", edit(S, "grade: 2\n            criterion: Loud.", "grade: -1\n            criterion: Loud."),
     S, "grade: -1", "-1 is impossible here: it must be at least 0"),
    ("grade-above-top", edit(S, "grade: 2\n            criterion: Loud.", "grade: 5\n            criterion: Loud."),
     S, "grade: 5", "grade 5 of 'noise=loud' is impossible: the scale's top grade is 3"),
    ("grade-above-any-scale", edit(S, "grade: 2\n            criterion: Loud.", "grade: 11\n            criterion: Loud."),
     S, "grade: 11", "11 is impossible here: it must be at most 10"),
    ("top-grade-unreachable", edit(S, "    top_grade: 2", "    top_grade: 4"),
     S, "top_grade: 4", "no answer reaches the top grade 4"),
    ("duplicate-value-name", edit(S, "          - id: slight", "          - id: still"),
     S, "id: still", "value name 'still' of 'sway=still' is already used by 'sway=none'"),
    ("duplicate-value-id", edit(S, "          - id: loud", "          - id: quiet"),
     S, None, "value name 'quiet' of 'noise=quiet' is already used by 'noise=quiet'"),
    ("duplicate-domain-alias", edit(S, "        title: Noise\n", "        title: Noise\n        aliases: [Swaying]\n"),
     S, "aliases: [Swaying]", "domain name 'Swaying' of domain 'noise' is already used by domain 'sway'"),
    ("reserved-domain-id", edit(S, "      - id: noise", "      - id: public"),
     S, "id: public", "domain name 'public' is reserved"),
    ("domain-id-too-long", edit(S, "      - id: noise", "      - id: " + "n" * 33),
     S, "n" * 33, "the limit is 32"),
    ("one-value-only", edit(S, "          - id: dim\n            grade: 1\n            criterion: Dim glow.\n"
                              "          - id: bright\n            grade: 2\n            criterion: Bright glow.\n", ""),
     S, "id: dark", "needs at least 2 item(s)"),
    ("default-not-a-value", edit(S, 'default: "yes"', 'default: "maybe"'),
     S, "default:", "default 'maybe' is not a value of domain 'standing'"),
    ("requirement-unknown-domain", edit(S, "        - domain: standing", "        - domain: sitting"),
     S, "domain: sitting", "requires names domain 'sitting', which scale 'wobble' does not have"),
    ("requirement-unknown-value", edit(S, 'values: ["yes"]', 'values: ["upright"]'),
     S, "upright", "'upright' is not a value of domain 'standing'"),
    ("example-misses-a-domain", edit(S, "example: sway=slight noise=quiet standing=yes", "example: sway=slight"),
     S, "example: sway=slight", "example does not grade on this scale (missing 'noise')"),
    ("example-bad-value", edit(S, "example: brightness=dim", "example: brightness=blinding"),
     S, "example: brightness", "example does not grade on this scale ('brightness=blinding')"),
    ("dangling-scale-source", edit(S, "    sources: [src-g]", "    sources: [src-z]"),
     S, "src-z", "scale 'glow' cites source 'src-z', which no file defines"),
    ("dangling-requirement-source", edit(S, "      text: Nothing wobbles lying down.\n      sources: [src-w]",
                                          "      text: Nothing wobbles lying down.\n      sources: [src-q]"),
     S, "src-q", "scale 'wobble' cites source 'src-q'"),
    ("dangling-note-source", edit(S, "      - text: A made-up note about wobbling.\n        sources: [src-w]",
                                   "      - text: A made-up note about wobbling.\n        sources: [src-n]"),
     S, "src-n", "scale 'wobble' cites source 'src-n'"),
    ("duplicate-scale-across-files", write("zz-more.yaml", GLOW_AGAIN),
     "zz-more.yaml", "id: glow", "scale name 'glow' of scale 'glow' is already used by scale 'glow' (scales.yaml:"),
    ("scale-alias-clash", edit(S, "    title: Made-up glow scale", "    title: Made-up glow scale\n    aliases: [Wobbliness]"),
     S, "aliases: [Wobbliness]", "scale name 'Wobbliness' of scale 'glow' is already used by scale 'wobble'"),
    ("too-many-values", write("many.yaml", MANY_VALUES),
     "many.yaml", "{id: v0,", "has 26 items; the limit is 25"),
    # Numbers: a name that reads as a number once punctuation is dropped could be misread.
    ("numeric-alias-reads-as-number", edit(S, '{id: "1", grade: 1,', '{id: "1", aliases: ["1.0"], grade: 1,'),
     S, '"1.0"', "value name '1.0' of 'taps=1' reads as a number"),
    ("numeric-id-leading-zero", edit(S, '{id: "3", grade: 2,', '{id: "03", grade: 2,'),
     S, '"03"', "value name '03' of 'taps=03' reads as a number"),
    ("number-in-worded-domain", edit(S, "{id: loud, aliases: [noisy]", '{id: loud, aliases: [noisy, "2"]'),
     S, 'noisy, "2"', "value name '2' of 'mood=loud' reads as a number: give it words, or make the domain numeric"),
    ("numeric-gap", edit(S, '          - {id: "3", grade: 2, criterion: Three taps.}\n', ""),
     S, "numeric: {min: 0, max: 3}", "numbers of 'taps' without a value: 3"),
    ("numeric-overlap", edit(S, "numbers: {min: 5, max: 500}", "numbers: {min: 4, max: 500}"),
     S, "min: 4, max: 500", "number 4 of 'size' belongs to both 'tiny' and 'normal'"),
    ("numbers-outside-the-range", edit(S, "numbers: {min: 5, max: 500}", "numbers: {min: 5, max: 600}"),
     S, "min: 5, max: 600", "numbers 5-600 of 'size=normal' are not within 0-500"),
    ("numeric-id-outside-the-range", edit(S, "numeric: {min: 0, max: 3}", "numeric: {min: 0, max: 2}"),
     S, '{id: "3"', "'taps=3' is outside the domain's numbers 0-2"),
    ("empty-numeric-range", edit(S, "numeric: {min: 0, max: 3}", "numeric: {min: 4, max: 3}"),
     S, "numeric: {min: 4, max: 3}", "numeric range of 'taps' is empty"),
    ("numbers-in-a-worded-domain", edit(S, "          - id: dark\n", "          - id: dark\n            numbers: {min: 0, max: 1}\n"),
     S, "numbers: {min: 0, max: 1}", "'brightness=dark' has numbers but domain 'brightness' is not numeric"),
    ("numeric-as-text", edit(S, "numeric: {min: 0, max: 3}", "numeric: {min: 0, max: three}"),
     S, "max: three", "expected a whole number"),
    # Flags, exclusions and alerts name real domains and values.
    ("flag-unknown-domain", edit(S, "          - domain: mood\n            values: [loud]", "          - domain: temper\n            values: [loud]"),
     S, "domain: temper", "a flag names domain 'temper', which scale 'tally' does not have"),
    ("exclusion-unknown-value", edit(S, "            values: [tiny]", "            values: [small]"),
     S, "values: [small]", "'small' is not a value of domain 'size': use one of tiny, normal"),
    ("flag-dangling-citation", edit(S, "Zero taps cannot be loud [src-w].", "Zero taps cannot be loud [src-q]."),
     S, "[src-q]", "src-q"),
    ("alert-above-top-grade", edit(S, "      text: Nothing wobbles lying down.\n", "      text: Nothing wobbles lying down.\n      alert: {grade: 5, text: Check it.}\n"),
     S, "alert: {grade: 5", "alert grade 5 is above the scale's top grade 3"),
    ("example-leaves-out-a-deciding-answer", edit(S, "example: taps=2 mood=quiet", "example: taps=2"),
     S, "example: taps=2", "example leaves out an answer that would change its outcome (mood): add it"),
]


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(SCALEPACK, target)
    return target


@pytest.mark.parametrize(("mutate", "file", "line_text", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_scale_is_refused_with_file_line_and_fix(pack: Path, mutate, file, line_text, message) -> None:
    assert_refused(pack, mutate, file, line_text, message)


def test_the_made_up_pack_and_the_bundled_scales_load() -> None:
    pack = load_pack(SCALEPACK)
    assert [s.id for s in pack.scales] == ["wobble", "glow", "tally"]
    from bot.loader import bundled_content_dir

    bundled = load_pack(bundled_content_dir())
    assert [s.id for s in bundled.scales] == ["crs", "icans"]
    assert {"lee19", "neu21", "ott22"} <= set(bundled.sources)


def test_a_wrong_only_item_is_reported_once_not_also_as_an_empty_list(pack: Path) -> None:
    edit(S, 'values: ["yes"]', "values: [yes]")(pack)
    with pytest.raises(PackError) as info:
        load_pack(pack)
    mine = [p.message for p in info.value.problems if p.file == S]
    assert len(mine) == 1 and "put the value in quotes" in mine[0]
