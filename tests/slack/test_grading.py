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


async def test_slash_grade_without_fever_asks_about_treatment_with_the_red_flag_first(bot: Any, fake: Any) -> None:
    """The review's case over Slack: no fever, several vasopressors, positive pressure, treated left out."""
    assert (await bot.command("grade crs fever=no hypotension=vasopressors hypoxia=positive-pressure")).status == 200
    await fake.wait_for(lambda f: f.responses())
    [sent] = fake.responses()
    assert sent.body["response_type"] == "ephemeral"
    assert check_message(sent.body) == []
    everything = json.dumps(sent.body["blocks"], ensure_ascii=False)
    assert "CRS: one more answer needed" in everything and "No CRS" not in everything and "Grade 4 CRS" not in everything
    assert everything.index("Red flag: urgent review") < everything.index("premedication")
    assert "consider sepsis" in everything
    line = "/crs grade crs fever=no hypotension=vasopressors hypoxia=positive-pressure"
    assert f"{line} treated=yes" in everything and f"{line} treated=no" in everything


async def test_slash_grade_refuses_an_ice_score_with_a_decimal_point(bot: Any, fake: Any) -> None:
    assert (await bot.command("grade icans ice=1.0 consciousness=alert seizure=none motor=none edema=none")).status == 200
    await fake.wait_for(lambda f: f.responses())
    [sent] = fake.responses()
    assert check_message(sent.body) == []
    everything = json.dumps(sent.body["blocks"], ensure_ascii=False)
    assert "“1.0” is not an answer I accept" in everything and "No ICANS" not in everything
    assert "ice=10 | 9 | 8 | 7 | 6 | 5 | 4 | 3 | 2 | 1 | 0" in everything


async def test_slash_grade_not_graded_card_for_no_fever_with_the_red_flag(bot: Any, fake: Any, engine: Any) -> None:
    text = "grade crs fever=no hypotension=vasopressors hypoxia=positive-pressure treated=no"
    assert (await bot.command(text)).status == 200
    await fake.wait_for(lambda f: f.responses())
    [sent] = fake.responses()
    assert sent.body["blocks"] == render_message(engine.execute(text))["blocks"]
    assert check_message(sent.body) == []
    everything = json.dumps(sent.body["blocks"], ensure_ascii=False)
    assert "Not graded as CRS: the ASTCT definition needs fever of at least 38 °C" in everything
    assert "No CRS" not in everything
    assert everything.index("Red flag: urgent review") < everything.index("No fever, and no antipyretic")
    assert "Confirm the grade at the bedside" in everything and "ICANS is graded separately" in everything
