"""The grading command: `grade <scale> key=value ...` with the pack's grading scales.

Nothing here knows a scale. The scale comes from the words before the answers, a typed
option (Discord), or the keys themselves (`grade fever=yes` names a CRS domain); the grade
comes from `bot.grading`. Every problem with the answers is reported at once, with the
accepted values, and nothing is guessed: a guessed answer could under-grade a patient. An
answer left out that would change the outcome is asked for, with the lines to type.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..cards import note_sources
from ..catalog import Catalog
from ..grading import Assessment, Finding, Resolution, split_answers
from ..normalize import normalize, shorten
from ..reply import Card, CardKind, Field
from ..schema import Domain, Scale, ScaleValue
from .base import Answer, Args, CommandSpec, Context, ParamKind, ParamSpec, UserError, Variant

SCALE_ARG = "scale"
ANSWERS_ARG = "answers"
CHOICE_LABEL = 100  # Discord's limit for a choice's name; harmless elsewhere


# --------------------------------------------------------------------------- the command


def parse_grade(ctx: Context, text: str) -> Args:
    """Typed words go to the answers; the scale is read from them by the handler."""
    return {ANSWERS_ARG: text} if text else {}


def cmd_grade(ctx: Context, args: Args) -> Answer:
    cat = ctx.catalog
    if not cat.scales:
        raise UserError("This content pack has no grading scales.", (ctx.hint("list"),), "No grading scales")
    typed = split_answers(args.get(ANSWERS_ARG, ""))
    pairs = [*typed.pairs, *((k, v) for k, v in args.items() if k not in (SCALE_ARG, ANSWERS_ARG))]
    named = [v for k, v in pairs if normalize(k) == SCALE_ARG]  # "scale=icans" typed as an answer
    pairs = [(k, v) for k, v in pairs if normalize(k) != SCALE_ARG]
    scale = _named_scale(ctx, (args.get(SCALE_ARG) or (named[0] if named else "")).strip())
    unread = ""
    if typed.lead:
        led = cat.scale_names.exact(typed.lead)
        if led is None and pairs:
            raise UserError(
                f"There is no grading scale {ctx.quote(typed.lead)}. Scales: {_scale_list(cat)}.",
                _examples(ctx, cat.scales.values()),
                "Unknown scale",
            )
        if led is None:
            unread = typed.lead
        else:
            scale = scale or led
    if not pairs:
        shown = [scale] if scale is not None else list(cat.scales.values())
        command = f"grade {scale.id}" if scale is not None else "grade"
        return Answer((explain_card(ctx, shown, unread),), command)
    if scale is None:
        scale = _scale_for(cat, [key for key, _ in pairs])
    grader = cat.graders[scale.id]
    resolution = grader.resolve(pairs)
    if not resolution.ok:
        raise UserError(_problems(ctx, scale, resolution), _examples(ctx, [scale]), f"{scale.name}: answers needed")
    assessment = grader.assess(resolution.chosen, resolution.numbers)
    given = _given(scale, resolution)
    if assessment.undecided:
        raise UserError(_ask(ctx, scale, assessment, given), _ask_lines(ctx, scale, assessment, given),
                        f"{scale.name}: one more answer needed")
    return Answer((grade_card(ctx, assessment),), f"grade {scale.id} {given}")


def _given(scale: Scale, r: Resolution) -> str:
    """The answers as the canonical command writes them: value ids, or the number typed."""
    return " ".join(f"{d.id}={r.numbers.get(d.id, r.chosen[d.id].id)}" for d in scale.domains if d.id in r.chosen)


def _ask_lines(ctx: Context, scale: Scale, a: Assessment, given: str) -> tuple[str, ...]:
    return tuple(ctx.hint(f"grade {scale.id} {given} {d.id}={v.id}") for d in a.undecided for v in d.values)


def _ask(ctx: Context, scale: Scale, a: Assessment, given: str) -> str:
    """An answer left out would change the outcome: ask it, never assume it."""
    lines = _alert_lines(a, asking=True)
    for d in a.undecided:
        lines.append(f"{d.title}: left out, and its answer changes the outcome, so it is not assumed.")
        lines.append(d.question)
        lines += [f"• {d.id}={v.id}: {v.criterion}" for v in d.values]
    lines.append("Type the line that applies (below).")
    return "\n".join(lines)


def _named_scale(ctx: Context, name: str) -> Scale | None:
    if not name:
        return None
    scale = ctx.catalog.scale_names.exact(name)
    if scale is None:
        raise UserError(
            f"There is no grading scale {ctx.quote(name)}. Scales: {_scale_list(ctx.catalog)}.",
            _examples(ctx, ctx.catalog.scales.values()),
            "Unknown scale",
        )
    return scale


def _scale_for(cat: Catalog, keys: list[str]) -> Scale:
    """The scale whose domains the keys name; on a tie, the first in the pack."""
    return max(cat.scales.values(), key=lambda s: sum(cat.graders[s.id].knows(k) for k in keys))


def _scale_list(cat: Catalog) -> str:
    return ", ".join(f"{s.id} ({s.title})" for s in cat.scales.values())


def _examples(ctx: Context, scales: Iterable[Scale]) -> tuple[str, ...]:
    return tuple(ctx.hint(f"grade {s.id} {s.example}") for s in scales)


def _accepted(domain: Domain) -> str:
    if domain.default is not None:
        optional = f" (optional; asked for when it changes the outcome, else taken as {domain.default})"
    else:
        optional = " (optional)" if domain.optional else ""
    if domain.numeric is not None:
        words = [v.id for v in domain.values if not v.id.isdigit()]
        numbers = (f"a whole number from {domain.numeric.min} to {domain.numeric.max} in plain digits: "
                   "no decimal point, sign, leading zero or space")
        if not words:
            return " | ".join(v.id for v in domain.values) + f" ({numbers})" + optional
        return numbers + " | " + " | ".join(words) + optional
    return " | ".join(v.id for v in domain.values) + optional


def _problems(ctx: Context, scale: Scale, r: Resolution) -> str:
    """Every problem with the answers, each with what would be accepted instead."""
    lines: list[str] = []
    if r.unknown_keys:
        keys = ", ".join(ctx.quote(k) for k in r.unknown_keys)
        lines.append(f"{scale.name} has no question {keys}. Its questions: {', '.join(d.id for d in scale.domains)}.")
    for domain, text in r.bad_values:
        given = f"{ctx.quote(text)} is not an answer I accept" if text else "no answer was given"
        lines.append(f"{domain.title}: {given}. Accepted: {domain.id}={_accepted(domain)}")
    for domain, first, second in r.conflicts:
        lines.append(f"{domain.title} was answered twice ({ctx.quote(first)} and {ctx.quote(second)}): give one answer.")
    if r.missing:
        lines.append("Still needed:")
        lines += [f"• {d.title}: {d.id}={_accepted(d)}" for d in r.missing]
    lines.append(f"Every answer and what it means: {ctx.hint(f'grade {scale.id}')}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- cards


DECISION_AID = ("This card applies the criteria to the answers given. Confirm the grade at the "
                "bedside, with the patient's team.")


def grade_card(ctx: Context, a: Assessment) -> Card:
    """The outcome, red flags first, the criterion that decided, every domain's contribution,
    notes, reminders and sources."""
    scale = a.scale
    sources = list(scale.sources)
    top = _alert_lines(a)
    title = a.headline
    if a.excluded is not None:
        body = a.excluded.text
    elif not a.requirement_met:
        assert scale.requires is not None
        body = scale.requires.text
        sources += scale.requires.sources
    elif a.grade == 0:
        body = f"No answer contributes a grade: every domain of the {scale.name} scale is normal."
    else:
        decided = [f"Decided by {_named(f)} (grade {f.value.grade}): {f.value.criterion}" for f in a.deciding]
        body = "\n".join([*decided, "The grade is the most severe contribution of the answers below."])
    body = "\n".join([*top, body])
    counted = a.requirement_met and a.excluded is None
    found = {f.domain.id: f for f in a.findings}
    fields = [Field(d.title, _contribution(found[d.id], counted, a) if d.id in found else f"not given (optional). {d.question}")
              for d in scale.domains]
    if scale.reminder:
        fields.append(Field("Also assess", scale.reminder))
    fields += ctx.cards.note_fields(scale.notes)
    fields.append(Field("Decision aid", DECISION_AID))
    sources += note_sources(scale.notes)
    return ctx.cards.card(title, subtitle=scale.title, body=body, fields=fields, kind=CardKind.GRADE, sources=sources)


def _alert_lines(a: Assessment, asking: bool = False) -> list[str]:
    """Red-flag lines for the top of a card: answers the requirement leaves ungraded though they
    would score high on their own, and answers the criteria cannot grade or that contradict."""
    lines = []
    if a.alert is not None:
        lines.append(f"⚠ {a.alert.text} (The answers given would score grade {a.ungated_grade} on their own.)")
    elif asking and a.scale.requires is not None and a.scale.requires.alert is not None \
            and a.ungated_grade >= a.scale.requires.alert.grade:
        lines.append(f"⚠ {a.scale.requires.alert.text} (The answers given would score grade {a.ungated_grade} on their own.)")
    lines += [f"⚠ {f.text}" for f in a.flags]
    return lines


def _named(f: Finding) -> str:
    return f"{f.domain.id}={f.number if f.number is not None else f.value.id}"


def _contribution(f: Finding, counted: bool, a: Assessment) -> str:
    grade = f"grade {f.value.grade}" if f.value.grade else "no grade"
    shown = f"{f.number} ({f.value.id})" if f.number is not None and str(f.number) != f.value.id else f.value.id
    text = f"{shown} → {grade}: {f.value.criterion}"
    if f.assumed:
        text += " (not given; assumed: no other answer would change the outcome)"
    if not counted and f.value.grade:
        why = "the patient is not graded on this scale" if a.excluded is not None else "the scale's requirement is not met"
        text += f" Not counted: {why} (see above)."
    return text


def explain_card(ctx: Context, scales: list[Scale], unread: str = "") -> Card:
    """How to grade: every scale with its answers and an example, or one scale in full."""
    body = (
        "Grade from a few answers written key=value (key: value works too). The grade is the most "
        "severe contribution of the answers; the card shows each answer's contribution and the "
        "criterion that decided, so it can be checked against the criteria."
    )
    if unread:
        body = f"I found no key=value answers in {ctx.quote(unread)}.\n" + body
    fields: list[Field] = []
    sources: list[str] = []
    if len(scales) == 1:
        scale = scales[0]
        body = f"{scale.summary}\n{body}"
        fields += [Field(f"{d.title} ({d.id}=…)", _values_text(d)) for d in scale.domains]
        fields.append(Field("Example", ctx.hint(f"grade {scale.id} {scale.example}")))
        fields += ctx.cards.note_fields(scale.notes)
        sources += [*scale.sources, *note_sources(scale.notes)]
    else:
        for scale in scales:
            answers = "\n".join(f"{d.id}={_accepted(d)}" for d in scale.domains)
            example = ctx.hint(f"grade {scale.id} {scale.example}")
            more = ctx.hint(f"grade {scale.id}")
            fields.append(Field(scale.title, f"{scale.summary}\n{answers}\nExample: {example}\nEvery answer in full: {more}"))
            sources += scale.sources
    title = f"Grading: {scales[0].title}" if len(scales) == 1 else "Grading calculators"
    return ctx.cards.card(title, body=body, fields=fields, kind=CardKind.HELP, sources=sources)


def _values_text(domain: Domain) -> str:
    """Values with their meaning; runs of values sharing one criterion and grade on one line."""
    groups: list[list[ScaleValue]] = []
    for v in domain.values:
        if groups and (groups[-1][-1].criterion, groups[-1][-1].grade) == (v.criterion, v.grade):
            groups[-1].append(v)
        else:
            groups.append([v])
    lines = [domain.question]
    for group in groups:
        names = ", ".join(f"{v.id} ({v.numbers.min}-{v.numbers.max})" if v.numbers else v.id for v in group)
        also = [a for v in group for a in v.aliases]
        grade = f"grade {group[0].grade}" if group[0].grade else "no grade"
        also_text = f" Also: {', '.join(also)}." if also else ""
        lines.append(f"{names}: {group[0].criterion} ({grade}){also_text}")
    if domain.numeric is not None:
        lines.append(f"Type a whole number from {domain.numeric.min} to {domain.numeric.max} in plain digits "
                     "(no decimal point, sign, leading zero or space); anything else is refused.")
    if domain.default is not None:
        lines.append(f"Optional: asked for when the answer would change the outcome, else taken as {domain.default}.")
    elif domain.optional:
        lines.append("Optional.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- typed forms


def grade_variants(catalog: Catalog) -> tuple[Variant, ...]:
    """One typed form per scale: each domain an option whose choices are its answers."""
    return tuple(
        Variant(
            scale.id,
            scale.title,
            tuple(
                ParamSpec(
                    d.id,
                    d.question,
                    ParamKind.CHOICE,
                    required=d.default is None and not d.optional,
                    choices=tuple(v.id for v in d.values),
                    choice_labels=tuple(_choice_label(v) for v in d.values),
                )
                for d in scale.domains
            ),
            fixed=((SCALE_ARG, scale.id),),
        )
        for scale in catalog.scales.values()
    )


def _choice_label(value: ScaleValue) -> str:
    grade = f"grade {value.grade}" if value.grade else "no grade"
    return shorten(f"{value.id} ({grade}): {value.criterion}", CHOICE_LABEL)


GRADING: tuple[CommandSpec, ...] = (
    CommandSpec(
        "grade",
        "Grade with the pack's grading scales from a few key=value answers.",
        "grade [scale] key=value …",
        cmd_grade,
        (
            ParamSpec(SCALE_ARG, "Which scale (default: the one whose questions you answer)", ParamKind.TEXT),
            ParamSpec(ANSWERS_ARG, "Answers as key=value pairs", ParamKind.TEXT),
        ),
        examples=("grade", "grade {grading}"),
        parse=parse_grade,
        variants=grade_variants,
    ),
)
