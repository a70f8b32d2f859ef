"""The render cache answers a reply with exactly what rendering it would, and never a stale card:
the key is the reply itself, so another day's fact or a reloaded pack is another key."""

from __future__ import annotations

import random
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from adapters.slack.app import render_cached
from adapters.slack.render import render_message
from bot.cache import load_catalog
from bot.catalog import Catalog
from bot.engine import Engine
from bot.loader import load_pack
from bot.reply import Card, Field, Footer, Reply
from tests.conftest import MINI_PACK

DAY = datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)


def test_same_reply_same_message_and_a_fresh_dict_each_time(engine: Engine) -> None:
    first = render_cached(engine.execute("compare severity"))
    second = render_cached(engine.execute("compare severity"))
    assert first == second == render_message(engine.execute("compare severity"))
    assert first is not second
    first["response_type"] = "in_channel"  # what a caller adds stays its own
    assert "response_type" not in render_cached(engine.execute("compare severity"))


def test_fact_today_changes_with_the_day_and_random_with_the_draw(catalog: Catalog) -> None:
    shown = set()
    for days in range(3):
        engine = Engine(catalog, clock=lambda d=days: DAY + timedelta(days=d), rng=random.Random(days))
        for line in ("fact today", "fact random"):
            reply = engine.execute(line)
            message = render_cached(reply)
            assert message == render_message(reply)
            shown.add(message["text"])
    assert len(shown) > 2


def test_a_reloaded_pack_is_never_answered_from_the_old_one(tmp_path: Path) -> None:
    root = tmp_path / "pack"
    shutil.copytree(MINI_PACK, root)
    before = Engine(Catalog(load_pack(root)))
    old = render_cached(before.execute("topic beta"))
    topics = root / "topics.yaml"
    topics.write_text(topics.read_text().replace("Beta is a made-up storm of signals.", "Beta, reloaded."))
    after = Engine(load_catalog(root, cache_dir=None))
    new = render_cached(after.execute("topic beta"))
    assert "Beta, reloaded." in new["text"] and "Beta, reloaded." not in old["text"]
    assert new == render_message(after.execute("topic beta"))


def test_shared_by_is_part_of_the_key(engine: Engine) -> None:
    reply = engine.execute("compare severity", public=True)
    assert "alice" in render_cached(reply, shared_by="alice")["text"]
    assert "bob" in render_cached(reply, shared_by="bob")["text"]
    assert "Shared by" not in render_cached(reply)["text"]


def test_an_unhashable_reply_is_rendered_afresh() -> None:
    card = Card(title="T", footer=Footer("not medical advice"), fields=[Field("a", "b")])  # type: ignore[arg-type]
    reply = Reply((card,))
    assert render_cached(reply) == render_message(reply)
