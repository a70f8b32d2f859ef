"""The engine keeps replies that depend only on the pack, and nothing else: never today's or a
random fact, never an answer that read the caller or a service or waited on I/O, never an
internal error, and never across a pack swap."""

from __future__ import annotations

import random
from datetime import timedelta

from bot.catalog import Catalog
from bot.commands import REGISTRY, Answer, CommandSpec
from bot.engine import Engine
from bot.loader import load_pack
from bot.reply import CardKind
from bot.request import Caller, Request
from tests.conftest import FIXED_NOW, MINI_PACK

ALICE = Caller(platform="slack", workspace="T1", channel="C1", user_id="U1", display_name="alice")
BOB = Caller(platform="slack", workspace="T1", channel="C2", user_id="U2", display_name="bob")


def answer(ctx, title: str) -> Answer:  # type: ignore[no-untyped-def]
    return Answer((ctx.cards.card(title, kind=CardKind.HELP),), "test")


def spec(name: str, handler) -> CommandSpec:  # type: ignore[no-untyped-def]
    return CommandSpec(name=name, summary=f"test {name}", usage=name, handler=handler)


def test_a_repeated_lookup_is_the_same_reply_whoever_asks(engine: Engine) -> None:
    first = engine.execute("compare severity", caller=ALICE)
    assert engine.execute("compare severity", caller=BOB) is first
    assert engine.execute("compare severity", public=True) is not first  # another key
    assert engine.invoke("compare", {"aspect": "severity"}) is engine.invoke("compare", {"aspect": "severity"})


def test_todays_fact_follows_the_clock(catalog: Catalog) -> None:
    now = [FIXED_NOW]
    engine = Engine(catalog, clock=lambda: now[0], rng=random.Random(1))
    seen = []
    for day in range(6):
        now[0] = FIXED_NOW + timedelta(days=day)
        reply = engine.execute("fact today")
        assert reply == Engine(catalog, clock=lambda: now[0]).execute("fact today")
        seen.append(reply.cards[0].body)
    assert len(set(seen)) > 1


def test_a_random_fact_is_drawn_each_time(catalog: Catalog) -> None:
    engine = Engine(catalog, rng=random.Random(3))
    assert len({engine.execute("fact random").cards[0].body for _ in range(20)}) > 1


def test_an_answer_that_reads_the_caller_or_a_service_is_never_kept(catalog: Catalog) -> None:
    registry = (*REGISTRY,
                spec("whoami", lambda ctx, args: answer(ctx, ctx.caller.display_name)),
                spec("stored", lambda ctx, args: answer(ctx, str(ctx.services["counter"]()))))
    counter = iter(range(100))
    engine = Engine(catalog, registry=registry, services={"counter": lambda: next(counter)})
    assert engine.execute("whoami", caller=ALICE).cards[0].title == "alice"
    assert engine.execute("whoami", caller=BOB).cards[0].title == "bob"
    assert [engine.execute("stored").cards[0].title for _ in range(3)] == ["0", "1", "2"]


def test_an_answer_that_waits_on_io_is_never_kept(catalog: Catalog) -> None:
    calls = []

    async def slow(ctx, args):  # type: ignore[no-untyped-def]
        calls.append(1)
        return answer(ctx, f"call {len(calls)}")

    engine = Engine(catalog, registry=(*REGISTRY, spec("slow", slow)))
    import asyncio

    titles = [asyncio.run(engine.handle(Request.text("slow", ALICE))).cards[0].title for _ in range(2)]
    assert titles == ["call 1", "call 2"]


def test_an_internal_error_is_not_kept(catalog: Catalog) -> None:
    calls = []

    def flaky(ctx, args):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("transient")
        return answer(ctx, "fine")

    engine = Engine(catalog, registry=(*REGISTRY, spec("flaky", flaky)))
    assert engine.execute("flaky").cards[0].title == "Sorry, that failed"
    assert engine.execute("flaky").cards[0].title == "fine"
    assert engine.execute("flaky") is engine.execute("flaky")


def test_swapping_the_pack_empties_the_cache(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    root = tmp_path / "pack"
    shutil.copytree(MINI_PACK, root)
    engine = Engine(Catalog(load_pack(root)))
    before = engine.execute("topic beta")
    topics = root / "topics.yaml"
    topics.write_text(topics.read_text().replace("Beta is a made-up storm of signals.", "Beta, reloaded."))
    reloaded = Catalog(load_pack(root))
    engine.replace_catalog(reloaded)  # a reload, as the running bot does it
    after = engine.execute("topic beta")
    assert "Beta, reloaded." in after.cards[0].body and "Beta, reloaded." not in before.cards[0].body


def test_the_cache_is_bounded(catalog: Catalog) -> None:
    engine = Engine(catalog)
    engine._replies.size = 10
    for n in range(50):
        engine.execute(f"search word{n}")
    assert len(engine._replies._entries) == 10
