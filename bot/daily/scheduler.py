"""The scheduler: an asyncio task in the bot process that posts each channel's daily fact.

One worker per platform: it looks in the store for what is due, waits for a pacing slot,
claims the post (the database decides who sends it; see `store`), and hands the send to a task
of its own, so a slow or failing channel never holds up the others. The outcome is recorded
on the claim's row: sent (with the message id), retried later, failed, or paused.

Other code needs: `await start()`; `ready` and `problem` (a readiness probe); and on SIGTERM
`await drain()` (no new claims) then `await stop(timeout)` (sends in flight finish, at most
`timeout` seconds; `stop` alone does both).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..observe import Observer, PostEvent
from ..reply import Reply
from .clock import SYSTEM_CLOCK, Clock
from .delivery import Permanent, Poster, PostOutcome, RetryAfter, Scope, Sent
from .pacing import Pacer
from .rotation import upcoming
from .records import Delivery, Outcome, Subscription
from .store import Store

log = logging.getLogger("cytobot.daily")

CATCH_UP_ENV = "CYTOBOT_DAILY_CATCH_UP"
# TEST ONLY: JSON overrides of SchedulerSettings (seconds for durations), so a test can run a
# real `cytobot` process with a lease of seconds instead of minutes. Not for production use.
TEST_SETTINGS_ENV = "CYTOBOT_TEST_ONLY_SCHEDULER"
DEFAULT_CATCH_UP = timedelta(hours=6)
PAUSED_REPORT_SECONDS = 60.0  # how often paused subscriptions are counted for the observer (real time)

# (subscription, fact id) -> the reply to post, or None if the pack no longer has that fact.
Compose = Callable[[Subscription, str], Awaitable[Reply | None]]


class SettingsError(ValueError):
    """A daily-facts setting that cannot be used; the message names the variable."""


def parse_duration(text: str, name: str = CATCH_UP_ENV) -> timedelta:
    """'6h', '90m', '1h30m', '45s' or plain seconds ('3600')."""
    value = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return timedelta(seconds=float(value))
    parts = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?", value)
    if not value or parts is None:
        raise SettingsError(f"{name} must be a duration such as 6h, 90m or 3600 (seconds); got {text[:40]!r}")
    hours, minutes, seconds = (float(p) if p else 0.0 for p in parts.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    """How the scheduler behaves; the defaults are what the bot runs with."""

    catch_up: timedelta = DEFAULT_CATCH_UP  # a post later than this is recorded missed, never sent
    lease: timedelta = timedelta(minutes=2)  # a claim's holder has this long to finish it
    send_timeout: float = 30.0  # one send; a slower channel is retried later, others go on
    concurrency: int = 64  # sends in flight per platform
    poll: float = 30.0  # seconds between looks at the store when nothing is known to be due
    batch: int = 500  # due posts read per look
    max_attempts: int = 8  # transient failures of one post before it is recorded failed
    backoff: float = 10.0  # first retry after this many seconds, doubling each time
    backoff_cap: float = 900.0
    store_retry: float = 5.0  # after a store error, look again this much later
    write_retry: float = 0.5  # a claim's write that failed is tried again after this, doubling up to 8 times it
    # Delivery rows are kept this long past the catch-up window (each subscription's newest
    # row always), then pruned, `prune_batch` rows per statement, every `prune_every` seconds.
    retention: timedelta = timedelta(days=7)
    prune_every: float = 3600.0
    prune_batch: int = 1000

    def __post_init__(self) -> None:
        if self.catch_up <= timedelta(0):
            raise SettingsError(f"{CATCH_UP_ENV} must be longer than zero")
        if self.lease.total_seconds() <= 2 * self.send_timeout:
            raise SettingsError("the lease must outlast two send timeouts, or a slow send could be taken over and duplicated")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> SchedulerSettings:
        env = os.environ if env is None else env
        raw = env.get(CATCH_UP_ENV, "").strip()
        if raw:
            overrides.setdefault("catch_up", parse_duration(raw))
        test_only = env.get(TEST_SETTINGS_ENV, "").strip()
        if test_only:
            try:
                for name, value in json.loads(test_only).items():
                    field_type = cls.__dataclass_fields__[name].type
                    overrides.setdefault(name, timedelta(seconds=value) if "timedelta" in str(field_type) else value)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise SettingsError(f"{TEST_SETTINGS_ENV} must be a JSON object of scheduler settings ({exc})") from None
            log.warning("daily facts: test-only scheduler settings in use (%s)", TEST_SETTINGS_ENV)
        return cls(**overrides)  # type: ignore[arg-type]


def holder_id() -> str:
    """Who holds a claim: host, process and a random part (a restarted process is someone else)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"


