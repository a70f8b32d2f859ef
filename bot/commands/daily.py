"""The `daily` family: a channel subscribes to one fact a day at a local time it chooses.

One registry entry, `daily`, whose first parameter is the action (a CHOICE, so Discord shows
a fixed list and the help lists it), then the time and the zone. Typed lines read the same:
`daily subscribe 9am Europe/Berlin`, `daily status`. The data lives behind
`ctx.services["daily"]` (a `bot.daily.service.DailyService`); without it, for example in a
one-off `cytobot ask` of another channel, the command says what it needs.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING

from ..daily.records import Outcome, Status, Subscription
from ..daily.schedule import zone as load_zone
from ..daily.when import TimeError, looks_like_time, parse_time, resolve_zone
from ..reply import CardKind, Field
from .base import Answer, Args, CommandSpec, Context, ParamKind, ParamSpec, UserError

if TYPE_CHECKING:  # the service pulls in SQLAlchemy: lookups must not pay for it
    from ..daily.service import DailyService, DailyStatus

DEFAULT_TIME = time(9, 0)
ACTIONS = ("subscribe", "unsubscribe", "status", "preview", "resume")
# Words people use for the actions; the canonical name is what Discord's choice sends.
ACTION_WORDS = {
    "subscribe": "subscribe", "sub": "subscribe", "start": "subscribe", "on": "subscribe", "set": "subscribe",
    "unsubscribe": "unsubscribe", "unsub": "unsubscribe", "stop": "unsubscribe", "off": "unsubscribe", "cancel": "unsubscribe",
    "status": "status", "info": "status", "show": "status",
    "preview": "preview", "next": "preview", "peek": "preview",
    "resume": "resume", "unpause": "resume", "restart": "resume",
}
TIME_EXAMPLE = "daily subscribe 09:00 Europe/Berlin"
OUTCOME_WORDS = {
    "claimed": "being sent now", "sent": "sent", "skipped": "skipped", "failed": "failed",
    "missed": "missed (the bot was down)", "paused": "not sent: paused",
}


def parse_daily(ctx: Context, text: str) -> Args:
    """'subscribe 9am berlin', 'subscribe berlin 9 am', 'status' -> action, time, zone."""
    words = text.split()
    if not words:
        return {}
    args: Args = {"action": words[0]}
    rest = words[1:]
    for take in (2, 1):  # '9 am' before '9'
        if len(rest) >= take and looks_like_time(" ".join(rest[:take])):
            args["time"], rest = " ".join(rest[:take]), rest[take:]
            break
        if len(rest) > take and looks_like_time(" ".join(rest[-take:])):
            args["time"], rest = " ".join(rest[-take:]), rest[:-take]
            break
    if rest:
        args["zone"] = " ".join(rest)
    return args


def _service(ctx: Context) -> DailyService:
    service = ctx.services.get("daily")
    if service is None:
        raise UserError(
            "Daily facts need the running bot and its database, which this one-off call does not have. "
            "Ask the bot in the channel, or run `cytobot console`.",
            (ctx.hint("fact today"),), "Daily facts not available here")
    return service


def _action(ctx: Context, args: Args) -> str:
    word = args.get("action", "").strip().casefold() or "status"
    action = ACTION_WORDS.get(word)
    if action is None:
        raise UserError(f"I don't know the daily action {ctx.quote(word)}: use one of {', '.join(ACTIONS)}.",
                        (ctx.hint(TIME_EXAMPLE), ctx.hint("daily status")), "Unknown daily action")
    return action


def _time(ctx: Context, text: str, current: time | None) -> time:
    if not text:
        return current or DEFAULT_TIME
    try:
        return parse_time(text)
    except TimeError:
        raise UserError(
            f"I can't read {ctx.quote(text)} as a time of day. Write it as 24-hour HH:MM (09:00, 21:30) "
            "or with am/pm (9am, 9:30pm).",
            (ctx.hint(TIME_EXAMPLE), ctx.hint("daily subscribe 9am")), "Time not understood") from None


def _zone(ctx: Context, text: str, current: str | None) -> str:
    if not text:
        return current or ctx.catalog.info.timezone or "UTC"
    name, near = resolve_zone(text)
    if name is None:
        hints = tuple(ctx.hint(f"daily subscribe {c.item}") for c in near) or (ctx.hint(TIME_EXAMPLE),)
        raise UserError(
            f"I don't know the time zone {ctx.quote(text)}. Use an IANA name such as Europe/Berlin or "
            "America/New_York, or a city such as Berlin.", hints, "Time zone not understood")
    return name


async def _allowed(ctx: Context, action: str) -> None:
    if await ctx.caller.can_manage():
        return
    who = ctx.caller.managers or "the people who manage this channel"
    raise UserError(f"Only {who} can {action} this channel's daily facts. Anyone can see them with "
                    f"{ctx.hint('daily status')}.", (ctx.hint("daily status"), ctx.hint("daily preview")), "Not allowed")


def _when(instant: datetime, zone_name: str) -> str:
    local = instant.astimezone(load_zone(zone_name))
    text = f"{local:%a %d %b %Y, %H:%M} {zone_name}"
    return text if zone_name == "UTC" else f"{text} ({instant:%H:%M} UTC)"


def _schedule_fields(sub: Subscription) -> list[Field]:
    fields = [Field("Time", f"{sub.at:%H:%M} {sub.zone}", inline=True)]
    if sub.next_due is not None:
        fields.append(Field("Next post", _when(sub.next_due, sub.zone), inline=True))
    return fields


async def cmd_daily(ctx: Context, args: Args) -> Answer:
    action = _action(ctx, args)
    service = _service(ctx)
    caller = ctx.caller
    if action == "subscribe":
        current = await service.subscription(caller)
        keep = current is not None and current.status is not Status.STOPPED
        at = _time(ctx, args.get("time", "").strip(), current.at if keep else None)
        zone_name = _zone(ctx, args.get("zone", "").strip(), current.zone if keep else None)
        await _allowed(ctx, "change")
        sub = await service.subscribe(caller, at, zone_name)
        body = (f"This channel gets one fact a day at {sub.at:%H:%M} {sub.zone}, each fact once before any repeats. "
                f"Change it with {ctx.hint('daily subscribe <HH:MM> <zone>')}, stop it with {ctx.hint('daily unsubscribe')}.")
        card = ctx.cards.card("Daily facts are on", body=body, fields=_schedule_fields(sub), kind=CardKind.DAILY)
        return Answer((card,))
    if action == "unsubscribe":
        await _allowed(ctx, "stop")
        stopped = await service.unsubscribe(caller)
        body = ("No more daily facts in this channel." if stopped else "This channel had no daily facts.") + \
            f" Start them again with {ctx.hint(TIME_EXAMPLE)}."
        return Answer((ctx.cards.card("Daily facts are off", body=body, kind=CardKind.DAILY),))
    if action == "resume":
        await _allowed(ctx, "resume")
        resumed = await service.resume(caller)
        return Answer((_resume_card(ctx, resumed),))
    if action == "preview":
        return Answer((await _preview_card(ctx, service),), private=True)
    return Answer((await _status_card(ctx, service),))


def _not_subscribed(ctx: Context) -> UserError:
    return UserError("This channel has no daily facts.", (ctx.hint(TIME_EXAMPLE), ctx.hint("help daily")), "No daily facts here")


async def _status_card(ctx: Context, service: DailyService):  # type: ignore[no-untyped-def]
    status: DailyStatus | None = await service.status(ctx.caller)
    if status is None:
        raise _not_subscribed(ctx)
    sub = status.subscription
    fields = _schedule_fields(sub)
    if status.last is not None:
        last = status.last
        text = f"{last.local_date:%a %d %b %Y}: {OUTCOME_WORDS.get(last.status.value, last.status.value)}"
        if last.detail and last.status is not Outcome.SENT:
            text += f" ({last.detail})"
        fields.append(Field("Last delivery", text))
    else:
        fields.append(Field("Last delivery", "none yet"))
    fields.append(Field("Facts left in this cycle", str(status.facts_left), inline=True))
    if sub.status is Status.PAUSED:
        fields.append(Field("Paused", f"{sub.pause_reason or 'a permanent error'}. Fix it, then {ctx.hint('daily resume')}."))
    if status.platform_pause is not None:
        fields.append(Field("Paused on this platform", f"{status.platform_pause.reason}. An admin fixes the bot's "
                            f"credentials, then {ctx.hint('daily resume')} (or restart the bot)."))
    state = "paused" if sub.status is Status.PAUSED or status.platform_pause else "on"
    return ctx.cards.card(f"Daily facts: {state}", fields=fields, kind=CardKind.DAILY)


async def _preview_card(ctx: Context, service: DailyService):  # type: ignore[no-untyped-def]
    sub = await service.subscription(ctx.caller)
    if sub is None or sub.status is Status.STOPPED:
        raise _not_subscribed(ctx)
    fact_id = await service.preview(ctx.caller)
    fact = ctx.catalog.facts.get(fact_id or "")
    if fact is None:
        raise UserError("The content pack has no facts to post.", (ctx.hint("list"),), "No facts")
    fields = [Field("Fact id", fact.id, inline=True)] + _schedule_fields(sub)
    return ctx.cards.card("Next daily fact (only you see this)", body=fact.text, fields=fields,
                          kind=CardKind.FACT, sources=(fact.source,))


def _resume_card(ctx: Context, resumed):  # type: ignore[no-untyped-def]
    parts = []
    if resumed.platform_resumed:
        parts.append("Posting on this platform is back on.")
    if resumed.channel_resumed:
        parts.append("This channel's daily facts are back on; a post the pause stopped goes out now if it is still "
                     "within the catch-up window.")
    if not parts:
        parts.append("Nothing here was paused.")
    fields = _schedule_fields(resumed.subscription) if resumed.subscription is not None else []
    title = "Daily facts resumed" if resumed.platform_resumed or resumed.channel_resumed else "Nothing to resume"
    return ctx.cards.card(title, body=" ".join(parts), fields=fields, kind=CardKind.DAILY)


DAILY: tuple[CommandSpec, ...] = (
    CommandSpec(
        "daily",
        "One fact a day in this channel: subscribe, unsubscribe, status, preview, resume.",
        "daily <subscribe [HH:MM] [zone]|unsubscribe|status|preview|resume>",
        cmd_daily,
        (
            ParamSpec("action", "subscribe, unsubscribe, status, preview or resume", ParamKind.CHOICE, True, ACTIONS),
            ParamSpec("time", "Local time for subscribe, e.g. 09:00, 9am, 21:30 (default 09:00)", ParamKind.TEXT),
            ParamSpec("zone", "Time zone for subscribe, e.g. Europe/Berlin or a city (default: the pack's, else UTC)",
                      ParamKind.ZONE),
        ),
        examples=("daily subscribe 9am Europe/Berlin", "daily status", "daily preview"),
        parse=parse_daily,
    ),
)
