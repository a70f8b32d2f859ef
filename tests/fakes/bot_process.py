"""A real `cytobot run` subprocess wired to the loopback fakes of Slack and Discord.

The fakes run in the caller's event loop and the process is an asyncio subprocess, so both
keep running while a test (or a benchmark) talks to the bot. Everything the process prints
is collected for assertions (and so its pipes never fill up).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.discord_api import FakeDiscord
from tests.fakes.loopback import HOST
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import SIGNING_SECRET, signed_headers, slash_command_body

CYTOBOT = (sys.executable, "-m", "adapters.cli")
SLACK_BOT_TOKEN = "xoxb-9-run-test-bot-token-4f1c"
DISCORD_TOKEN = "MTEwMDAwcnVu.fake-run.token-for-run-tests-7d2a"
SECRETS = (SLACK_BOT_TOKEN, SIGNING_SECRET, DISCORD_TOKEN)
TIMEOUT = aiohttp.ClientTimeout(total=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def platform_env(slack: FakeSlack | None, discord: FakeDiscord | None) -> dict[str, str]:
    """Credentials and endpoints that point the adapters at the fakes (Slack in HTTP mode)."""
    env: dict[str, str] = {}
    if slack is not None:
        env |= {"SLACK_BOT_TOKEN": SLACK_BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url}
    if discord is not None:
        env |= {"DISCORD_TOKEN": DISCORD_TOKEN, "DISCORD_API_URL": discord.api_url, "DISCORD_GATEWAY_URL": discord.gateway_url}
    return env


@dataclass
class BotProcess:
    proc: asyncio.subprocess.Process
    port: int
    session: aiohttp.ClientSession
    lines: list[str] = field(default_factory=list)
    _readers: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def start(cls, env: Mapping[str, str], *, cwd: Path, args: tuple[str, ...] = ("run",)) -> BotProcess:
        port = int(env.get("CYTOBOT_HTTP_PORT") or free_port())
        full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "CYTOBOT_"))}
        full |= {"CYTOBOT_HTTP_HOST": HOST, "CYTOBOT_HTTP_PORT": str(port), "PYTHONUNBUFFERED": "1", **env}
        proc = await asyncio.create_subprocess_exec(*CYTOBOT, *args, env=full, cwd=cwd,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        bot = cls(proc, port, aiohttp.ClientSession(timeout=TIMEOUT))
        bot._readers = [asyncio.create_task(bot._read(s)) for s in (proc.stdout, proc.stderr) if s is not None]
        return bot

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode("utf-8", "replace"))

    @property
    def output(self) -> str:
        return "".join(self.lines)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    # --- HTTP ---------------------------------------------------------------------
    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.url + path) as resp:
            return resp.status, await resp.text()

    async def post(self, path: str, body: str | bytes, headers: Mapping[str, str]) -> int:
        async with self.session.post(self.url + path, data=body, headers=dict(headers)) as resp:
            await resp.read()
            return resp.status

    async def slash(self, slack: FakeSlack, text: str, rid: str) -> int:
        body = slash_command_body(text, slack.response_url(rid))
        return await self.post("/slack/events", body, signed_headers(body))

    async def wait_until(self, path: str, status: int = 200, timeout: float = 30.0) -> str:
        """Poll `path` until it answers `status`; fails with the process output if it never does."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise AssertionError(f"cytobot exited with {self.proc.returncode}:\n{self.output}")
            try:
                code, text = await self.get(path)
                if code == status:
                    return text
                last = f"{code} {text.strip()}"
            except aiohttp.ClientError as exc:
                last = type(exc).__name__
            await asyncio.sleep(0.05)
        raise AssertionError(f"{path} never answered {status} (last: {last}):\n{self.output}")

    async def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample on /metrics, keyed by (name, sorted labels), parsed by prometheus_client."""
        code, text = await self.get("/metrics")
        assert code == 200, text
        samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    async def metric(self, name: str, /, **labels: str) -> float:
        return (await self.metrics()).get((name, tuple(sorted(labels.items()))), 0.0)

    async def wait_metric(self, name: str, at_least: float, /, timeout: float = 20.0, **labels: str) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = await self.metric(name, **labels)
            if value >= at_least:
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(f"{name}{labels} never reached {at_least}:\n{self.output}")

    async def wait_output(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if time.monotonic() > deadline:
                raise AssertionError(f"never printed {text!r}:\n{self.output}")
            await asyncio.sleep(0.05)

    # --- lifecycle ----------------------------------------------------------------
    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def wait(self, timeout: float = 20.0) -> int:
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await asyncio.gather(*self._readers)
        return code

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        await asyncio.gather(*self._readers, return_exceptions=True)
        await self.session.close()


def interaction(fake: FakeDiscord, subcommand: str, options: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    """An INTERACTION_CREATE for `/crs <subcommand> option:value ...`."""
    opts = [{"type": 3, "name": k, "value": v} for k, v in (options or {}).items()]
    data = {"id": "1", "name": "crs", "type": 1, "options": [{"type": 1, "name": subcommand, "options": opts}]}
    return fake.interaction(2, data, **kw)