class Scheduler:
    def __init__(
        self,
        store: Store,
        posters: Mapping[str, Poster],
        compose: Compose,
        facts: Callable[[], Iterable[str]],
        *,
        clock: Clock = SYSTEM_CLOCK,
        settings: SchedulerSettings | None = None,
        holder: str | None = None,
        observer: Observer | None = None,
    ):
        self.store = store
        self.posters = dict(posters)
        self.compose = compose
        self.facts = facts
        self.clock = clock
        self.settings = settings or SchedulerSettings()
        self.holder = holder or holder_id()
        self.stats: Counter[str] = Counter()
        self.observer = observer or Observer()
        self._paused_reported = -PAUSED_REPORT_SECONDS  # time.monotonic() of the last paused-count report
        self._started = False
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._stop = asyncio.Event()
        self._wake = {platform: asyncio.Event() for platform in self.posters}
        self._paused: dict[str, str] = {}
        self._pausing: dict[str, str] = {}  # platform pauses decided here and not yet in the store
        self._maintenance: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start one worker per platform. Platform pauses of these platforms are lifted: a
        process starts with the credentials someone just fixed (if not, the first post pauses
        the platform again, after one refused request)."""
        if self._started:
            return
        for platform, poster in self.posters.items():
            if platform not in self._workers:  # a start the database interrupted is tried again
                await self._start_worker(platform, poster)
        self._started = True
        self._maintenance = asyncio.create_task(self._prune_forever(), name="daily-prune")
        log.info("daily facts: scheduler %s started for %s", self.holder, ", ".join(self.posters) or "no platform yet")

    async def attach(self, platform: str, poster: Poster) -> None:
        """Post to `platform` from now on: an adapter calls this once its client exists (the
        Slack and Discord posters need the connected client). Starts its worker if running."""
        if platform in self._workers:
            raise ValueError(f"{platform} already has a poster")
        self.posters[platform] = poster
        self._wake[platform] = asyncio.Event()
        if self._started and not self._stopping:
            await self._start_worker(platform, poster)

    async def _start_worker(self, platform: str, poster: Poster) -> None:
        self._wake.setdefault(platform, asyncio.Event())
        if await self.store.clear_platform_pause(platform):
            log.info("daily facts on %s: the platform pause was lifted at start-up", platform)
        self._workers[platform] = asyncio.create_task(self._worker(platform, poster), name=f"daily-{platform}")

    @property
    def ready(self) -> bool:
        """Running, and its last look at the store worked."""
        return self.problem is None

    @property
    def problem(self) -> str | None:
        """Why it is not ready, in one line (None when it is)."""
        if not self._started:
            return "daily facts: the scheduler has not started"
        if self._stopping:
            return "daily facts: draining"
        if self.store.health.problem:
            return self.store.health.problem
        if any(t.done() for t in self._workers.values()):
            return "daily facts: a worker stopped"
        return None

    @property
    def in_flight(self) -> int:
        """Sends started and not yet recorded."""
        return len(self._inflight)

    async def sends_done(self) -> None:
        """Wait until the sends in flight now are recorded."""
        if self._inflight:
            await asyncio.wait(set(self._inflight))

    @property
    def running(self) -> bool:
        return self._started and not self._stopping

    def wake(self, platform: str | None = None) -> None:
        """Look at the store now (a subscription changed), not at the next poll."""
        for name, event in self._wake.items():
            if platform is None or name == platform:
                event.set()

    async def drain(self) -> None:
        """Claim nothing more: the workers end (a claim being decided finishes first). Sends in
        flight go on; `stop` waits for them."""
        self._stopping = True
        self._stop.set()
        self.wake()
        if self._workers:
            await asyncio.gather(*self._workers.values(), return_exceptions=True)

    async def stop(self, timeout: float = 30.0) -> None:
        """Drain, then let sends in flight finish for up to `timeout` seconds. A send still
        running then is cancelled; its claim stays leased and is taken over later, with the
        same key."""
        await self.drain()
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("daily facts: %d send(s) still running at shutdown were cancelled", len(pending))
                await asyncio.gather(*pending, return_exceptions=True)
        self._workers = {}
        if self._maintenance is not None:
            self._maintenance.cancel()
            await asyncio.gather(self._maintenance, return_exceptions=True)
        log.info("daily facts: scheduler %s stopped (%s)", self.holder, dict(self.stats))

    # ------------------------------------------------------------------ the worker

    async def _nap(self, seconds: float, event: asyncio.Event) -> None:
        """Sleep on the clock until `seconds` pass or `event` is set."""
        if seconds <= 0 or event.is_set():
            await asyncio.sleep(0)
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waiter = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waiter.cancel()

    async def _worker(self, platform: str, poster: Poster) -> None:
        pacer = Pacer(poster.rate, self.clock)
        capacity = asyncio.Semaphore(self.settings.concurrency)
        wake = self._wake[platform]
        while not self._stopping:
            try:
                await self._pass(platform, poster, pacer, capacity, wake)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.stats["store_errors"] += 1
                if getattr(exc, "store_operation", None):  # a database failure: the store said so, once per outage
                    log.debug("daily facts on %s: a pass failed (%s)", platform, type(exc).__name__)
                else:  # not the database: a bug, worth its traceback
                    log.warning("daily facts on %s: a pass failed (%s); trying again in %gs", platform,
                                type(exc).__name__, self.settings.store_retry, exc_info=True)
                await self._nap(self.settings.store_retry, self._stop)

    async def _pass(self, platform: str, poster: Poster, pacer: Pacer, capacity: asyncio.Semaphore, wake: asyncio.Event) -> None:
        wake.clear()
        now = self.clock.now()
        scan = await self.store.scan([platform], now, self.settings.batch, self.holder)
        self._paused = {**{name: p.reason for name, p in scan.pauses.items()}, **self._pausing}
        await self._report_paused()
        if platform in self._paused:
            await self._nap(self.settings.poll, wake)
            return
        jobs: list[tuple[datetime, int, Delivery | None, Subscription]] = [
            (d.lease_until or d.due_at, 0, d, s) for d, s in scan.open_claims
        ] + [(s.next_due or now, 1, None, s) for s in scan.due]
        jobs.sort(key=lambda job: (job[0], job[1], job[3].id))
        wakeups = [scan.next_wakeup] if scan.next_wakeup is not None else []
        # Each job claims and sends in a task of its own, so store latency does not cap the rate;
        # `claimed` says when the claim is decided and when the subscription is due next.
        claimed: list[asyncio.Future[datetime | None]] = []
        loop = asyncio.get_running_loop()
        # Set by the first claim the store fails: the pass stops there, rather than walking the
        # rest of the batch at the platform's pace only to fail each claim in turn.
        failed_claim = asyncio.Event()
        try:
            for _, _, open_claim, sub in jobs:
                if self._stopping or platform in self._paused or failed_claim.is_set():
                    break
                await self._slot(pacer, failed_claim)
                if self._stopping or platform in self._paused or failed_claim.is_set():  # a send may have paused it
                    if failed_claim.is_set():
                        pacer.refund()
                    break
                await capacity.acquire()
                if failed_claim.is_set():
                    capacity.release()
                    pacer.refund()
                    break
                decided: asyncio.Future[datetime | None] = loop.create_future()
                claimed.append(decided)
                task = asyncio.create_task(self._claim_and_send(platform, poster, pacer, capacity, open_claim, sub, decided,
                                                                failed_claim))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
        finally:
            results = await asyncio.gather(*claimed, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]
        wakeups += [r for r in results if isinstance(r, datetime)]
        if self._stopping:
            return
        delay = self.settings.poll
        if wakeups:
            delay = min(delay, max(0.0, (min(wakeups) - self.clock.now()).total_seconds()))
        await self._nap(delay, wake)

    async def _claim_and_send(self, platform: str, poster: Poster, pacer: Pacer, capacity: asyncio.Semaphore,
                              open_claim: Delivery | None, sub: Subscription, decided: asyncio.Future[datetime | None],
                              failed_claim: asyncio.Event | None = None) -> None:
        """Claim one post (or take over an open claim) and, if this scheduler won it, send it.
        `decided` gets when to look at the store again for this subscription (None: no news)."""
        try:
            if platform in self._paused:
                pacer.refund()
                decided.set_result(None)
                return
            now = self.clock.now()
            try:
                if open_claim is not None:
                    claim = await self.store.take_over(
                        open_claim, now=now, holder=self.holder, lease=self.settings.lease, catch_up=self.settings.catch_up)
                    if claim.delivery is not None:
                        self.stats["taken_over" if open_claim.holder else "retried"] += 1
                else:
                    claim = await self.store.claim(
                        sub, now=now, holder=self.holder, lease=self.settings.lease, catch_up=self.settings.catch_up,
                        facts=self.facts())
                    if claim.delivery is not None:
                        self.stats["claimed"] += 1
            except Exception as exc:
                pacer.refund()  # nothing was sent: the slot goes to the next post
                if failed_claim is not None:
                    failed_claim.set()
                decided.set_exception(exc)
                return
            if claim.delivery is None:
                pacer.refund()
                self.stats["lost_race" if claim.outcome is Outcome.SENT else claim.outcome.value] += 1
                if claim.outcome in (Outcome.MISSED, Outcome.SKIPPED, Outcome.FAILED):
                    self._report(platform, claim.outcome.value, open_claim.due_at if open_claim else sub.next_due)
                # Another scheduler moved it on (we do not know to when): look again soon.
                decided.set_result(claim.next_due or (now if claim.outcome is Outcome.SENT and open_claim is None else None))
                return
            decided.set_result(claim.next_due)
            await self._send(platform, poster, pacer, claim.delivery, sub)
        finally:
            if not decided.done():
                decided.set_result(None)
            capacity.release()

    async def _prune_forever(self) -> None:
        """Prune old delivery rows now and then (any replica may: deletes are idempotent)."""
        while not self._stopping:
            try:
                await self.prune()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store logged an outage; the next round tries again
                log.debug("daily facts: pruning failed (%s)", type(exc).__name__)
            # Real time, not the scheduler's clock: housekeeping is no part of a simulated schedule.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.prune_every)

    async def prune(self) -> int:
        """Delete the delivery rows older than the catch-up window plus the retention, in
        batches (a pause between them, so posts never queue behind a long delete)."""
        before = self.clock.now() - self.settings.catch_up - self.settings.retention
        total = 0
        while not self._stopping:
            removed = await self.store.prune_deliveries(before, batch=self.settings.prune_batch)
            total += removed
            if removed < self.settings.prune_batch:
                break
            await asyncio.sleep(0.05)
        if total:
            log.info("daily facts: pruned %d delivery row(s) due before %s", total, before.strftime("%Y-%m-%d %H:%M UTC"))
        return total

    def _report(self, platform: str, outcome: str, due_at: datetime | None) -> None:
        lag = (self.clock.now() - due_at).total_seconds() if due_at is not None else 0.0
        try:
            self.observer.daily_post(PostEvent(platform, outcome, lag))
        except Exception:  # an observer never breaks a post
            log.exception("daily facts: the observer failed")

    async def _report_paused(self, force: bool = False) -> None:
        """Paused subscriptions by reason, for metrics: at most once a minute, or after a pause."""
        now = time.monotonic()
        if not force and now - self._paused_reported < PAUSED_REPORT_SECONDS:
            return
        self._paused_reported = now
        counts = await self.store.paused_counts()
        try:
            self.observer.paused(counts)
        except Exception:
            log.exception("daily facts: the observer failed")

    async def _slot(self, pacer: Pacer, interrupt: asyncio.Event | None = None) -> None:
        while not self._stopping and not (interrupt is not None and interrupt.is_set()):
            delay = pacer.delay()
            if delay <= 0:
                pacer.take()
                return
            await self._nap(delay, interrupt if interrupt is not None else self._stop)

    # ------------------------------------------------------------------ one send

    async def _send(self, platform: str, poster: Poster, pacer: Pacer, delivery: Delivery, sub: Subscription) -> None:
        try:
            delivery, outcome, from_platform = await self._attempt(poster, delivery, sub)
            if outcome is not None:
                await self._record(platform, pacer, delivery, sub, outcome, from_platform)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The claim stays leased; when the lease runs out it is taken over and resent with its key.
            self.stats["record_errors"] += 1
            log.exception("daily facts on %s: could not record the post for subscription %s", platform, delivery.subscription_id)

    async def _attempt(self, poster: Poster, delivery: Delivery, sub: Subscription) -> tuple[Delivery, PostOutcome | None, bool]:
        """Post once. Returns the delivery (its fact may have been replaced after a pack reload),
        the outcome (None when the day ended without a post), and whether the outcome came from
        the platform (only then does a RetryAfter slow the whole platform down)."""
        reply = await self.compose(sub, delivery.fact_id) if delivery.fact_id else None
        if reply is None:  # the pack lost this fact since the claim: post the channel's next one instead
            fact = upcoming(sub.rotation, self.facts())
            reply = await self.compose(sub, fact) if fact else None
            if reply is None:
                await self.store.finish(delivery, Outcome.SKIPPED, now=self.clock.now(), detail="the content pack has no facts")
                self.stats["skipped"] += 1
                return delivery, None, False
            delivery = replace(delivery, fact_id=fact)
        try:
            outcome = await asyncio.wait_for(poster.post(sub.channel, reply, key=delivery.key), self.settings.send_timeout)
            return delivery, outcome, True
        except TimeoutError:
            self.stats["timeouts"] += 1
            return delivery, RetryAfter(0.0, f"no answer within {self.settings.send_timeout:g}s"), False
        except Exception as exc:  # a poster must not raise; if one does, treat it as transient
            log.exception("daily facts: the %s poster raised instead of returning an outcome", poster.platform)
            return delivery, RetryAfter(0.0, f"the poster failed ({type(exc).__name__})"), False

    async def _record(self, platform: str, pacer: Pacer, delivery: Delivery, sub: Subscription, outcome: PostOutcome,
                      from_platform: bool) -> None:
        now = self.clock.now()
        until = delivery.lease_until
        if isinstance(outcome, Sent):
            done = await self._persist(until, lambda: self.store.finish_sent(
                delivery, now=now, message_id=outcome.message_id, facts=self.facts(), rotation=sub.rotation))
            self.stats["sent" if done else "sent_after_takeover"] += 1
            self._report(platform, "sent", delivery.due_at)
        elif isinstance(outcome, RetryAfter):
            if from_platform:
                pacer.hold(outcome.seconds)
            wait = max(outcome.seconds, min(self.settings.backoff_cap, self.settings.backoff * 2 ** max(0, delivery.attempts - 1)))
            retry_at = now + timedelta(seconds=wait)
            if delivery.attempts >= self.settings.max_attempts or retry_at - delivery.due_at > self.settings.catch_up:
                detail = f"gave up after {delivery.attempts} attempt(s): {outcome.reason}"
                await self._persist(until, lambda: self.store.finish(delivery, Outcome.FAILED, now=now, detail=detail))
                self.stats["failed"] += 1
                self._report(platform, "failed", delivery.due_at)
            else:
                await self._persist(until, lambda: self.store.release(delivery, retry_at=retry_at, detail=outcome.reason))
                self.stats["retry_scheduled"] += 1
                self._report(platform, "retry", delivery.due_at)
                self.wake(platform)
        elif isinstance(outcome, Permanent):
            if outcome.scope is Scope.PLATFORM:
                self._paused[platform] = self._pausing[platform] = outcome.reason  # stop at once, before the write lands
                try:
                    await self._persist(until, lambda: self.store.pause_platform(platform, outcome.reason, now))
                finally:
                    self._pausing.pop(platform, None)
                await self._persist(until, lambda: self.store.release(delivery, retry_at=now, detail=f"{platform} paused: {outcome.reason}"))
                self.stats["platform_paused"] += 1
                self._report(platform, "platform_paused", delivery.due_at)
                log.error("daily facts on %s: paused for every channel: %s", platform, outcome.reason)
            else:
                await self._persist(until, lambda: self.store.pause_channel(delivery, reason=outcome.reason, now=now))
                self.stats["paused"] += 1
                self._report(platform, "paused", delivery.due_at)
                await self._report_paused(force=True)
                log.warning("daily facts on %s: subscription %s paused: %s", platform, delivery.subscription_id, outcome.reason)
        else:  # pragma: no cover - the Poster protocol allows nothing else
            raise TypeError(f"unknown post outcome {outcome!r}")

    async def _persist(self, until: datetime | None, write: Callable[[], Awaitable[object]]) -> object:
        """A write that must not be lost to a store outage (a post that went out must be marked,
        or it is sent again once its lease runs out): each write is its own transaction, tried
        again (waits doubling from 0.5 s to 4 s) for as long as the claim's lease holds; then it is given up
        and left to the lease. The outage is logged once by the store, not per post."""
        attempt = 0
        while True:
            try:
                return await write()
            except Exception:
                wait = min(8 * self.settings.write_retry, self.settings.write_retry * 2**attempt)
                attempt += 1
                if until is None or self.clock.now() + timedelta(seconds=wait) >= until:
                    raise
                self.stats["write_retries"] += 1
                with contextlib.suppress(Exception):
                    await self.clock.sleep(wait)
