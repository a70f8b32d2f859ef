"""Slack HTTP mode just started, its bot token not yet verified (`auth.test` unanswered): a real
`cytobot run` acks every signed request and says "starting up, try again" instead of HTTP 500;
an event is answered 503 so Slack sends it again; an unsigned request is still refused."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.slack.http import STARTING
from tests.fakes.bot_process import BotProcess, free_port, platform_env
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import (action_body, event_callback, message_event, share_payload, signed_headers,
                                       signed_json_headers, slash_command_body)


async def test_requests_before_auth_test_answered_get_an_ack_and_try_again(tmp_path: Path) -> None:
    slack = await FakeSlack().start()  # response_url lives here; the Web API is unreachable
    env = platform_env(slack, None) | {"SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/"}
    bot = await BotProcess.start(env, cwd=tmp_path)
    try:
        await bot.wait_until("/healthz")
        await bot.wait_output("cannot reach Slack")
        assert (await bot.get("/readyz"))[0] == 503

        body = slash_command_body("about", slack.response_url("early"))
        async with bot.session.post(bot.url + "/slack/events", data=body, headers=signed_headers(body)) as resp:
            assert resp.status == 200
            answer = await resp.json()
        assert answer == {"response_type": "ephemeral", "text": STARTING}

        click = action_body(share_payload("about", slack.response_url("click")))
        assert await bot.post("/slack/events", click, signed_headers(click)) == 200
        await slack.wait_for(lambda f: any(c.name == "click" for c in f.responses()), timeout=10)
        told = next(c for c in slack.responses() if c.name == "click").body
        assert told["text"] == STARTING and told["response_type"] == "ephemeral" and told["replace_original"] is False

        event = json.dumps(event_callback(message_event("about", channel="D1", kind="message")))
        assert await bot.post("/slack/events", event, signed_json_headers(event)) == 503  # Slack retries it later

        unsigned = slash_command_body("about", slack.response_url("forged"))
        assert await bot.post("/slack/events", unsigned, signed_headers(unsigned, secret="wrong")) == 401
        assert "Traceback" not in bot.output and "unhandled error" not in bot.output
        assert "about" not in "".join(line for line in bot.lines if "cytobot.slack" in line)  # never what was typed
    finally:
        await bot.close()
        await slack.stop()
