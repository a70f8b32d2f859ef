"""Content reload in a real `cytobot run`: a symlinked content directory swapped in place
(`ln -sfn`, the atomic way to deploy a new pack) is followed as configured, by the poller and
by SIGHUP, and each reload says which directory it read."""

from __future__ import annotations

import re
import shutil
import signal
from pathlib import Path

from tests.conftest import MINI_PACK
from tests.fakes.bot_process import BotProcess

INFO = "cytobot_content_pack_info"


def pack_at(path: Path, version: str) -> Path:
    shutil.copytree(MINI_PACK, path)
    pack = path / "pack.yaml"
    pack.write_text(re.sub(r'version: "[^"]*"', f'version: "{version}"', pack.read_text()))
    return path


def ln_sfn(target: Path, link: Path) -> None:
    """`ln -sfn target link`: a new link renamed over the old one, so readers never see none."""
    fresh = link.with_name(link.name + ".new")
    fresh.symlink_to(target)
    fresh.replace(link)


async def test_a_symlinked_pack_swapped_in_place_is_followed_by_the_poller_and_sighup(tmp_path: Path) -> None:
    v1, v2, v3 = (pack_at(tmp_path / f"packs/v{n}", f"{n}.0") for n in (1, 2, 3))
    current = tmp_path / "current"
    current.symlink_to(v1)
    env = {"CYTOBOT_CONTENT_DIR": str(current), "CYTOBOT_CONTENT_POLL_SECONDS": "0.1"}
    bot = await BotProcess.start(env, cwd=tmp_path)
    try:
        await bot.wait_until("/readyz")
        assert await bot.metric(INFO, id="mini", name="Mini pack", version="1.0") == 1

        ln_sfn(v2, current)  # the poller sees the swap
        await bot.wait_metric(INFO, 1, id="mini", name="Mini pack", version="2.0")
        await bot.wait_output(f"from {v2} (through {current})")
        (v1 / "pack.yaml").write_text((v1 / "pack.yaml").read_text().replace('"1.0"', '"1.5"'))  # the old target

        bot.signal(signal.SIGHUP)  # SIGHUP reads what the link points at now, not the first target
        await bot.wait_metric("cytobot_content_reloads_total", 2, outcome="loaded")
        assert await bot.metric(INFO, id="mini", name="Mini pack", version="2.0") == 1

        ln_sfn(v3, current)
        bot.signal(signal.SIGHUP)
        await bot.wait_metric(INFO, 1, id="mini", name="Mini pack", version="3.0")
        await bot.wait_output(f"content reloaded (SIGHUP) from {v3} (through {current})")
        assert await bot.metric(INFO, id="mini", name="Mini pack", version="1.5") == 0  # the old target's edit: never served
        bot.signal(signal.SIGTERM)
        assert await bot.wait() == 0
    finally:
        await bot.close()
