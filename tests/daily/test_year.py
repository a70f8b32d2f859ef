"""A simulated year: the real scheduler and store on a stepping clock, in six zones with unusual
rules, at times inside each zone's skipped and repeated hours: exactly one post per local day.

July 2011 to July 2012 holds every kind of transition at once: Lord Howe's 30-minute shift,
Chatham's +12:45/+13:45, Santiago skipping midnight and repeating 23:00, Berlin and New York,
and Samoa (Pacific/Apia) skipping 30 December 2011 altogether.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.catalog import Catalog
from bot.daily.schedule import post_instant
from bot.daily.store import Store
from tests.daily.conftest import StopClock, caller

UTC = timezone.utc
START = datetime(2011, 7, 1, tzinfo=UTC)
END = datetime(2012, 7, 1, tzinfo=UTC)

# (zone, local time): inside the hour that zone skips (spring) and/or repeats (autumn) that year.
SUBSCRIPTIONS = [
    ("Australia/Lord_Howe", time(2, 15)),  # skipped 2 Oct 2011 (02:00 -> 02:30)
    ("Australia/Lord_Howe", time(1, 45)),  # repeated 1 Apr 2012 (02:00 -> 01:30)
    ("Pacific/Chatham", time(3, 0)),  # skipped 25 Sep 2011 (02:45 -> 03:45), repeated 1 Apr 2012
    ("America/Santiago", time(0, 30)),  # skipped 21 Aug 2011 (00:00 -> 01:00)
    ("America/Santiago", time(23, 30)),  # repeated 28 Apr 2012 (24:00 -> 23:00)
    ("Europe/Berlin", time(2, 30)),  # repeated 30 Oct 2011, skipped 25 Mar 2012
    ("America/New_York", time(2, 30)),  # skipped 11 Mar 2012
    ("America/New_York", time(1, 30)),  # repeated 6 Nov 2011
    ("Pacific/Apia", time(3, 30)),  # skipped 24 Sep 2011, no 30 Dec 2011 at all, repeated 1 Apr 2012
]


def expected_posts(zone: str, at: time) -> dict[date, datetime]:
    """Every local date whose post falls inside the simulated year, by the schedule rule."""
    z = ZoneInfo(zone)
    out = {}
    day = START.astimezone(z).date() - timedelta(days=1)
    while day <= END.astimezone(z).date():
        instant = post_instant(day, at, zone)
        if instant is not None and START < instant < END:
            out[day] = instant
        day += timedelta(days=1)
    return out


async def test_a_year_in_six_zones_posts_exactly_once_per_local_day(sqlite_url: str, catalog: Catalog, make_daily) -> None:
    store = await Store.open(sqlite_url)
    try:
        daily = make_daily(store, StopClock(START))
        channels = {}
        for zone, at in SUBSCRIPTIONS:
            channel = f"{zone}@{at:%H%M}"
            channels[channel] = (zone, at)
            await daily.service.subscribe(caller(channel), at, zone)
        await daily.run_until(END)
        await daily.stop()

        by_channel = defaultdict(list)
        for post in daily.poster.posts:
            by_channel[post.channel].append(post)
        total = 0
        for channel, (zone, at) in channels.items():
            z = ZoneInfo(zone)
            want = expected_posts(zone, at)
            got = {p.at.astimezone(z).date(): p.at for p in by_channel[channel]}
            assert len(got) == len(by_channel[channel]), f"{channel}: two posts on one local date"
            assert got.keys() == want.keys(), f"{channel}: local dates differ from the rule"
            late = {d: (got[d] - want[d]).total_seconds() for d in want if not 0 <= (got[d] - want[d]).total_seconds() < 1}
            assert not late, f"{channel}: posts not at the rule's instant (seconds late): {late}"
            assert 365 <= len(got) <= 367 or zone == "Pacific/Apia"
            total += len(got)
        assert len(daily.poster.posts) == total == len(daily.poster.calls)  # nothing retried, nothing extra

        # The edges, spelled out.
        apia = {p.at.astimezone(ZoneInfo("Pacific/Apia")).date() for p in by_channel["Pacific/Apia@0330"]}
        assert date(2011, 12, 30) not in apia and {date(2011, 12, 29), date(2011, 12, 31)} <= apia
        berlin = {p.at.astimezone(ZoneInfo("Europe/Berlin")).date(): p.at for p in by_channel["Europe/Berlin@0230"]}
        assert berlin[date(2011, 10, 30)] == datetime(2011, 10, 30, 0, 30, tzinfo=UTC)  # first 02:30 (CEST)
        assert berlin[date(2012, 3, 25)] == datetime(2012, 3, 25, 1, 0, tzinfo=UTC)  # 03:00 CEST, when the clocks jump
        howe = {p.at.astimezone(ZoneInfo("Australia/Lord_Howe")).date(): p.at for p in by_channel["Australia/Lord_Howe@0215"]}
        assert howe[date(2011, 10, 2)].astimezone(ZoneInfo("Australia/Lord_Howe")).strftime("%H:%M") == "02:30"

        counts = await store.counts()
        assert counts["deliveries.sent"] == total and set(counts) == {"deliveries.sent", "subscriptions.active"}
        # Each channel went through every fact before repeating one.
        facts = len(catalog.facts)
        for posts in by_channel.values():
            ids = [p.fact_id for p in posts]
            for start in range(0, len(ids) - facts + 1, facts):
                assert len(set(ids[start : start + facts])) == facts
    finally:
        await store.close()
