"""The `daily` commands through the one entry point (`engine.handle`), on a real store:
good and bad input, permissions, and that nothing stored changes when a command is refused."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.catalog import Catalog
from bot.daily.service import DailyService
from bot.daily.store import Status, Store
from bot.daily.tables import deliveries, subscriptions
from bot.engine import Engine, ParamKind
from bot.reply import Reply
from bot.request import Caller, Request
from tests.daily.conftest import StopClock

UTC = timezone.utc
NOW = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
MANAGER = Caller(platform="slack", workspace="T1", channel="C1", user_id="U1", may_manage=True,
                 managers="workspace admins and owners")
MEMBER = Caller(platform="slack", workspace="T1", channel="C1", user_id="U2", may_manage=False,
                managers="workspace admins and owners")


@pytest.fixture
def service(store: Store, catalog: Catalog) -> DailyService:
    return DailyService(store, lambda: catalog.facts.keys(), clock=StopClock(NOW), rng=random.Random(1))


@pytest.fixture
def engine(catalog: Catalog, service: DailyService) -> Engine:
    return Engine(catalog, services={"daily": service}, clock=lambda: NOW)


async def say(engine: Engine, line: str, caller: Caller = MANAGER) -> Reply:
    return await engine.handle(Request.text(line, caller))


def text(reply: Reply) -> str:
    return reply.text


async def snapshot(store: Store) -> list[tuple]:
    """Everything stored, to prove a refused command changed nothing."""
    async with store.engine.connect() as conn:
        subs = (await conn.execute(select(subscriptions).order_by(subscriptions.c.id))).all()
        rows = (await conn.execute(select(deliveries).order_by(deliveries.c.id))).all()
    return [tuple(r) for r in subs] + [tuple(r) for r in rows]


@pytest.mark.parametrize(
    ("line", "at", "zone"),
    [
        ("daily subscribe", time(9), "UTC"),  # defaults: 09:00, the pack's zone (the bundled pack has none: UTC)
        ("daily subscribe 9am", time(9), "UTC"),
        ("daily subscribe 9:00", time(9), "UTC"),
        ("daily subscribe 21:30", time(21, 30), "UTC"),
        ("daily subscribe 09:00 Europe/Berlin", time(9), "Europe/Berlin"),
        ("daily subscribe berlin", time(9), "Europe/Berlin"),
        ("daily subscribe berlin 9 pm", time(21), "Europe/Berlin"),
        ("/crs daily subscribe 7.15am new york", time(7, 15), "America/New_York"),
        ("daily sub noon lord howe", time(12), "Australia/Lord_Howe"),
        ("daily subscribe 12am kolkata", time(0), "Asia/Kolkata"),
    ],
)
async def test_subscribe_reads_times_and_zones(engine: Engine, store: Store, line: str, at: time, zone: str) -> None:
    reply = await say(engine, line)
    assert not reply.is_error, text(reply)
    sub = await store.get("slack", "C1")
    assert sub is not None and (sub.at, sub.zone, sub.status) == (at, zone, Status.ACTIVE)
    assert f"{at:%H:%M} {zone}" in text(reply) and "Next post" in text(reply)


async def test_typed_options_work_like_the_typed_line(engine: Engine, store: Store) -> None:
    reply = await engine.handle(Request.options("daily", {"action": "subscribe", "time": "9:30pm", "zone": "chatham"}, MANAGER))
    assert not reply.is_error
    sub = await store.get("slack", "C1")
    assert sub is not None and (sub.at, sub.zone) == (time(21, 30), "Pacific/Chatham")


@pytest.mark.parametrize(
    ("line", "title", "says"),
    [
        ("daily subscribe 25:00", "Time not understood", "09:00"),
        ("daily subscribe 9:75", "Time not understood", "9am"),
        ("daily subscribe 13pm berlin", "Time not understood", "HH:MM"),
        ("daily subscribe 9am Mars/Olympus", "Time zone not understood", "Europe/Berlin"),
        ("daily subscribe 9am UTC+2", "Time zone not understood", "IANA"),
        ("daily subscribe 9am \x1b[2J<!channel>", "Time zone not understood", "Europe/Berlin"),
        ("daily frobnicate", "Unknown daily action", "subscribe, unsubscribe, status, preview, resume"),
    ],
)
async def test_bad_input_is_a_friendly_error_and_changes_nothing(engine: Engine, store: Store, line: str, title: str, says: str) -> None:
    await say(engine, "daily subscribe 8am berlin")
    before = await snapshot(store)
    reply = await say(engine, line)
    assert reply.is_error and reply.cards[0].title == title
    assert says in text(reply) and "/crs daily subscribe" in text(reply)  # an example to copy
    assert "\x1b" not in text(reply) and "<!channel>" not in text(reply)
    assert await snapshot(store) == before


async def test_subscribe_keeps_what_is_not_given(engine: Engine, store: Store) -> None:
    await say(engine, "daily subscribe 7am berlin")
    await say(engine, "daily subscribe 6:45")
    sub = await store.get("slack", "C1")
    assert sub is not None and (sub.at, sub.zone) == (time(6, 45), "Europe/Berlin")
    await say(engine, "daily subscribe kolkata")
    sub = await store.get("slack", "C1")
    assert sub is not None and (sub.at, sub.zone) == (time(6, 45), "Asia/Kolkata")


async def test_the_packs_zone_is_the_default(store: Store, catalog: Catalog) -> None:
    pack = catalog.pack.__class__(**{**catalog.pack.__dict__, "info": catalog.info.model_copy(update={"timezone": "Asia/Kolkata"})})
    zoned = Catalog(pack)
    service = DailyService(store, lambda: zoned.facts.keys(), clock=StopClock(NOW), rng=random.Random(1))
    reply = await Engine(zoned, services={"daily": service}).handle(Request.text("daily subscribe", MANAGER))
    assert not reply.is_error
    sub = await store.get("slack", "C1")
    assert sub is not None and (sub.at, sub.zone) == (time(9), "Asia/Kolkata")


async def test_who_may_change_subscriptions(engine: Engine, store: Store) -> None:
    for line in ("daily subscribe 9am", "daily unsubscribe", "daily resume"):
        before = await snapshot(store)
        reply = await say(engine, line, MEMBER)
        assert reply.is_error and reply.cards[0].title == "Not allowed"
        assert "Only workspace admins and owners can" in text(reply)  # says who can
        assert await snapshot(store) == before
    # Everyone may look.
    await say(engine, "daily subscribe 9am berlin")
    for line in ("daily status", "daily preview"):
        reply = await say(engine, line, MEMBER)
        assert not reply.is_error, text(reply)


async def test_a_lazy_permission_check_is_awaited_and_a_failing_one_refuses(engine: Engine, store: Store) -> None:
    calls: list[str] = []

    async def admin() -> bool:
        calls.append("users.info")
        return True

    async def broken() -> bool:
        raise ConnectionError("users.info unreachable")

    asking = Caller(platform="slack", channel="C1", user_id="U3", may_manage=admin, managers="admins")
    assert not (await say(engine, "daily subscribe 9am", asking)).is_error and calls == ["users.info"]
    await say(engine, "daily status", asking)
    assert calls == ["users.info"]  # looking needs no permission check
    reply = await say(engine, "daily unsubscribe", Caller(platform="slack", channel="C1", user_id="U4", may_manage=broken, managers="admins"))
    assert reply.is_error and reply.cards[0].title == "Not allowed"
    assert (await store.get("slack", "C1")).status is Status.ACTIVE  # type: ignore[union-attr]


async def test_status_shows_time_zone_next_post_last_delivery_and_facts_left(engine: Engine, store: Store, catalog: Catalog) -> None:
    reply = await say(engine, "daily status")
    assert reply.is_error and reply.cards[0].title == "No daily facts here"
    await say(engine, "daily subscribe 9am berlin")
    shown = text(await say(engine, "daily status"))
    assert "09:00 Europe/Berlin" in shown
    assert "Tue 24 Nov 2026, 09:00 Europe/Berlin (08:00 UTC)" in shown  # next post, local and UTC
    assert "Last delivery: none yet" in shown
    assert f"Facts left in this cycle: {len(catalog.facts)}" in shown
    # After a post and a pause.
    sub = await store.get("slack", "C1")
    claim = await store.claim(sub, now=sub.next_due, holder="h", lease=timedelta(minutes=2),  # type: ignore[union-attr, arg-type]
                              catch_up=timedelta(hours=6), facts=catalog.facts.keys())
    await store.pause_channel(claim.delivery, reason="not_in_channel: invite the bot", now=sub.next_due)  # type: ignore[arg-type, union-attr]
    shown = text(await say(engine, "daily status"))
    assert "Daily facts: paused" in shown and "Paused: not_in_channel: invite the bot" in shown
    assert "Tue 24 Nov 2026: not sent: paused (not_in_channel: invite the bot)" in shown
    assert "Next post" not in shown


async def test_preview_is_the_next_fact_privately(engine: Engine, service: DailyService, catalog: Catalog) -> None:
    await say(engine, "daily subscribe 9am berlin")
    reply = await say(engine, "daily preview")
    fact_id = await service.preview(MANAGER)
    assert not reply.is_error and reply.visibility.value == "private" and not reply.actions  # nothing to share
    assert catalog.facts[fact_id].text in text(reply)  # type: ignore[index]
    assert reply.cards[0].footer.disclaimer
    # Tomorrow's post stays a surprise for the channel even if someone asks to post it.
    for line in ("daily preview public", "/crs daily preview public"):
        asked_public = await say(engine, line)
        assert not asked_public.is_error and asked_public.visibility.value == "private" and not asked_public.actions
    typed = await engine.handle(Request.options("daily", {"action": "preview"}, MANAGER, public=True))
    assert typed.visibility.value == "private" and not typed.actions


async def test_unsubscribe_then_status_and_resubscribe_keeps_the_rotation(engine: Engine, store: Store) -> None:
    await say(engine, "daily subscribe 9am berlin")
    seed = (await store.get("slack", "C1")).rotation.seed  # type: ignore[union-attr]
    reply = await say(engine, "daily unsubscribe")
    assert "No more daily facts" in text(reply)
    assert (await say(engine, "daily status")).cards[0].title == "No daily facts here"
    assert "had no daily facts" in text(await say(engine, "daily unsubscribe"))
    await say(engine, "daily subscribe 10am")
    sub = await store.get("slack", "C1")
    assert sub is not None and sub.status is Status.ACTIVE and sub.rotation.seed == seed
    assert sub.zone == "UTC"  # a stopped subscription's zone is not carried over


async def test_resume(engine: Engine, store: Store, catalog: Catalog) -> None:
    assert "Nothing here was paused" in text(await say(engine, "daily resume"))
    await say(engine, "daily subscribe 9am")
    sub = await store.get("slack", "C1")
    claim = await store.claim(sub, now=sub.next_due, holder="h", lease=timedelta(minutes=2),  # type: ignore[union-attr, arg-type]
                              catch_up=timedelta(hours=6), facts=catalog.facts.keys())
    await store.pause_channel(claim.delivery, reason="is_archived", now=sub.next_due)  # type: ignore[arg-type, union-attr]
    await store.pause_platform("slack", "invalid_auth", NOW)
    reply = await say(engine, "daily resume")
    assert reply.cards[0].title == "Daily facts resumed"
    assert "Posting on this platform is back on" in text(reply) and "This channel's daily facts are back on" in text(reply)
    assert (await store.get("slack", "C1")).status is Status.ACTIVE  # type: ignore[union-attr]
    assert await store.platform_pauses() == {}


async def test_without_the_database_daily_says_what_it_needs(catalog: Catalog) -> None:
    reply = Engine(catalog).execute("daily subscribe 9am")
    assert reply.is_error and reply.cards[0].title == "Daily facts not available here"
    assert "running bot" in text(reply)


def test_help_and_zone_autocomplete(catalog: Catalog) -> None:
    engine = Engine(catalog)
    shown = engine.execute("help daily").text
    assert "subscribe, unsubscribe, status, preview or resume" in shown and "daily subscribe 9am Europe/Berlin" in shown
    assert engine.complete(ParamKind.ZONE, "berlin")[0].value == "Europe/Berlin"
    assert engine.complete(ParamKind.ZONE, "new yor")[0].value == "America/New_York"
    assert engine.complete(ParamKind.ZONE, "lord")[0].value == "Australia/Lord_Howe"
    assert len(engine.complete(ParamKind.ZONE, "")) == 25
