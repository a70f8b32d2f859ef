"""HTTP mode against requests that are not Slack's: refused with a 4xx and one log line that
names a reason and a size, never the body; never a 500 or a traceback.

Logging is captured at DEBUG for every logger, so anything bolt, slack_sdk or aiohttp would
write about these requests is in what the tests search."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
import pytest

from tests.fakes.slack_signing import SIGNING_SECRET, signed_headers, slash_command_body

MB = 1_000_000
# A body that would forge a log line and drive the terminal if it were ever logged.
FORGERY = "text=hi\n2026-01-01 00:00:00 ERROR cytobot: FORGED LINE\x1b]0;pwned\x07\x1b[2J"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def formatted(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records)


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("refused a Slack request")]


def unsigned(content_type: str = "application/x-www-form-urlencoded") -> dict[str, str]:
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64}


async def test_twenty_unsigned_megabyte_requests_add_only_bounded_log_lines(bot: Any, fake: Any, logs: Any) -> None:
    body = ("text=" + "A" * (MB - 5)).encode()
    for _ in range(20):
        async with bot.session.post(bot.url, data=body, headers=unsigned()) as resp:
            assert resp.status == 413
    assert len(refusals(logs)) == 20
    text = formatted(logs)
    assert len(text) < 20 * 300, "each refusal is one short line"
    assert "AAAAAAAAAA" not in text
    assert all(r.getMessage() == f"refused a Slack request: body larger than the limit ({MB} bytes)" for r in refusals(logs))
    assert fake.sent() == []


async def test_a_chunked_oversized_body_is_cut_off_while_read(bot: Any, logs: Any) -> None:
    async def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(8):
            yield b"B" * 200_000

    async with bot.session.post(bot.url, data=chunks(), headers=unsigned()) as resp:
        assert resp.status == 413
    [line] = refusals(logs)
    assert line.getMessage().startswith("refused a Slack request: body larger than the limit")
    assert "BBBB" not in formatted(logs)


@pytest.mark.parametrize("signature", ["v0=" + "0" * 64, "", "v0=FORGED-signature"])
async def test_a_bad_or_missing_signature_never_logs_the_body(bot: Any, fake: Any, logs: Any, signature: str) -> None:
    headers = {**signed_headers(FORGERY, secret="not-the-secret"), "X-Slack-Signature": signature}
    if not signature:
        del headers["X-Slack-Signature"]
    resp = await bot.post(FORGERY, headers)
    assert resp.status == 401
    text = formatted(logs)
    assert "FORGED" not in text and "pwned" not in text and "\x1b" not in text and "\x07" not in text
    [line] = refusals(logs)
    assert "\n" not in line.getMessage()
    assert line.getMessage().endswith(f"({len(FORGERY.encode())} bytes)")
    assert fake.sent() == []


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        (b"text=\xff\xfe\xfd", None, 400, "body is not UTF-8"),
        (b"text=hi", {"Content-Type": "application/x-www-form-urlencoded; charset=klingon"}, 415, "charset other than UTF-8"),
        (b"text=hi", {"Content-Type": "text/plain; charset=latin-1"}, 415, "charset other than UTF-8"),
        (b"text=hi", {"X-Slack-Request-Timestamp": "yesterday"}, 401, "missing or non-numeric X-Slack-Request-Timestamp"),
        (b"text=hi", {"X-Slack-Request-Timestamp": "1e9"}, 401, "missing or non-numeric X-Slack-Request-Timestamp"),
        (b"text=hi", {"X-Slack-Request-Timestamp": "9" * 40}, 401, "missing or non-numeric X-Slack-Request-Timestamp"),
        (b"text=hi", {"X-Slack-Request-Timestamp": "1000000000"}, 401, "timestamp more than 5 minutes away"),
        (b"{not json", {"Content-Type": "application/json"}, 401, "signature does not match"),
    ],
    ids=["non-utf8", "unknown-charset", "latin1", "word-timestamp", "float-timestamp", "huge-timestamp", "stale", "bad-json-unsigned"],
)
async def test_malformed_requests_that_need_no_secret_get_a_4xx_and_one_line(
    bot: Any, fake: Any, logs: Any, body: bytes, headers: dict | None, status: int, reason: str
) -> None:
    async with bot.session.post(bot.url, data=body, headers={**unsigned(), **(headers or {})}) as resp:
        assert resp.status == status
    [line] = refusals(logs)
    assert line.getMessage() == f"refused a Slack request: {reason} ({len(body)} bytes)"
    assert not [r for r in logs.records if r.levelno >= logging.ERROR or r.exc_info]
    assert "Traceback" not in formatted(logs)
    assert fake.sent() == []


@pytest.mark.parametrize("body", ["{not json", "[1, 2, 3]", '"just a string"', "payload=%7Bbroken", "payload=%5B1%5D"])
async def test_a_signed_body_that_is_not_a_slack_payload_is_400_not_500(bot: Any, logs: Any, body: str) -> None:
    content_type = "application/json" if not body.startswith("payload") else "application/x-www-form-urlencoded"
    headers = {**signed_headers(body), "Content-Type": content_type}
    resp = await bot.post(body, headers)
    assert resp.status == 400
    [line] = refusals(logs)
    assert line.getMessage() == f"refused a Slack request: signed body is not a Slack payload ({len(body)} bytes)"
    assert not [r for r in logs.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_genuine_requests_still_work_after_an_attack(bot: Any, fake: Any, logs: Any) -> None:
    for _ in range(3):
        async with bot.session.post(bot.url, data=b"text=\xff", headers=unsigned()) as resp:
            assert resp.status == 400
    assert (await bot.command("compare severity", rid="genuine")).status == 200
    await fake.wait_for(lambda f: f.responses())
    assert [c.name for c in fake.responses()] == ["genuine"]
    assert len(refusals(logs)) == 3


async def test_refusals_are_counted_for_metrics(fake: Any, engine: Any) -> None:
    from adapters.slack.app import build_app
    from adapters.slack.http import start_http

    seen: list[str] = []
    app = build_app(engine, token="xoxb-1-test", signing_secret=SIGNING_SECRET, api_url=fake.api_url)
    server = await start_http(app, "127.0.0.1", 0, signing_secret=SIGNING_SECRET, on_refused=seen.append)
    url = f"http://127.0.0.1:{server.port}/slack/events"
    try:
        async with aiohttp.ClientSession() as session:
            for data, headers in [(b"x" * (MB), unsigned()), (b"text=hi", unsigned()), (b"\xff", unsigned())]:
                async with session.post(url, data=data, headers=headers) as resp:
                    await resp.read()
    finally:
        await server.close()
    assert seen == ["too_large", "bad_signature", "not_utf8"]


async def test_the_bolt_app_itself_never_logs_a_refused_body(fake: Any, engine: Any, logs: Any) -> None:
    """Anything that dispatches to the app directly still meets a signature check that stays quiet."""
    from slack_bolt.request.async_request import AsyncBoltRequest

    from adapters.slack.app import build_app

    app = build_app(engine, token="xoxb-1-test", signing_secret=SIGNING_SECRET, api_url=fake.api_url)
    body = slash_command_body("FORGED\x1b[2J", fake.response_url("x"))
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers={**unsigned(), "X-Slack-Request-Timestamp": "soon"}))
    assert response.status == 401
    assert "FORGED" not in formatted(logs) and "\x1b" not in formatted(logs)
    assert len(refusals(logs)) == 1
    # The mark http_application leaves on a verified request cannot be imitated with a value.
    marked = AsyncBoltRequest(body=body, headers=unsigned(), context={"cytobot_signature_verified": True})
    assert (await app.async_dispatch(marked)).status == 401


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /slack/events\x1b[2J HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Evil: a\x1b]0;pwned\x07b\r\nContent-Length: 5\r\n\r\nhello",
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Evil: FORGED\nInjected: 1\r\n\r\n",
        b"PWNED\x1b[31m /slack/events HTTP/1.1\r\n\r\n",
    ],
    ids=["escape-in-path", "escape-in-header", "bare-newline-in-header", "bad-method"],
)
async def test_requests_http_cannot_parse_are_one_line_without_their_bytes(bot: Any, logs: Any, raw: bytes) -> None:
    """Below Slack's checks: aiohttp itself would log these with a traceback quoting the bytes."""
    port = int(bot.url.split(":")[2].split("/")[0])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        assert (await asyncio.wait_for(reader.read(64), 5)).startswith(b"HTTP/1.0 400")
    finally:
        writer.close()
    await asyncio.sleep(0.05)
    text = formatted(logs)
    assert "\x1b" not in text and "pwned" not in text and "PWNED" not in text and "FORGED" not in text
    assert "Traceback" not in text and not [r for r in logs.records if r.exc_info or r.levelno >= logging.WARNING]
    [line] = [r.getMessage() for r in logs.records if r.name == "cytobot.http"]
    assert line.startswith("refused a malformed HTTP request: ") and line.endswith("(HTTP 400)")
