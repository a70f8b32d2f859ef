"""`/crs grade crs ...` through the real bolt app over signed HTTP answers the grade card."""

from __future__ import annotations

import json
from typing import Any

from adapters.slack.render import render_message
from tests.slack.blockkit_check import check_message


async def test_slash_grade_answers_the_grade_card(bot: Any, fake: Any, engine: Any) -> None:
    text = "grade crs fever=yes hypotension=vasopressor hypoxia=low-flow"
    assert (await bot.command(text)).status == 200
    await fake.wait_for(lambda f: f.responses())
    [sent] = fake.responses()
    reply = engine.execute(text)
    assert not reply.is_error and reply.cards[0].title == "Grade 3 CRS"
    assert sent.body["response_type"] == "ephemeral"
    assert sent.body["blocks"] == render_message(reply)["blocks"]
    assert check_message(sent.body) == []
    everything = json.dumps(sent.body["blocks"], ensure_ascii=False)
    assert "Grade 3 CRS" in everything and "Decided by hypotension=vasopressor (grade 3)" in everything
    assert engine.catalog.sources["lee19"].title in everything
    [actions] = [b for b in sent.body["blocks"] if b["type"] == "actions"]
    assert [e["value"] for e in actions["elements"]] == ["grade crs fever=yes hypotension=vasopressor hypoxia=low-flow"]


async def test_slash_grade_with_a_missing_answer_lists_the_accepted_values(bot: Any, fake: Any) -> None:
    assert (await bot.command("grade icans ice=8 seizure: rapid")).status == 200
    await fake.wait_for(lambda f: f.responses())
    [sent] = fake.responses()
    assert sent.body["response_type"] == "ephemeral"
    assert check_message(sent.body) == []
    everything = json.dumps(sent.body["blocks"], ensure_ascii=False)
    assert "consciousness=alert | spontaneous | voice | touch | unarousable" in everything
