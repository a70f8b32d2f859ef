"""The runner's order of start, drain and close; readiness reasons; the HTTP routes and the
count of refused requests, on the real Slack HTTP application."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from adapters import run as run_module
from adapters.http import HttpServer, application
from adapters.inflight import Inflight
from adapters.observe import Metrics
from adapters.run import Component, Fatal, Readiness, Runner
from adapters.slack.app import build_app, http_application
from tests.fakes.slack_signing import SIGNING_SECRET


class Part(Component):
    """A stand-in component that records what the runner asked of it."""

    def __init__(self, name: str, calls: list[str], *, reason: str | None = None, dies: BaseException | None = None):
        self.name, self.calls, self.reason, self.dies = name, calls, reason, dies

    async def start(self) -> None:
        self.calls.append(f"start {self.name}")
        if self.dies is not None:
            async def die() -> None:
                await asyncio.sleep(0.01)
                raise self.dies  # type: ignore[misc]
            self.task = asyncio.create_task(die())

    async def check(self) -> str | None:
        return self.reason

    async def drain(self) -> None:
        self.calls.append(f"drain {self.name}")

    async def close(self) -> None:
        self.calls.append(f"close {self.name}")

    def failure(self, exc: BaseException) -> Fatal:
        return Fatal(f"{self.name} lost: {exc}", 2)


async def test_stop_drains_in_reverse_waits_for_work_in_flight_then_closes() -> None:
    calls: list[str] = []
    inflight = Inflight()
    runner = Runner([Part("a", calls), Part("b", calls)], drain_seconds=5, inflight=inflight)

    async def answer_in_flight() -> None:
        with inflight.track():
            await asyncio.sleep(0.2)
            calls.append("answer sent")

    running = asyncio.create_task(runner.run())
    await asyncio.sleep(0.05)
    work = asyncio.create_task(answer_in_flight())
    await asyncio.sleep(0)
    runner.stop()
    assert await running == 0
    await work
    assert calls == ["start a", "start b", "drain b", "drain a", "answer sent", "close b", "close a"]
    assert await runner.readiness.reasons() == ["draining: shutting down"]


async def test_drain_time_is_bounded(caplog) -> None:
    inflight = Inflight()
    runner = Runner([Part("a", [])], drain_seconds=0.1, inflight=inflight)
    with inflight.track():  # never finishes
        running = asyncio.create_task(runner.run())
        await asyncio.sleep(0.05)
        runner.stop()
        assert await asyncio.wait_for(running, 5) == 0
    assert "1 answer(s) still in flight" in caplog.text


async def test_a_dying_component_stops_the_process_with_its_reason(capsys) -> None:
    calls: list[str] = []
    runner = Runner([Part("a", calls), Part("b", calls, dies=PermissionError("token revoked"))], drain_seconds=1)
    assert await asyncio.wait_for(runner.run(), 5) == 2
    assert capsys.readouterr().err.strip() == "cytobot run: b lost: token revoked"
    assert calls[-2:] == ["close b", "close a"] and not any(c.startswith("drain") for c in calls)


async def test_readiness_lists_every_reason_and_survives_broken_checks(monkeypatch) -> None:
    class Broken(Part):
        async def check(self) -> str | None:
            raise RuntimeError("oops")

    class Slow(Part):
        async def check(self) -> str | None:
            await asyncio.sleep(5)
            return None

    monkeypatch.setattr(run_module, "CHECK_TIMEOUT", 0.05)
    readiness = Readiness([Part("ok", []), Part("slack", [], reason="slack: connecting"), Broken("db", []), Slow("x", [])])
    assert await readiness.reasons() == ["slack: connecting", "db: readiness check failed (RuntimeError)",
                                         "x: readiness check timed out"]


@pytest.fixture
async def server():
    metrics = Metrics()
    parts = [Part("slack", [], reason=None)]
    readiness = Readiness(parts)
    bolt = build_app(_Engine(), token="xoxb-1-test", signing_secret=SIGNING_SECRET, api_url="http://127.0.0.1:9/api/")
    http = HttpServer(application(readiness, metrics, http_application(bolt, SIGNING_SECRET)), "127.0.0.1", 0)
    await http.start()
    async with aiohttp.ClientSession(f"http://127.0.0.1:{http.port}") as session:
        yield session, metrics, parts[0]
    await http.close()


class _Engine:
    async def handle(self, request):  # never reached: nothing here is signed
        raise AssertionError("unsigned request reached the engine")


async def test_routes_share_the_slack_port_and_refusals_are_counted(server) -> None:
    session, metrics, slack = server
    async with session.get("/healthz") as r:
        assert (r.status, await r.text()) == (200, "ok")
    async with session.get("/readyz") as r:
        assert (r.status, await r.text()) == (200, "ready\n")
    slack.reason = "slack: verifying the bot token"
    async with session.get("/readyz") as r:
        assert (r.status, await r.text()) == (503, "slack: verifying the bot token\n")
    async with session.post("/slack/events", data=b"x" * (2 * 1024 * 1024)) as r:
        assert r.status == 413
    async with session.post("/slack/events", data="command=%2Fcrs&text=hi",
                            headers={"Content-Type": "application/x-www-form-urlencoded",
                                     "X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=00"}) as r:
        assert r.status == 401
    async with session.get("/wp-admin") as r:
        assert r.status == 404
    async with session.get("/metrics") as r:
        assert r.headers["Content-Type"].startswith("text/plain")
        text = await r.text()
    for reason, count in (("too_large", 1), ("bad_signature", 1), ("not_found", 1), ("malformed", 0)):
        assert f'cytobot_requests_rejected_total{{reason="{reason}"}} {count:.1f}' in text
