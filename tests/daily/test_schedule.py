"""The schedule rule, `bot.daily.next_post_time`: table cases at DST edges, and properties over
random instants, times and zones (any year zoneinfo knows)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.daily import UnknownZone, next_post_time
from bot.daily.schedule import post_instant

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "at", "zone", "expected_utc", "expected_local"),
    [
        # Ordinary day.
        (utc(2026, 6, 1, 12), time(9), "Europe/Berlin", utc(2026, 6, 2, 7), "2026-06-02 09:00+02:00"),
        # Berlin spring-forward: 02:30 does not exist on 29 March 2026; post when clocks jump (03:00 CEST).
        (utc(2026, 3, 28, 12), time(2, 30), "Europe/Berlin", utc(2026, 3, 29, 1), "2026-03-29 03:00+02:00"),
        # Berlin fall-back: 02:30 happens twice on 25 October 2026; post at the first (CEST)...
        (utc(2026, 10, 24, 12), time(2, 30), "Europe/Berlin", utc(2026, 10, 25, 0, 30), "2026-10-25 02:30+02:00"),
        # ...and never at the second: after the first, the next post is the next day.
        (utc(2026, 10, 25, 0, 30), time(2, 30), "Europe/Berlin", utc(2026, 10, 26, 1, 30), "2026-10-26 02:30+01:00"),
        # Lord Howe: a 30-minute shift. 02:15 is skipped on 4 October 2026 (02:00 -> 02:30).
        (utc(2026, 10, 3, 12), time(2, 15), "Australia/Lord_Howe", utc(2026, 10, 3, 15, 30), "2026-10-04 02:30+11:00"),
        # Lord Howe fall-back: 01:45 happens twice on 5 April 2026; the first is at +11:00.
        (utc(2026, 4, 4, 12), time(1, 45), "Australia/Lord_Howe", utc(2026, 4, 4, 14, 45), "2026-04-05 01:45+11:00"),
        # Chatham, +12:45/+13:45: 03:00 skipped on 27 September 2026 (02:45 -> 03:45).
        (utc(2026, 9, 26, 12), time(3), "Pacific/Chatham", utc(2026, 9, 26, 14), "2026-09-27 03:45+13:45"),
        # Santiago: midnight is skipped (00:00 -> 01:00) on 6 September 2026.
        (utc(2026, 9, 5, 12), time(0, 30), "America/Santiago", utc(2026, 9, 6, 4), "2026-09-06 01:00-03:00"),
        # Samoa skipped 30 December 2011 entirely: that date has no post, 31 December has one.
        (utc(2011, 12, 29, 19, 0, 1), time(9), "Pacific/Apia", utc(2011, 12, 30, 19), "2011-12-31 09:00+14:00"),
        # Strictly after: at the exact instant, the next day.
        (utc(2026, 6, 2, 7), time(9), "Europe/Berlin", utc(2026, 6, 3, 7), "2026-06-03 09:00+02:00"),
        # An `after` given in another zone is the same instant.
        (datetime(2026, 6, 2, 8, 59, tzinfo=ZoneInfo("Europe/Berlin")), time(9), "Europe/Berlin", utc(2026, 6, 2, 7),
         "2026-06-02 09:00+02:00"),
        (utc(2026, 1, 1), time(23, 59), "Asia/Kolkata", utc(2026, 1, 1, 18, 29), "2026-01-01 23:59+05:30"),
    ],
)
def test_table(after: datetime, at: time, zone: str, expected_utc: datetime, expected_local: str) -> None:
    got = next_post_time(after, at, zone)
    assert got == expected_utc and got.tzinfo is UTC
    assert got.astimezone(ZoneInfo(zone)).isoformat(sep=" ", timespec="minutes") == expected_local


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_post_time(datetime(2026, 1, 1), time(9), "UTC")
    with pytest.raises(ValueError, match="wall-clock"):
        next_post_time(utc(2026, 1, 1), time(9, tzinfo=UTC), "UTC")
    for bad in ("Mars/Olympus", "", "../../etc/passwd", "Europe/"):
        with pytest.raises(UnknownZone):
            next_post_time(utc(2026, 1, 1), time(9), bad)


# Every zone with a daylight-saving rule or an odd offset that the tests name, plus a sample of all.
ZONES = ["Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago", "Europe/Berlin", "America/New_York",
         "Asia/Kolkata", "Pacific/Apia", "America/St_Johns", "Asia/Kathmandu", "Europe/Dublin", "Africa/Casablanca",
         "Antarctica/Troll", "America/Havana", "Asia/Tehran", "Australia/Adelaide", "UTC"]
instants = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC))
times = st.times().map(lambda t: t.replace(second=0, microsecond=0))


@settings(max_examples=400, deadline=None)
@given(after=instants, at=times, zone=st.sampled_from(ZONES))
def test_properties(after: datetime, at: time, zone: str) -> None:
    z = ZoneInfo(zone)
    got = next_post_time(after, at, zone)
    assert got > after
    assert got - after <= timedelta(days=2, hours=1)  # at most one skipped date in between
    local = got.astimezone(z)
    day = local.date()
    # The post is on its own local date, at the wall time asked for, or (that time skipped) at
    # the first instant after the gap, which is then later than the asked time on that date.
    if local.time().replace(tzinfo=None) != at:
        assert local.replace(tzinfo=None) > datetime.combine(day, at)
        just_before = (got - timedelta(seconds=1)).astimezone(z)
        assert just_before.utcoffset() != local.utcoffset(), "moved only when the clocks jumped"
    else:
        # A repeated time posts at its first occurrence.
        assert datetime.combine(day, at).replace(tzinfo=z, fold=0).astimezone(UTC) == got
    # Nothing in between: no instant for any local date between `after` and `got`.
    start = after.astimezone(z).date() - timedelta(days=1)
    d = start
    while d < day:
        earlier = post_instant(d, at, zone)
        assert earlier is None or earlier <= after
        d += timedelta(days=1)
    # Asking again from that instant gives a later local date.
    assert next_post_time(got, at, zone).astimezone(z).date() > day


@settings(max_examples=200, deadline=None)
@given(start=instants, at=times, zone=st.sampled_from(ZONES))
def test_a_chain_of_posts_gives_each_local_date_once(start: datetime, at: time, zone: str) -> None:
    z = ZoneInfo(zone)
    dates: list[date] = []
    instant = start
    for _ in range(40):
        instant = next_post_time(instant, at, zone)
        dates.append(instant.astimezone(z).date())
    assert dates == sorted(set(dates))
    # Consecutive, except where the zone skipped a whole date.
    for a, b in zip(dates, dates[1:]):
        assert (b - a).days == 1 or all(post_instant(a + timedelta(days=k), at, zone) is None for k in range(1, (b - a).days))
