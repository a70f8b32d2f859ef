"""The schedule rule: when a daily post for local time `at` in zone `tz` falls, as a UTC instant.

One pure function, zoneinfo only. Cron libraries and APScheduler fire twice when a local time
repeats (the fall-back night) and skip or mis-place it when it does not exist (spring-forward);
both mistakes are ruled out here by construction: every local date has at most one instant,
computed from the date, and the caller asks for the first one strictly after a moment.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc
# Far enough to step over any zone's skipped day (Pacific/Apia skipped 30 December 2011).
_LOOKAHEAD_DAYS = 4


class UnknownZone(ValueError):
    """Not an IANA zone name this system's zone database knows."""


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The zone called `name` (an IANA name such as Europe/Berlin); raises UnknownZone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise UnknownZone(name) from exc


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else zone(tz)


def post_instant(day: date, at: time, tz: str | ZoneInfo) -> datetime | None:
    """The UTC instant of the post for local date `day`, or None if that date has no such time.

    - A local time that exists once: that instant.
    - A repeated local time (fall-back): its first occurrence only.
    - A skipped local time (spring-forward): the first instant after the gap, i.e. the moment
      the clocks jump. If that moment already belongs to the next local date (a zone that
      skipped a whole day), the date has no post, so no local date ever gets two.
    """
    z = _zone(tz)
    wall = datetime.combine(day, at.replace(tzinfo=None))
    first = wall.replace(tzinfo=z, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(z).replace(tzinfo=None) != wall:
        instant = _end_of_gap(wall, z)
    if instant.astimezone(z).date() != day:
        return None
    return instant


def _end_of_gap(wall: datetime, z: ZoneInfo) -> datetime:
    """The instant the clocks jump over `wall` (a local time that does not exist).

    fold=1 reads `wall` with the offset after the jump and fold=0 with the one before, so the
    jump lies between the two readings; bisect to the second (transitions are whole seconds).
    """
    readings = sorted(int(wall.replace(tzinfo=z, fold=f).timestamp()) for f in (0, 1))
    lo, hi = readings  # lo: still the old offset; hi: already the new one
    new_offset = datetime.fromtimestamp(hi, z).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, z).utcoffset() == new_offset:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def next_post_time(after: datetime, at: time, tz: str | ZoneInfo) -> datetime:
    """The next aware UTC instant strictly after `after` at which a subscription for local time
    `at` in IANA zone `tz` posts. At most one instant per local date (see `post_instant`)."""
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("`after` must be an aware datetime (a moment, not a wall-clock reading)")
    if at.tzinfo is not None:
        raise ValueError("`at` is a local wall-clock time: give it without a zone")
    z = _zone(tz)
    start = after.astimezone(z).date() - timedelta(days=1)
    day = start
    while True:
        instant = post_instant(day, at, z)
        if instant is not None and instant > after:
            return instant
        day += timedelta(days=1)
        if day - start > timedelta(days=_LOOKAHEAD_DAYS + 1):  # pragma: no cover - no zone skips this much
            raise ValueError(f"no local {at.isoformat()} in {z.key} within {_LOOKAHEAD_DAYS} days of {after.isoformat()}")


def local_date(instant: datetime, tz: str | ZoneInfo) -> date:
    """The local date in `tz` of an aware instant: the day a post at `instant` belongs to."""
    return instant.astimezone(_zone(tz)).date()
