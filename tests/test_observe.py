"""The engine reports every request once (a log line and a CommandEvent) and swaps packs atomically."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest

from adapters.observe import Metrics
from bot.catalog import Catalog
from bot.commands import REGISTRY, Answer, CommandSpec
from bot.engine import Engine
from bot.loader import load_pack
from bot.observe import CommandEvent, Observer, Outcome
from bot.reply import CardKind
from bot.request import Caller, Origin, Request
from tests.conftest import MINI_PACK

SLACK = Caller(platform="slack", workspace="T1", channel="C123", user_id="U111", display_name="alice")


class Recorder(Observer):
    def __init__(self) -> None:
        self.events: list[CommandEvent] = []

    def command(self, event: CommandEvent) -> None:
        self.events.append(event)


@pytest.fixture
def recorded(catalog: Catalog) -> tuple[Engine, Recorder]:
    recorder = Recorder()
    return Engine(catalog, observer=recorder), recorder


@pytest.mark.parametrize(("line", "command", "outcome"), [
    ("compare severity", "compare", Outcome.OK),
    ("/crs topic IL6", "topic", Outcome.OK),
    ("topic no-such-topic-zebrafish", "topic", Outcome.USER_ERROR),
    ("zebrafish wobble", "ask", Outcome.USER_ERROR),  # a question the pack does not cover
    ("x" * 5000, "none", Outcome.USER_ERROR),
    ("", "help", Outcome.OK),
])
def test_each_typed_line_is_one_event_named_by_the_registry(recorded, line, command, outcome) -> None:
    engine, recorder = recorded
    engine.execute(line, caller=SLACK)
    [event] = recorder.events
    assert (event.platform, event.command, event.origin, event.outcome) == ("slack", command, "command", outcome)
    assert event.seconds >= 0


async def test_options_buttons_and_unknown_commands_are_reported_too(recorded) -> None:
    engine, recorder = recorded
    await engine.handle(Request.options("about", {}, SLACK))
    await engine.handle(Request.text("fact today", SLACK, public=True, origin=Origin.BUTTON))
    await engine.handle(Request.options("rm -rf", {}, SLACK))
    assert [(e.command, e.origin, e.outcome) for e in recorder.events] == [
        ("about", "command", Outcome.OK), ("fact", "button", Outcome.OK), ("none", "command", Outcome.USER_ERROR)]


async def test_a_failing_handler_is_an_error_event_and_still_a_polite_reply(catalog) -> None:
    def boom(ctx, args):
        raise RuntimeError("bug")

    registry = (*REGISTRY, CommandSpec("boom", "fails", "boom", boom))
    recorder = Recorder()
    engine = Engine(catalog, registry=registry, observer=recorder)
    reply = await engine.handle(Request.text("boom", SLACK))
    assert reply.is_error and "went wrong" in reply.cards[0].body
    assert [(e.command, e.outcome) for e in recorder.events] == [("boom", Outcome.ERROR)]


def test_a_broken_observer_never_costs_the_answer(catalog, caplog) -> None:
    class Broken(Observer):
        def command(self, event: CommandEvent) -> None:
            raise ValueError("metrics down")

    engine = Engine(catalog, observer=Broken())
    assert not engine.execute("compare severity").is_error
    assert not engine.execute("topic crs").is_error
    assert caplog.text.count("command observer failed") == 2


def test_the_log_line_names_the_command_but_never_the_typed_text(catalog, caplog) -> None:
    engine = Engine(catalog)
    with caplog.at_level(logging.INFO, logger="bot.commands.log"):
        engine.execute("search zebrafish hypotension", caller=SLACK)
    [record] = [r for r in caplog.records if r.name == "bot.commands.log"]
    assert record.getMessage().startswith("slack search via command: ok in ")
    assert (record.platform, record.command, record.outcome) == ("slack", "search", "ok")  # type: ignore[attr-defined]
    assert "zebrafish" not in caplog.text and "U111" not in caplog.text and "C123" not in caplog.text


def test_prometheus_observer_counts_by_command_platform_and_outcome(catalog) -> None:
    metrics = Metrics()
    engine = Engine(catalog, observer=metrics)
    for line in ("compare severity", "compare severity", "topic zebrafish"):
        engine.execute(line, caller=SLACK)
    text = metrics.exposition().decode()
    assert 'cytobot_commands_total{command="compare",outcome="ok",platform="slack"} 2.0' in text
    assert 'cytobot_commands_total{command="topic",outcome="user_error",platform="slack"} 1.0' in text
    assert 'cytobot_command_duration_seconds_count{command="compare",platform="slack"} 2.0' in text
    assert "process_resident_memory_bytes" in text
    assert "zebrafish" not in text and "U111" not in text


def test_replace_catalog_swaps_the_pack_and_moves_the_generation(engine) -> None:
    before = engine.generation
    mini = Catalog(load_pack(MINI_PACK))
    after = engine.replace_catalog(mini)
    assert after > before and engine.generation == after and engine.catalog is mini
    assert engine.execute("topic alpha").command == "topic alpha"
    assert engine.execute("topic il6").is_error  # the old pack's topics are gone


async def test_a_request_in_progress_keeps_the_pack_it_started_with(catalog) -> None:
    """The swap replaces one object; a handler that waits still sees the context it began with."""
    release = asyncio.Event()

    async def slow(ctx, args):
        await release.wait()
        return Answer((ctx.cards.card(ctx.catalog.info.name, body="x", kind=CardKind.ABOUT),))

    engine = Engine(catalog, registry=(*REGISTRY, CommandSpec("slow", "waits", "slow", slow)))
    task = asyncio.create_task(engine.handle(Request.text("slow")))
    await asyncio.sleep(0)
    engine.replace_catalog(Catalog(load_pack(MINI_PACK)))
    release.set()
    reply = await task
    assert reply.cards[0].title == catalog.info.name  # the pack it started with
    assert (await engine.handle(Request.text("slow"))).cards[0].title == "Mini pack"


def test_context_swap_keeps_services_clock_and_prefix(catalog) -> None:
    engine = Engine(catalog, prefix="/cyto", services={"daily": object()})
    services = engine._ctx.services
    engine.replace_catalog(Catalog(load_pack(MINI_PACK)))
    assert engine._ctx.services is services and engine._ctx.prefix == "/cyto"
    assert replace(engine._ctx).catalog.info.id == "mini"
