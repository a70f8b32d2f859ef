"""Daily facts: a channel subscribes to one fact a day at a local time it chooses.

One responsibility per module: the schedule rule, the rotation of facts, the store, the
scheduler, and `delivery` (what an adapter's poster promises the scheduler). Beside them, in
the same database, `seen`: the chat events already answered, shared by the replicas.
"""

from .schedule import UnknownZone, next_post_time

__all__ = ["UnknownZone", "next_post_time"]
