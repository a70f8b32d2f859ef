"""The daily-fact store: subscriptions, delivery claims and pauses, in SQLite or PostgreSQL.

Exactly-once rests on one rule: a post is claimed by inserting its row, unique per
(subscription, local date), in the same transaction that moves the subscription's `next_due`
on, and only the scheduler whose insert went in may send it. A claim carries a lease; a claim
whose holder died is taken over when the lease runs out, and resent with the same key.
Every method is one transaction; SQLite writers in this process queue on a lock instead of
spinning on SQLite's busy handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from time import monotonic
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, time, timedelta

from sqlalchemy import Row, String, bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from . import migrate
from .database import SQLITE_BUSY_SECONDS, create_engine, database_url, describe, dialect_insert
from .database import timeouts as env_timeouts
from .health import StoreHealth
from .records import Claim, Delivery, Outcome, PlatformPause, Scan, Status, Subscription, delivery_key
from .rotation import Rotation, consume, upcoming
from .schedule import UnknownZone, local_date, next_post_time
from .tables import deliveries, platform_pauses, subscriptions


def _subscription(row: Row, prefix: str = "") -> Subscription:
    m = {key[len(prefix):]: value for key, value in row._mapping.items() if key.startswith(prefix)} if prefix else row._mapping
    hours, minutes = (int(part) for part in m["post_time"].split(":"))
    return Subscription(
        id=m["id"], platform=m["platform"], workspace=m["workspace"], channel=m["channel"],
        at=time(hours, minutes), zone=m["zone"], status=Status(m["status"]), pause_reason=m["pause_reason"],
        next_due=m["next_due"], changed_by=m["changed_by"],
        rotation=Rotation(m["rotation_seed"], m["rotation_cycle"], frozenset(json.loads(m["rotation_done"])), m["rotation_last"]),
    )


def _delivery(row: Row) -> Delivery:
    m = row._mapping
    return Delivery(
        id=m["id"], subscription_id=m["subscription_id"], local_date=m["local_date"], due_at=m["due_at"], key=m["key"],
        fact_id=m["fact_id"], status=Outcome(m["status"]), holder=m["holder"], lease_until=m["lease_until"],
        attempts=m["attempts"], message_id=m["message_id"], detail=m["detail"], claimed_at=m["claimed_at"],
        finished_at=m["finished_at"],
    )


def _rotation_values(state: Rotation) -> dict[str, object]:
    return {"rotation_cycle": state.cycle, "rotation_done": json.dumps(sorted(state.done)), "rotation_last": state.last}


def _delivery_columns():  # type: ignore[no-untyped-def]
    return [c for c in deliveries.c]


_SUB = "s_"
# A platform error code inside a pause reason: Slack's snake_case words, Discord's 5-digit numbers.
_REASON_WORD = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\b[0-9]{5}\b")  # prefix of subscription columns selected beside a delivery's


def _with_subscription():  # type: ignore[no-untyped-def]
    """A delivery's columns and its subscription's (prefixed), for one joined select."""
    return select(*deliveries.c, *(c.label(_SUB + c.name) for c in subscriptions.c)).select_from(
        deliveries.join(subscriptions, deliveries.c.subscription_id == subscriptions.c.id))


# The scheduler's hot path, built once with bind parameters: constructing a statement costs more
# CPU than the round trip that runs it.
_ALL_PAUSES = select(platform_pauses)
_PING = text("SELECT 1")
_OPEN_CLAIMS = _with_subscription().where(
    deliveries.c.status == Outcome.CLAIMED.value,
    subscriptions.c.platform.in_(bindparam("platforms", expanding=True)),
    deliveries.c.holder.is_(None) | (deliveries.c.holder != bindparam("holder")) | (deliveries.c.lease_until <= bindparam("now")),
).order_by(deliveries.c.lease_until).limit(bindparam("limit"))
_SCHEDULED = select(subscriptions).where(
    subscriptions.c.status == Status.ACTIVE.value,
    subscriptions.c.platform.in_(bindparam("platforms", expanding=True)),
    subscriptions.c.next_due.is_not(None),
).order_by(subscriptions.c.next_due).limit(bindparam("limit"))
_MOVE_ON = update(subscriptions).where(
    subscriptions.c.id == bindparam("b_id"), subscriptions.c.next_due == bindparam("b_due"),
    subscriptions.c.status == Status.ACTIVE.value,
).values(next_due=bindparam("b_next"))
_MARK_SENT = update(deliveries).where(
    deliveries.c.id == bindparam("b_id"), deliveries.c.status == Outcome.CLAIMED.value,
).values(status=Outcome.SENT.value, message_id=bindparam("b_message"), holder=None, lease_until=None,
         finished_at=bindparam("b_now"), fact_id=bindparam("b_fact"))
_ROTATE = update(subscriptions).where(
    subscriptions.c.id == bindparam("b_id"),
    subscriptions.c.rotation_cycle == bindparam("b_cycle"),
    subscriptions.c.rotation_done == bindparam("b_done"),
    subscriptions.c.rotation_last.is_not_distinct_from(bindparam("b_last", type_=String)),
).values(rotation_cycle=bindparam("n_cycle"), rotation_done=bindparam("n_done"), rotation_last=bindparam("n_last"))


class OtherWorkspace(Exception):
    """The channel's daily facts were set up from another workspace (a shared Slack channel):
    only that workspace may change them. Not a database failure."""

    def __init__(self, platform: str, channel: str):
        super().__init__(f"{platform} channel {channel} is subscribed from another workspace")
        self.platform = platform
        self.channel = channel


class Store:
    """Async access to the daily-fact tables. Open with `await Store.open(url)`."""

    def __init__(self, engine: AsyncEngine, where: str = "", statement_timeout: float | None = None):
        self.engine = engine
        self.where = where
        self.migrated = False  # `upgrade` has run in this process
        self.health = StoreHealth(where, statement_timeout if engine.dialect.name != "sqlite" else SQLITE_BUSY_SECONDS)
        self.dialect = engine.dialect.name
        # SQLite has one writer at a time: queue here rather than in its busy handler.
        self._lock: asyncio.Lock | None = asyncio.Lock() if self.dialect == "sqlite" else None
        # INSERT … ON CONFLICT DO NOTHING RETURNING: the claim itself (dialect-specific insert).
        self._claim_row = self._insert(deliveries).on_conflict_do_nothing(
            index_elements=["subscription_id", "local_date"]).returning(*_delivery_columns())

    @classmethod
    async def open(cls, url: str | None = None, *, upgrade: bool = True, timeouts: tuple[float, float] | None = None) -> Store:
        """Connect to `url` (default: CYTOBOT_DATABASE_URL, else SQLite in ./data) and bring the
        schema up to date; raises migrate.DatabaseTooNew for a database a newer cytobot migrated."""
        store = cls.connect(url, timeouts)
        try:
            if upgrade:
                await store.upgrade()
            else:
                await migrate.check(store.engine, store.where)
        except BaseException:
            await store.engine.dispose()
            raise
        return store

    @classmethod
    def connect(cls, url: str | None = None, timeouts: tuple[float, float] | None = None) -> Store:
        """A store for `url` that has not talked to the database yet (nothing is migrated):
        `cytobot run` builds it at once and reaches the database when it can (`upgrade`).
        `timeouts` (connect, statement) in seconds; default: the environment's."""
        url = url or database_url()
        connect, statement = timeouts or env_timeouts()
        return cls(create_engine(url, connect_timeout=connect, statement_timeout=statement), describe(url), statement)

    async def close(self) -> None:
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def _tx(self, operation: str) -> AsyncIterator[AsyncConnection]:
        """One transaction; its outcome tells `health` whether the database answers."""
        started = monotonic()
        try:
            async with self._lock if self._lock is not None else contextlib.nullcontext():
                async with self.engine.begin() as connection:
                    yield connection
        except (asyncio.CancelledError, OtherWorkspace):
            raise
        except Exception as exc:
            self.health.failed(operation, exc, started)
            with contextlib.suppress(AttributeError, TypeError):
                exc.store_operation = operation  # type: ignore[attr-defined]  # accounted for: said and counted
            raise
        self.health.succeeded()

    async def ping(self) -> None:
        """The cheapest question the database can answer (readiness); raises when it cannot."""
        async with self._tx("ping") as conn:
            await conn.execute(_PING)

    async def upgrade(self) -> None:
        """Bring the schema up to date (what `open` does); counted like any operation."""
        started = monotonic()
        try:
            await migrate.upgrade(self.engine, self.where)
        except (asyncio.CancelledError, migrate.DatabaseTooNew):
            raise
        except Exception as exc:
            self.health.failed("migrate", exc, started)
            raise
        self.migrated = True
        self.health.succeeded()

    def _insert(self, table):  # type: ignore[no-untyped-def]
        return dialect_insert(self.dialect, table)

    def _locked(self, statement, of=None):  # type: ignore[no-untyped-def]
        """SELECT … FOR UPDATE where the database has it (SQLite's write lock covers the rest)."""
        return statement.with_for_update(of=of) if self.dialect == "postgresql" else statement

    # ------------------------------------------------------------------ subscriptions (commands)

    async def get(self, platform: str, channel: str, workspace: str | None = None) -> Subscription | None:
        """The channel's subscription made from `workspace`; with no workspace given, the one
        that is not stopped (else the latest changed)."""
        statement = select(subscriptions).where(subscriptions.c.platform == platform, subscriptions.c.channel == channel)
        if workspace is not None:
            statement = statement.where(subscriptions.c.workspace == workspace)
        statement = statement.order_by((subscriptions.c.status == Status.STOPPED.value), subscriptions.c.changed_at.desc())
        async with self._tx("get") as conn:
            row = (await conn.execute(statement.limit(1))).first()
        return None if row is None else _subscription(row)

    @staticmethod
    async def _owner_elsewhere(conn: AsyncConnection, platform: str, workspace: str, channel: str) -> None:
        """Refuse a change to a channel whose live subscription another workspace made."""
        other = (await conn.execute(select(subscriptions.c.workspace).where(
            subscriptions.c.platform == platform, subscriptions.c.channel == channel,
            subscriptions.c.workspace != workspace, subscriptions.c.status != Status.STOPPED.value).limit(1))).first()
        if other is not None:
            raise OtherWorkspace(platform, channel)

    async def subscribe(self, *, platform: str, workspace: str, channel: str, at: time, zone: str, by: str,
                        now: datetime, seed: int) -> Subscription:
        """Create or change the channel's subscription and make it active; a channel that had one
        keeps its rotation (and today's claim, so changing the time never posts twice a day)."""
        values = {
            "workspace": workspace, "post_time": at.strftime("%H:%M"), "zone": zone, "status": Status.ACTIVE.value,
            "pause_reason": None, "next_due": next_post_time(now, at, zone), "changed_by": by, "changed_at": now,
        }
        statement = self._insert(subscriptions).values(
            platform=platform, channel=channel, created_at=now, rotation_seed=seed, rotation_cycle=0,
            rotation_done="[]", rotation_last=None, **values,
        ).on_conflict_do_update(index_elements=["platform", "workspace", "channel"], set_=values)
        async with self._tx("subscribe") as conn:
            await self._owner_elsewhere(conn, platform, workspace, channel)
            await conn.execute(statement)
            row = (await conn.execute(select(subscriptions).where(
                subscriptions.c.platform == platform, subscriptions.c.workspace == workspace,
                subscriptions.c.channel == channel))).one()
        return _subscription(row)

    async def unsubscribe(self, platform: str, channel: str, *, by: str, now: datetime, workspace: str = "") -> bool:
        async with self._tx("unsubscribe") as conn:
            await self._owner_elsewhere(conn, platform, workspace, channel)
            result = await conn.execute(update(subscriptions).where(
                subscriptions.c.platform == platform, subscriptions.c.workspace == workspace,
                subscriptions.c.channel == channel,
                subscriptions.c.status != Status.STOPPED.value,
            ).values(status=Status.STOPPED.value, next_due=None, pause_reason=None, changed_by=by, changed_at=now))
        return result.rowcount > 0

    async def resume(self, platform: str, channel: str, *, by: str, now: datetime, catch_up: timedelta,
                     workspace: str = "") -> Subscription | None:
        """Make a paused subscription active again. The post a pause stopped goes out now if it is
        still inside the catch-up window; otherwise the next one is at the usual time."""
        async with self._tx("resume") as conn:
            await self._owner_elsewhere(conn, platform, workspace, channel)
            row = (await conn.execute(self._locked(select(subscriptions).where(
                subscriptions.c.platform == platform, subscriptions.c.workspace == workspace,
                subscriptions.c.channel == channel)))).first()
            if row is None or row._mapping["status"] == Status.STOPPED.value:
                return None
            sub = _subscription(row)
            await conn.execute(update(subscriptions).where(subscriptions.c.id == sub.id).values(
                status=Status.ACTIVE.value, pause_reason=None, next_due=next_post_time(now, sub.at, sub.zone),
                changed_by=by, changed_at=now))
            await conn.execute(update(deliveries).where(
                deliveries.c.subscription_id == sub.id, deliveries.c.status == Outcome.PAUSED.value,
                deliveries.c.due_at >= now - catch_up,
            ).values(status=Outcome.CLAIMED.value, holder=None, lease_until=now, finished_at=None))
            row = (await conn.execute(select(subscriptions).where(subscriptions.c.id == sub.id))).one()
        return _subscription(row)

    async def last_delivery(self, subscription_id: int) -> Delivery | None:
        async with self._tx("last_delivery") as conn:
            row = (await conn.execute(select(deliveries).where(deliveries.c.subscription_id == subscription_id)
                                      .order_by(deliveries.c.local_date.desc()).limit(1))).first()
        return None if row is None else _delivery(row)

    async def deliveries_of(self, subscription_id: int) -> list[Delivery]:
        async with self._tx("deliveries_of") as conn:
            rows = (await conn.execute(select(deliveries).where(deliveries.c.subscription_id == subscription_id)
                                       .order_by(deliveries.c.local_date))).all()
        return [_delivery(r) for r in rows]

    # ------------------------------------------------------------------ platform pauses

    async def pause_platform(self, platform: str, reason: str, now: datetime) -> None:
        statement = self._insert(platform_pauses).values(platform=platform, reason=reason, paused_at=now)
        statement = statement.on_conflict_do_update(index_elements=["platform"], set_={"reason": reason, "paused_at": now})
        async with self._tx("pause_platform") as conn:
            await conn.execute(statement)

    async def platform_pauses(self) -> dict[str, PlatformPause]:
        async with self._tx("platform_pauses") as conn:
            rows = (await conn.execute(select(platform_pauses))).all()
        return {r.platform: PlatformPause(r.platform, r.reason, r.paused_at) for r in rows}

    async def clear_platform_pause(self, platform: str) -> bool:
        async with self._tx("clear_platform_pause") as conn:
            result = await conn.execute(platform_pauses.delete().where(platform_pauses.c.platform == platform))
        return result.rowcount > 0

    # ------------------------------------------------------------------ what is due (scheduler)

    async def scan(self, platforms: Iterable[str], now: datetime, limit: int, holder: str = "") -> Scan:
        """What the scheduler needs to know in one look (one transaction): platform pauses, the
        claims nobody holds any more (retries whose time came, claims of a holder that stopped),
        the subscriptions due, and when the next of them becomes due, so it can sleep till then."""
        platforms = list(platforms)
        async with self._tx("scan") as conn:
            pauses = {r.platform: PlatformPause(r.platform, r.reason, r.paused_at)
                      for r in (await conn.execute(_ALL_PAUSES)).all()}
            active = [p for p in platforms if p not in pauses]
            if not active:
                return Scan(pauses, [], [], None)
            # Both lists are read in due order past `now`, so the first row not yet due says when
            # to look again. Claims this holder is sending are its own business, not a wake-up.
            claims = (await conn.execute(_OPEN_CLAIMS, {"platforms": active, "holder": holder, "now": now, "limit": limit})).all()
            subs = (await conn.execute(_SCHEDULED, {"platforms": active, "limit": limit})).all()
        opened = [(_delivery(r), _subscription(r, _SUB)) for r in claims]
        listed = [_subscription(r) for r in subs]
        ready = [pair for pair in opened if pair[0].lease_until is not None and pair[0].lease_until <= now]
        due = [sub for sub in listed if sub.next_due is not None and sub.next_due <= now]
        later = [d.lease_until for d, _ in opened if d.lease_until is not None and d.lease_until > now]
        later += [sub.next_due for sub in listed if sub.next_due is not None and sub.next_due > now]
        if (len(claims) == limit and len(ready) == limit) or (len(subs) == limit and len(due) == limit):
            later.append(now)  # a full page of due work: there may be more behind it
        return Scan(pauses, ready, due, min(later, default=None))

    # ------------------------------------------------------------------ claims

    async def claim(self, sub: Subscription, *, now: datetime, holder: str, lease: timedelta, catch_up: timedelta,
                    facts: Iterable[str]) -> Claim:
        """Claim the post `sub` has due, moving its next_due on in the same transaction.

        The outcome is CLAIMED (with the delivery) when this caller won it and must send it;
        MISSED or SKIPPED when the day was recorded without a post; SENT when there was nothing
        to do (another scheduler got there first, or the day already has its row). `next_due` is
        the subscription's next post when this call moved it on."""
        due = sub.next_due
        if sub.status is not Status.ACTIVE or due is None or due > now:
            return Claim(Outcome.SENT)
        late = now - due > catch_up
        try:
            day = local_date(due, sub.zone)
            # A day missed by more than the window is recorded, not posted; the next post is the
            # first one still inside the window, so a long outage never ends in a burst.
            following = next_post_time(max(due, now - catch_up) if late else due, sub.at, sub.zone)
        except UnknownZone:  # the system's zone database lost this zone: stop, say why, never loop
            reason = f"the time zone {sub.zone} is not in this system's zone database; subscribe again with another"
            async with self._tx("claim") as conn:
                await conn.execute(update(subscriptions).where(subscriptions.c.id == sub.id).values(
                    status=Status.PAUSED.value, pause_reason=reason, next_due=None, changed_at=now))
            return Claim(Outcome.PAUSED)
        fact = upcoming(sub.rotation, facts)
        if late:
            outcome, detail = Outcome.MISSED, f"the bot was not running within {_hours(catch_up)} of the time"
        elif fact is None:
            outcome, detail = Outcome.SKIPPED, "the content pack has no facts"
        else:
            outcome, detail = Outcome.CLAIMED, None
        claimed = outcome is Outcome.CLAIMED
        async with self._tx("claim") as conn:
            # Compare-and-set: of two schedulers holding the same snapshot, one moves next_due on
            # and the other (on PostgreSQL, after waiting for the row lock) matches nothing.
            moved = await conn.execute(_MOVE_ON, {"b_id": sub.id, "b_due": due, "b_next": following})
            if moved.rowcount == 0:
                return Claim(Outcome.SENT)
            # The unique (subscription, local date) row is the claim itself: whatever else happens,
            # a second row for this day cannot exist, so neither can a second post.
            inserted = (await conn.execute(self._claim_row, dict(
                subscription_id=sub.id, local_date=day, due_at=due, key=delivery_key(sub.id, day),
                fact_id=fact, status=outcome.value, holder=holder if claimed else None,
                lease_until=now + lease if claimed else None, attempts=1 if claimed else 0, detail=detail,
                claimed_at=now, finished_at=None if claimed else now, message_id=None,
            ))).first()
        if inserted is None:  # the day already has its row (e.g. the time changed after the post)
            return Claim(Outcome.SENT, None, following)
        return Claim(outcome, _delivery(inserted) if claimed else None, following)

    async def take_over(self, delivery: Delivery, *, now: datetime, holder: str, lease: timedelta,
                        catch_up: timedelta) -> Claim:
        """Take an unheld claim (a retry whose time came, or a dead holder's post) to send it again.
        CLAIMED (with the delivery) to send it, or how the day ended instead."""
        async with self._tx("take_over") as conn:
            row = (await conn.execute(self._locked(_with_subscription().where(deliveries.c.id == delivery.id), of=deliveries))).first()
            if row is None:
                return Claim(Outcome.SENT)
            current = _delivery(row)
            if current.status is not Outcome.CLAIMED or current.lease_until is None or current.lease_until > now:
                return Claim(Outcome.SENT)  # finished, or someone holds it
            ended: tuple[Outcome, str] | None = None
            sub_status = row._mapping[_SUB + "status"]
            if sub_status != Status.ACTIVE.value:
                ended = Outcome.SKIPPED, f"the subscription was {sub_status} before the post went out"
            elif now - current.due_at > catch_up:
                why = f" after: {current.detail}" if current.detail else ""
                ended = (Outcome.FAILED if current.detail else Outcome.MISSED,
                         f"not sent within {_hours(catch_up)} of the time{why}")
            if ended is not None:
                await conn.execute(update(deliveries).where(deliveries.c.id == current.id).values(
                    status=ended[0].value, holder=None, lease_until=None, finished_at=now, detail=ended[1]))
                return Claim(ended[0])
            taken = (await conn.execute(update(deliveries).where(
                deliveries.c.id == current.id, deliveries.c.status == Outcome.CLAIMED.value,
                deliveries.c.lease_until <= now,
            ).values(holder=holder, lease_until=now + lease, attempts=deliveries.c.attempts + 1)
                .returning(*_delivery_columns()))).first()
        return Claim(Outcome.CLAIMED, _delivery(taken)) if taken is not None else Claim(Outcome.SENT)

    async def finish_sent(self, delivery: Delivery, *, now: datetime, message_id: str, facts: Iterable[str],
                          rotation: Rotation | None = None) -> bool:
        """Record the post as sent and move the channel's rotation past its fact. False if the row
        was no longer open (another holder finished it first). `rotation` is the state the caller
        last saw: if it is still current, one statement less."""
        facts = list(facts)
        async with self._tx("finish_sent") as conn:
            result = await conn.execute(_MARK_SENT, {"b_id": delivery.id, "b_message": message_id[:64], "b_now": now,
                                                     "b_fact": delivery.fact_id})
            if result.rowcount == 0:
                return False
            if not delivery.fact_id:
                return True
            if rotation is not None:
                seen, new = _rotation_values(rotation), _rotation_values(consume(rotation, delivery.fact_id, facts))
                moved = await conn.execute(_ROTATE, {
                    "b_id": delivery.subscription_id, "b_cycle": seen["rotation_cycle"], "b_done": seen["rotation_done"],
                    "b_last": seen["rotation_last"], "n_cycle": new["rotation_cycle"], "n_done": new["rotation_done"],
                    "n_last": new["rotation_last"]})
                if moved.rowcount:
                    return True
            row = (await conn.execute(self._locked(select(subscriptions).where(
                subscriptions.c.id == delivery.subscription_id)))).first()
            if row is not None:
                state = consume(_subscription(row).rotation, delivery.fact_id, facts)
                await conn.execute(update(subscriptions).where(subscriptions.c.id == delivery.subscription_id)
                                   .values(**_rotation_values(state)))
        return True

    async def finish(self, delivery: Delivery, outcome: Outcome, *, now: datetime, detail: str) -> bool:
        """End an open claim without a post (failed, skipped)."""
        async with self._tx("finish") as conn:
            result = await conn.execute(update(deliveries).where(
                deliveries.c.id == delivery.id, deliveries.c.status == Outcome.CLAIMED.value,
            ).values(status=outcome.value, holder=None, lease_until=None, finished_at=now, detail=detail[:1000]))
        return result.rowcount > 0

    async def release(self, delivery: Delivery, *, retry_at: datetime, detail: str) -> bool:
        """Give an open claim back to be tried again from `retry_at` (by any scheduler)."""
        async with self._tx("release") as conn:
            result = await conn.execute(update(deliveries).where(
                deliveries.c.id == delivery.id, deliveries.c.status == Outcome.CLAIMED.value,
            ).values(holder=None, lease_until=retry_at, detail=detail[:1000]))
        return result.rowcount > 0

    async def pause_channel(self, delivery: Delivery, *, reason: str, now: datetime) -> None:
        """A permanent error: the day ends paused, and so does the subscription, with the reason."""
        async with self._tx("pause_channel") as conn:
            await conn.execute(update(deliveries).where(
                deliveries.c.id == delivery.id, deliveries.c.status == Outcome.CLAIMED.value,
            ).values(status=Outcome.PAUSED.value, holder=None, lease_until=None, finished_at=now, detail=reason[:1000]))
            await conn.execute(update(subscriptions).where(
                subscriptions.c.id == delivery.subscription_id, subscriptions.c.status == Status.ACTIVE.value,
            ).values(status=Status.PAUSED.value, pause_reason=reason[:1000], next_due=None, changed_at=now))

    async def prune_deliveries(self, before: datetime, *, batch: int = 1000) -> int:
        """Delete up to `batch` finished delivery rows due before `before`, never a subscription's
        newest row (what `daily status` shows as the last post) nor an open claim. Returns how
        many went; call again while it returns `batch`. Rows inside the catch-up window are what
        exactly-once rests on: the caller keeps them (`before` lies well behind the window)."""
        newer = deliveries.alias("newer")
        doomed = select(deliveries.c.id).where(
            deliveries.c.status != Outcome.CLAIMED.value,
            deliveries.c.due_at < before,
            select(newer.c.id).where(newer.c.subscription_id == deliveries.c.subscription_id,
                                     newer.c.local_date > deliveries.c.local_date).exists(),
        ).limit(batch)
        async with self._tx("prune_deliveries") as conn:
            ids = [row.id for row in (await conn.execute(doomed)).all()]
            if ids:
                await conn.execute(deliveries.delete().where(deliveries.c.id.in_(ids)))
        return len(ids)

    async def paused_counts(self) -> dict[str, int]:
        """Paused subscriptions by the platform error code in their reason (`channel_not_found`,
        `50013`; `other` when there is none): a bounded set, fit for metrics labels."""
        async with self._tx("paused_counts") as conn:
            rows = (await conn.execute(select(subscriptions.c.pause_reason, func.count()).where(
                subscriptions.c.status == Status.PAUSED.value).group_by(subscriptions.c.pause_reason))).all()
        counts: dict[str, int] = {}
        for reason, n in rows:
            word = _REASON_WORD.search(reason or "")
            key = word.group(0)[:40] if word else "other"
            counts[key] = counts.get(key, 0) + n
        return counts

    async def counts(self) -> dict[str, int]:
        """Delivery rows by outcome, and subscriptions by status: for tests, metrics, benchmarks."""
        async with self._tx("counts") as conn:
            d = (await conn.execute(select(deliveries.c.status, func.count()).group_by(deliveries.c.status))).all()
            s = (await conn.execute(select(subscriptions.c.status, func.count()).group_by(subscriptions.c.status))).all()
        return {**{f"deliveries.{k}": v for k, v in d}, **{f"subscriptions.{k}": v for k, v in s}}


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} hour{'s' if hours != 1 else ''}"


__all__ = ["OtherWorkspace", "Claim", "Delivery", "Outcome", "PlatformPause", "Status", "Store", "Subscription", "delivery_key"]
