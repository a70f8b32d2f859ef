"""Prometheus metrics: the observer the composition root registers with the engine.

Names follow Prometheus conventions (`cytobot_` prefix, base units, `_total` counters) and
labels are bounded sets: command names from the registry, platform names, fixed outcome and
reason words. No channel, user, workspace or typed text is ever a label, so a busy bot cannot
blow up the metrics store or leak who asked what.

Each `Metrics` has its own registry (tests build several in one process); `/metrics` serves it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import generate_latest

from bot import __version__
from bot.observe import CommandEvent, Observer, Outcome, PostEvent

CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
# A lookup takes well under a millisecond; a search on a big pack or a storage command, more.
COMMAND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# A daily post is due at a minute; popular minutes are spread, and catch-up may run hours late.
LAG_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 7200, 21600)
REJECT_REASONS = ("bad_signature", "malformed", "too_large", "unsupported", "not_found")
# Store operations present at 0 from the start (others appear at their first error): readiness
# probes, the scheduler's look, claims and the marks that follow a send.
STORE_OPERATIONS = ("ping", "migrate", "scan", "claim", "take_over", "finish_sent", "release")

UNDELIVERED = "undelivered"  # the outcome of a request answered but whose reply never reached the user
prometheus_client.disable_created_metrics()  # the *_created series only double the output


@dataclass
class Delivery:
    """The requests answered inside `counted_on_delivery()`, counted when it ends: with their
    own outcome, or `undelivered` if `failed()` was called (the platform refused the reply)."""

    held: list[tuple[Metrics, CommandEvent]] = field(default_factory=list)
    undelivered: bool = False

    def failed(self) -> None:
        self.undelivered = True


_DELIVERY: ContextVar[Delivery | None] = ContextVar("cytobot_delivery", default=None)


@contextlib.contextmanager
def counted_on_delivery() -> Iterator[Delivery]:
    """Around an adapter's answer-and-send: the command is counted once it is known whether
    the reply got through, so a reply the platform refused is never counted `ok`."""
    delivery = Delivery()
    token = _DELIVERY.set(delivery)
    try:
        yield delivery
    finally:
        _DELIVERY.reset(token)
        for metrics, event in delivery.held:
            failed = delivery.undelivered and event.outcome is not Outcome.ERROR
            metrics.count(event, UNDELIVERED if failed else event.outcome.value)


class Metrics(Observer):
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        prometheus_client.ProcessCollector(registry=r)  # process_resident_memory_bytes, open fds, CPU
        prometheus_client.PlatformCollector(registry=r)
        Info("cytobot_build", "The running cytobot version", registry=r).info({"version": __version__})
        self.commands = Counter("cytobot_commands", "Requests answered, by command, platform and outcome "
                                "(ok, user_error, error, or undelivered: the platform refused the reply)",
                                ["command", "platform", "outcome"], registry=r)
        self.command_seconds = Histogram("cytobot_command_duration_seconds", "Time the engine took to answer a request",
                                         ["command", "platform"], buckets=COMMAND_BUCKETS, registry=r)
        self.daily_posts = Counter("cytobot_daily_posts", "Daily-fact post attempts, by platform and outcome",
                                   ["platform", "outcome"], registry=r)
        self.daily_lag = Histogram("cytobot_daily_post_lag_seconds", "How long after its due time a daily post went out",
                                   ["platform"], buckets=LAG_BUCKETS, registry=r)
        self.paused_subscriptions = Gauge("cytobot_daily_subscriptions_paused", "Paused daily subscriptions, by reason",
                                          ["reason"], registry=r)
        self.rejected = Counter("cytobot_requests_rejected", "HTTP requests refused before reaching the bot, by reason",
                                ["reason"], registry=r)
        for reason in REJECT_REASONS:
            self.rejected.labels(reason)  # present at 0, so a rate() over them works from the start
        self.store_errors = Counter("cytobot_daily_store_errors", "Daily-facts database operations that failed, by operation",
                                    ["operation"], registry=r)
        for operation in STORE_OPERATIONS:
            self.store_errors.labels(operation)
        self.pack = Info("cytobot_content_pack", "The content pack being served", registry=r)
        self.reloads = Counter("cytobot_content_reloads", "Content reloads, by outcome (loaded or refused)",
                               ["outcome"], registry=r)
        for outcome in ("loaded", "refused"):
            self.reloads.labels(outcome)
        # The children of the per-request series, by label values: `labels()` validates and locks
        # on every call, and this runs once per answered request. Bounded like the labels are.
        self._answered: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    # --- Observer -----------------------------------------------------------------------
    def command(self, event: CommandEvent) -> None:
        delivery = _DELIVERY.get()
        if delivery is not None:  # counted once the reply is sent (or not)
            delivery.held.append((self, event))
            return
        self.count(event, event.outcome.value)

    def count(self, event: CommandEvent, outcome: str) -> None:
        key = (event.command, event.platform, outcome)
        series = self._answered.get(key)
        if series is None:  # labels() validates and locks on every call: look each series up once
            series = self._answered[key] = (self.commands.labels(*key),
                                            self.command_seconds.labels(event.command, event.platform))
        series[0].inc()
        series[1].observe(event.seconds)

    def daily_post(self, event: PostEvent) -> None:
        self.daily_posts.labels(event.platform, event.outcome).inc()
        self.daily_lag.labels(event.platform).observe(max(0.0, event.lag_seconds))

    def paused(self, counts: Mapping[str, int]) -> None:
        self.paused_subscriptions.clear()
        for reason, count in counts.items():
            self.paused_subscriptions.labels(reason).set(count)

    def store_error(self, operation: str) -> None:
        """A daily-facts store operation failed (a method name of bot.daily.store.Store)."""
        self.store_errors.labels(operation[:40]).inc()

    # --- what the runner reports --------------------------------------------------------
    def reject(self, reason: str) -> None:
        self.rejected.labels(reason).inc()

    def content(self, pack_id: str, name: str, version: str, *, reloaded: bool | None = None) -> None:
        """The pack now served; `reloaded` False counts a refused reload (the old pack stays)."""
        if reloaded is False:
            self.reloads.labels("refused").inc()
            return
        self.pack.info({"id": pack_id, "name": name, "version": version})
        if reloaded:
            self.reloads.labels("loaded").inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
