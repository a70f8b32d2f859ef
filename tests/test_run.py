"""`cytobot run` as a real process, with Slack (HTTP mode) and Discord pointed at the loopback
fakes: health, readiness, metrics that move, SIGTERM drain with an answer in flight, content
reload (good edit, broken edit, SIGHUP), and logs at DEBUG that carry no secret and no body."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.conftest import MINI_PACK
from tests.fakes.bot_process import DISCORD_TOKEN, SECRETS, BotProcess, free_port, interaction, platform_env
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import event_callback, message_event, signed_headers, signed_json_headers, slash_command_body

TYPED = "compare severity zebrafish-7781"  # words a user typed: must never reach the log
HOSTILE = "command=%2Fcrs&text=HOSTILE-BODY-5521"  # sent with a forged signature

Start = Callable[..., Awaitable[BotProcess]]


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeSlack, FakeDiscord]]:
    slack, discord = await FakeSlack().start(), await FakeDiscord(token=DISCORD_TOKEN).start()
    yield slack, discord
    await slack.stop()
    await discord.stop()


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    bots: list[BotProcess] = []

    async def _start(env: dict[str, str], args: tuple[str, ...] = ("run",)) -> BotProcess:
        bot = await BotProcess.start(env, cwd=tmp_path, args=args)
        bots.append(bot)
        return bot

    yield _start
    for bot in bots:
        await bot.close()


def pack_copy(tmp_path: Path) -> Path:
    content = tmp_path / "pack"
    shutil.copytree(MINI_PACK, content)
    return content


async def test_run_serves_both_platforms_with_health_metrics_and_a_drain(fakes, start, bundled_pack) -> None:
    slack, discord = fakes
    info = bundled_pack.info
    bot = await start(platform_env(slack, discord) | {"CYTOBOT_LOG_LEVEL": "DEBUG"})
    assert await bot.wait_until("/healthz") == "ok"
    assert (await bot.wait_until("/readyz")).strip() == "ready"  # Slack token verified, Discord gateway up
    assert slack.api_calls("auth.test")
    before = await bot.metrics()
    assert before[("cytobot_content_pack_info", (("id", info.id), ("name", info.name), ("version", info.version)))] == 1

    # One port: Slack's events arrive on the same server as the probes.
    assert await bot.slash(slack, TYPED, "s1") == 200
    await slack.wait_for(lambda f: f.responses())
    call = await discord.interact(interaction(discord, "topic", {"query": "zebrafish-7781"}))
    assert call.body["type"] == 4
    forged = signed_headers(HOSTILE, secret="not-the-signing-secret")
    assert await bot.post("/slack/events", HOSTILE, forged) == 401

    await bot.wait_metric("cytobot_commands_total", 1, command="compare", platform="slack", outcome="ok")
    after = await bot.metrics()
    assert after[("cytobot_commands_total", (("command", "topic"), ("outcome", "user_error"), ("platform", "discord")))] == 1
    assert after[("cytobot_command_duration_seconds_count", (("command", "compare"), ("platform", "slack")))] == 1
    assert after[("cytobot_requests_rejected_total", (("reason", "bad_signature"),))] == 1
    assert ("cytobot_commands_total", (("command", "compare"), ("outcome", "ok"), ("platform", "slack"))) not in before
    labels = {value for (_, pairs) in after for _, value in pairs}
    assert not {"U111", "C123", "alice", "1100000000000000004"} & labels  # no user or channel ids

    # SIGTERM with an answer still in flight: readiness turns false, the answer is delivered, exit 0.
    slack.response_delay = 1.0
    assert await bot.slash(slack, "about", "late") == 200  # acked; the answer is on its way
    bot.signal(signal.SIGTERM)
    assert "draining" in await bot.wait_until("/readyz", status=503, timeout=5)
    assert await bot.wait() == 0
    assert [c.name for c in slack.responses()] == ["s1", "late"]

    out = bot.output
    assert "DEBUG" in out and "slack compare via command: ok" in out and "discord topic via command: user_error" in out
    for secret in SECRETS:
        assert secret not in out
    for body_part in ("zebrafish", "HOSTILE-BODY", "response_url", slash_command_body("x", "y")[:40]):
        assert body_part not in out


async def test_readyz_is_503_with_the_reason_while_an_adapter_is_not_connected(fakes, start) -> None:
    slack, discord = fakes
    env = platform_env(slack, discord) | {"DISCORD_GATEWAY_URL": "ws://127.0.0.1:9/gateway"}  # nothing listens
    bot = await start(env)
    await bot.wait_until("/healthz")
    await slack.wait_for(lambda f: f.api_calls("auth.test"), timeout=20)
    for _ in range(100):  # Slack is verified and daily facts (started after the platforms) reached
        status, reasons = await bot.get("/readyz")  # their local database: only Discord is left
        if "slack" not in reasons and "daily facts" not in reasons:
            break
        await asyncio.sleep(0.05)
    assert status == 503
    assert reasons.strip() == "discord: connecting to the gateway"
    for secret in SECRETS:
        assert secret not in reasons


async def test_platforms_unreachable_at_start_are_retried_until_they_answer(start) -> None:
    """Nothing listens where Slack and Discord should be: the bot stays up, says why it is not
    ready (one line per platform, no traceback), and becomes ready once they appear."""
    slack, discord = FakeSlack(), FakeDiscord(token=DISCORD_TOKEN)
    slack.port, discord.port = free_port(), free_port()  # the URLs of fakes not started yet
    bot = await start(platform_env(slack, discord))
    await bot.wait_until("/healthz")
    for _ in range(200):
        status, reasons = await bot.get("/readyz")
        if "cannot reach Slack" in reasons and "cannot reach Discord" in reasons:
            break
        await asyncio.sleep(0.05)
    assert status == 503 and "cannot reach Slack" in reasons and "cannot reach Discord" in reasons, reasons
    await slack.start(slack.port)
    await discord.start(discord.port)
    try:
        assert (await bot.wait_until("/readyz", timeout=30)).strip() == "ready"
        assert "Traceback" not in bot.output and "cannot reach Discord" in bot.output
    finally:
        bot.signal(signal.SIGTERM)
        assert await bot.wait() == 0
        await slack.stop()
        await discord.stop()


async def test_reload_takes_a_good_edit_refuses_a_broken_one_and_obeys_sighup(fakes, start, tmp_path) -> None:
    slack, _ = fakes
    content = pack_copy(tmp_path)
    env = platform_env(slack, None) | {"CYTOBOT_CONTENT_DIR": str(content), "CYTOBOT_CONTENT_POLL_SECONDS": "0.1"}
    bot = await start(env)
    await bot.wait_until("/readyz")
    pack = content / "pack.yaml"
    pack.write_text(pack.read_text().replace('version: "0.1"', 'version: "0.2"'))
    await bot.wait_metric("cytobot_content_reloads_total", 1, outcome="loaded")
    assert await bot.metric("cytobot_content_pack_info", id="mini", name="Mini pack", version="0.2") == 1
    assert await bot.slash(slack, "about", "v2") == 200
    await slack.wait_for(lambda f: f.responses())
    assert "0.2" in json.dumps(slack.responses()[-1].body)

    topics = content / "topics.yaml"
    good = topics.read_text()
    topics.write_text(good.replace("summary:", "sumary:", 1) + "\n  - id: Bad Id\n")
    await bot.wait_metric("cytobot_content_reloads_total", 1, outcome="refused")
    await bot.wait_output("cross-file checks")  # the last problem line of a refused reload
    problems = [line for line in bot.lines if "topics.yaml:" in line]
    assert len(problems) >= 2  # every problem is logged, each with file and line
    assert await bot.slash(slack, "about", "still") == 200  # the old pack keeps serving
    await slack.wait_for(lambda f: len(f.responses()) == 2)
    assert "0.2" in json.dumps(slack.responses()[-1].body)
    assert (await bot.get("/readyz"))[0] == 200

    topics.write_text(good)
    await bot.wait_metric("cytobot_content_reloads_total", 2, outcome="loaded")
    bot.signal(signal.SIGHUP)
    await bot.wait_metric("cytobot_content_reloads_total", 3, outcome="loaded")
    await bot.wait_output("content reloaded (SIGHUP)")
    bot.signal(signal.SIGTERM)
    assert await bot.wait() == 0


async def test_run_without_platforms_serves_the_http_endpoints_only(start) -> None:
    bot = await start({"CYTOBOT_LOG_FORMAT": "json"})
    assert (await bot.wait_until("/readyz")).strip() == "ready"
    await bot.wait_output("no chat platform configured")
    bot.signal(signal.SIGINT)
    assert await bot.wait() == 0
    records = [json.loads(line) for line in bot.lines]  # JSON format: every line is one object
    assert any(r["level"] == "WARNING" and "cytobot console" in r["message"] for r in records)


@pytest.mark.parametrize(("env", "named"), [
    ({"CYTOBOT_HTTP_PORT": "80800"}, "CYTOBOT_HTTP_PORT"),
    ({"CYTOBOT_LOG_FORMAT": "xml"}, "CYTOBOT_LOG_FORMAT"),
    ({"SLACK_BOT_TOKEN": "xoxb-secret-value-123"}, "SLACK_SIGNING_SECRET"),
    ({"DISCORD_TOKEN": "not-a-token-secret-987"}, "DISCORD_TOKEN"),
])
async def test_a_wrong_setting_stops_start_up_with_exit_78_naming_it(start, env, named) -> None:
    bot = await start(env)
    assert await bot.wait() == 78
    assert named in bot.output and len(bot.output.strip().splitlines()) == 1
    assert "secret-value" not in bot.output and "secret-987" not in bot.output


async def test_a_rejected_token_stops_run_with_one_line(fakes, start) -> None:
    slack, discord = fakes
    bot = await start(platform_env(None, discord) | {"DISCORD_TOKEN": "MTEw.wrong.token"})
    assert await bot.wait() == 2
    assert "DISCORD_TOKEN was rejected" in bot.output and "Traceback" not in bot.output


async def test_slack_log_level_option_is_obeyed(fakes, start) -> None:
    """`cytobot slack --log-level ERROR` used to be ignored (logging was set up before the option
    was read): the start-up INFO lines must be gone with ERROR and present with INFO."""
    slack, _ = fakes
    outputs = {}
    for level in ("ERROR", "INFO"):
        bot = await start(platform_env(slack, None), args=("slack", "--http", "--host", "127.0.0.1", "--port", "0",
                                                          "--log-level", level))
        calls = len(slack.api_calls("auth.test")) + 1
        try:
            await slack.wait_for(lambda f: len(f.api_calls("auth.test")) >= calls, timeout=20)
        except TimeoutError:  # say why: a process that exited, or one still starting
            raise AssertionError(f"no auth.test from `cytobot slack --log-level {level}` in 20 s "
                                 f"(exit code {bot.proc.returncode}):\n{bot.output}") from None
        if level == "INFO":
            await bot.wait_output("bot token verified")
        else:
            await asyncio.sleep(0.5)  # time to log what it would log after auth.test, were INFO on
        bot.signal(signal.SIGTERM)
        assert await bot.wait() == 0
        outputs[level] = bot.output
    assert "INFO" not in outputs["ERROR"]
    assert "INFO" in outputs["INFO"] and "bot token verified" in outputs["INFO"]


async def test_two_replicas_on_one_database_answer_a_retried_mention_once(fakes, start, tmp_path) -> None:
    """`cytobot run` wires the Slack app to the database it opened: a retry of an @mention that
    the load balancer sends to another replica is recognised there, and the question gets one answer."""
    slack, _ = fakes
    env = platform_env(slack, None) | {"CYTOBOT_DATABASE_URL": f"sqlite:///{tmp_path}/shared.db"}
    first, second = await start(env), await start(env)
    for bot in (first, second):
        await bot.wait_until("/readyz")
    body = json.dumps(event_callback(message_event("<@UBOT> what is HLH", ts="1700002000.000100"), event_id="EvP1"))
    assert await first.post("/slack/events", body, signed_json_headers(body)) == 200
    await slack.wait_for(lambda f: f.posted["C123"] == 1)
    assert await second.post("/slack/events", body, signed_json_headers(body, retry=1)) == 200
    await second.wait_output("mention in C123 already answered; delivery ignored (retry 1)")
    assert slack.posted["C123"] == 1
    for bot in (first, second):
        bot.signal(signal.SIGTERM)
        assert await bot.wait() == 0
    assert "what is HLH" not in first.output + second.output
