"""Questions in plain words: `ask <question>`, and every typed line that is not a command.

The answer is the card of the passage that answers first, exactly as its own command shows it
(so "Share" re-runs that command), with the commands that show more. When the pack does not
cover the question, the reply says so and offers the closest commands instead of guessing.
"""

from __future__ import annotations

import dataclasses
import inspect

from ..ask import Offer, Outcome, asker_for
from ..normalize import normalize
from ..reply import Card, CardKind, Field
from .base import Answer, Args, CommandSpec, Context, ParamKind, ParamSpec, UserError, command_names

SEE_ALSO = "See also"


async def cmd_ask(ctx: Context, args: Args) -> Answer:
    question = args.get("question", "").strip()
    if not normalize(question):
        raise UserError("What would you like to know? Ask in plain words.", _examples(ctx), "Question needed")
    asker = asker_for(ctx.catalog)
    offer = asker.offer(question)
    if offer is not None:
        return Answer((_offer_card(ctx, offer),))
    outcome = asker.ask(question)
    if outcome.kind == "greeting":
        body = (f"I answer questions about {ctx.catalog.info.name} from a cited reference pack. Ask in plain words, "
                f"e.g. “{_example_question(ctx)}”, or type {ctx.hint('help')} for the commands.")
        return Answer((ctx.cards.card("Hello!", body=body, kind=CardKind.HELP),))
    if outcome.kind == "thanks":
        body = f"Ask another question any time, or type {ctx.hint('help')} to see everything I can look up."
        return Answer((ctx.cards.card("You're welcome", body=body, kind=CardKind.HELP),))
    if outcome.kind != "answer" or outcome.best is None:
        raise _not_covered(ctx, outcome)
    passage = outcome.best
    spec = command_names(ctx.registry).exact(passage.command)
    if spec is None:  # a registry without that command: offer what there is
        raise _not_covered(ctx, outcome)
    answer = spec.handler(ctx, dict(passage.args))
    if inspect.isawaitable(answer):
        answer = await answer
    cards = list(answer.cards)
    # A topic's card already lists its sections: see also what lies beyond them.
    others = [p for p in outcome.alternatives if not (passage.key[0] == "topic" and p.key[:2] == ("section", passage.key[1]))]
    if cards and others:
        more = "\n".join(ctx.hint(p.line) for p in others)
        cards[0] = dataclasses.replace(cards[0], fields=(*cards[0].fields, Field(SEE_ALSO, more)))
    return Answer(tuple(cards), answer.command)


def _offer_card(ctx: Context, offer: Offer) -> Card:
    """The `grade` line a message suggests, for the asker to check and run: never a grade."""
    scale = offer.scale
    fields = []
    if offer.read:
        fields.append(Field("Read from your message", "\n".join(
            f"• {r.domain.title}: {r.domain.id}={r.value.id}, from “{r.said}” ({r.value.criterion})" for r in offer.read)))
    left = dict(offer.left_out)
    if offer.open:
        fields.append(Field("Left for you to answer", "\n".join(
            f"• {d.title}: {d.id}={' | '.join(v.id for v in d.values)}"
            + (" (optional)" if d.default is not None else "") + (f"; {left[d]}" if d in left else "")
            for d in offer.open)))
    line = " ".join(filter(None, (f"grade {scale.id}", offer.answers, *(f"{d.id}=?" for d in offer.open))))
    fields.append(Field("The line to check, complete and type", ctx.hint(line)))
    body = (f"I do not grade {scale.name} from a message. These are the answers I could read from yours, for you "
            "to check at the bedside; anything I could not read is left for you. Replace each ? with an answer "
            f"(an optional one may be left out), then type the line: {ctx.hint(f'grade {scale.id}')} explains "
            "every answer.")
    return ctx.cards.card(f"{scale.name} grade: check these answers first", body=body, fields=fields,
                          kind=CardKind.GRADE, sources=scale.sources)


def _not_covered(ctx: Context, outcome: Outcome) -> UserError:
    if outcome.kind == "lacking":
        names = [ctx.catalog.topics[t] for t in outcome.subjects if t in ctx.catalog.topics]
        what = " or ".join(outcome.said[:2]) or " or ".join(_short(t.title) for t in names[:2])
        hints = tuple(ctx.hint(f"topic {t.id}") for t in names[:2]) + (ctx.hint("list"), ctx.hint("help"))
        return UserError(
            f"The pack has no {outcome.intent} for {what}, so I will not show a card that does not answer it. "
            "Check the current prescribing information and your institution's protocol. What the pack holds:",
            hints,
            "Not covered by this pack",
        )
    if outcome.kind == "empty":
        return UserError("What would you like to know about it? Name a topic, or ask in plain words.",
                         _examples(ctx), "Question needed")
    hints = tuple(ctx.hint(line) for line in outcome.closest[:3]) + (ctx.hint("list"), ctx.hint("help"))
    return UserError(
        f"{ctx.catalog.info.name} does not cover that, as far as I can tell, and I would rather say so than guess. "
        "The closest passages, if any, and what the pack holds:",
        hints,
        "Not covered by this pack",
    )


def _example_question(ctx: Context) -> str:
    comparison = ctx.catalog.default_comparison
    if comparison is not None:
        left, right = (ctx.catalog.topics[t] for t in (comparison.left, comparison.right))
        return f"what is the difference between {_short(left.title)} and {_short(right.title)}?"
    return f"what is {ctx.catalog.examples['topic']}?"


def _short(title: str) -> str:
    """A topic title as it reads inside a sentence: no parenthesised abbreviation."""
    return title.split(" (")[0].strip()


def _examples(ctx: Context) -> tuple[str, ...]:
    return (ctx.hint(f"ask {_example_question(ctx)}"), ctx.example("topic {topic}"), ctx.hint("help"))


QUESTIONS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "ask",
        "Ask a question in plain words; the answer comes from the pack, cited.",
        "ask <question>",
        cmd_ask,
        (ParamSpec("question", "Your question, e.g. what is the difference between two topics?", ParamKind.TEXT, True),),
        examples=("ask what is {topic}?",),
    ),
)
