"""A real `cytobot run` (no chat platform configured) in front of the test PostgreSQL through the
cuttable proxy (issue 16, items 2 and 9): a database down at start is retried with the reason
in /readyz instead of exit 1, and a database that stops answering later turns /readyz within
the check's cache, with the errors counted on /metrics."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.bot_process import BotProcess
from tests.fakes.tcp_proxy import TcpProxy

FAST = {"CYTOBOT_DATABASE_CONNECT_TIMEOUT": "1", "CYTOBOT_DATABASE_STATEMENT_TIMEOUT": "1",
        "CYTOBOT_DATABASE_READY_CACHE": "0.5"}


async def test_down_at_start_then_blackholed_readiness_follows_the_database(postgres_url: str, tmp_path: Path) -> None:
    proxy, url = await TcpProxy.before(postgres_url)
    proxy.set("refuse")
    bot = await BotProcess.start({"CYTOBOT_DATABASE_URL": url, **FAST}, cwd=tmp_path, args=("run",))
    try:
        await bot.wait_until("/healthz")
        await bot.wait_output("cannot reach the database")
        status, reasons = await bot.get("/readyz")
        assert status == 503 and "daily facts: cannot reach the database" in reasons, reasons
        assert bot.proc.returncode is None  # before: exit 1, a restart loop under Compose
        proxy.set("pass")
        assert (await bot.wait_until("/readyz", 200, timeout=90)).strip() == "ready"
        # Later the database hangs: no platform is configured, and still /readyz says so.
        proxy.set("blackhole")
        reasons = await bot.wait_until("/readyz", 503, timeout=20)
        assert "daily facts: the database cannot be reached" in reasons, reasons
        assert await bot.wait_metric("cytobot_daily_store_errors_total", 1, operation="ping") >= 1
        proxy.set("pass")
        assert (await bot.wait_until("/readyz", 200, timeout=30)).strip() == "ready"
    finally:
        await bot.close()
        await proxy.stop()
