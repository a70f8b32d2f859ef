"""Reading what people type for a time ('9am', '21:30') and a zone ('berlin', 'Europe/Berlin').

Zone names go through the same matcher as every other lookup, so autocomplete, "did you
mean" and what is accepted never disagree: `berlin` is Europe/Berlin, `new york` is
America/New_York, `kolkata` is Asia/Kolkata.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import time
from functools import lru_cache

from ..matcher import Candidate, Matcher
from ..normalize import normalize
from .schedule import UnknownZone, zone

# Areas of the IANA database people live in; the rest (posix/, Etc/GMT+5, US/…, EST5EDT) are
# accepted when typed exactly but not offered, so suggestions stay readable.
_AREAS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")
_UTC_WORDS = {"utc", "gmt", "z", "zulu", "utc0", "gmt0", "etcutc"}

_TIME = re.compile(
    r"^(?P<h>\d{1,2})(?:[:.h](?P<m>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)?$",
    re.IGNORECASE,
)
_WORD_TIMES = {"noon": time(12, 0), "midday": time(12, 0), "midnight": time(0, 0)}


class TimeError(ValueError):
    """Not a time of day we can read."""


def parse_time(text: str) -> time:
    """'9am', '9 am', '9:00', '09:00', '21:30', '9.30pm', '9', 'noon' -> a time of day."""
    value = " ".join(text.strip().split())
    word = _WORD_TIMES.get(value.casefold())
    if word is not None:
        return word
    match = _TIME.match(value)
    if match is None:
        raise TimeError(text)
    hours, minutes = int(match["h"]), int(match["m"] or 0)
    ampm = (match["ampm"] or "").casefold().replace(".", "")
    if ampm:
        if not 1 <= hours <= 12:
            raise TimeError(text)
        hours = hours % 12 + (12 if ampm == "pm" else 0)
    if hours > 23 or minutes > 59:
        raise TimeError(text)
    return time(hours, minutes)


_TIME_SHAPE = re.compile(r"^\d{1,4}(?:[:.h]\d{1,3})?\s*(?:[ap]\.?m\.?)?$", re.IGNORECASE)


def looks_like_time(text: str) -> bool:
    """Meant as a time, even if not a valid one ('25:00', '9:75pm'), so it is read as the time
    (and refused with a time error) rather than as a zone name."""
    value = " ".join(text.strip().split())
    return value.casefold() in _WORD_TIMES or _TIME_SHAPE.match(value) is not None


def _aliases(name: str) -> tuple[str, ...]:
    parts = name.split("/")
    city = parts[-1].replace("_", " ")
    names = [city, f"{parts[0]} {city}"]
    if len(parts) > 2:  # America/Argentina/Buenos_Aires, America/Indiana/Indianapolis
        names.append(f"{parts[-2].replace('_', ' ')} {city}")
    return tuple(names)


@lru_cache(maxsize=1)
def zone_names() -> Matcher[str]:
    """Every IANA zone of an inhabited area, by full name and by city ('Berlin', 'New York')."""
    names = sorted(n for n in zoneinfo.available_timezones() if n.split("/")[0] in _AREAS and "/" in n)
    return Matcher([("UTC", "UTC", ("Coordinated Universal Time",)), *((n, n, _aliases(n)) for n in names)])


def resolve_zone(text: str) -> tuple[str | None, list[Candidate[str]]]:
    """The IANA name `text` means (exactly, by city, or by a confident fuzzy match), else None
    and the closest names to suggest."""
    value = text.strip()
    if normalize(value) in _UTC_WORDS:
        return "UTC", []
    exact = value.replace(" ", "_")
    if "/" in exact and ".." not in exact and not exact.startswith("/"):
        for candidate in (exact, "/".join(p[:1].upper() + p[1:] for p in exact.split("/"))):
            try:
                zone(candidate)
                return candidate, []
            except UnknownZone:
                pass
    match = zone_names().lookup(value)
    return match.item, list(match.suggestions[:3])


def complete_zone(prefix: str, limit: int = 25) -> list[str]:
    """Zone names for autocomplete, best first."""
    return [c.item for c in zone_names().complete(prefix, limit)]
