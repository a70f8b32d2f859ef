"""The studio in a real browser: Debian's Chromium driven by Playwright, against a real
`cytobot studio` process serving a copy of a pack on a loopback port.

Screenshots of the index and of one card are written to docs/screenshots/ (the README shows one).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.slack.render import render_message as slack_message
from bot.engine import Engine
from bot.loader import bundled_content_dir, load_pack
from tests.studio.conftest import HOSTILE_TITLE

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
QUESTIONS = ROOT / "tests" / "data" / "questions.yaml"
WAIT_MS = 20_000  # how long the page may take to follow an edit before the test fails (not a timing assertion)
URL = re.compile(r"at (http://127\.0\.0\.1:\d+/)")

if not CHROMIUM.exists():  # `make test` installs it (the Makefile's browser step)
    pytest.skip(f"{CHROMIUM} is missing: run `make test`, which installs Debian's chromium", allow_module_level=True)


class StudioProcess:
    """`cytobot studio DIR --port 0`, its URL read from what it prints."""

    def __init__(self, directory: Path, *args: str):
        env = {k: v for k, v in os.environ.items() if k != "CYTOBOT_CONTENT_DIR"} | {"PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "adapters.cli", "studio", str(directory), "--port", "0", *args],
                                     env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.url = ""
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(60) or not self.url:
            self.stop()
            raise AssertionError("cytobot studio did not start:\n" + "".join(self.lines))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            found = URL.search(line)
            if found and not self.url:
                self.url = found.group(1)
                self.ready.set()
        self.ready.set()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _copy(tmp: Path, source: Path) -> Path:
    target = tmp / "pack"
    shutil.copytree(source, target)
    return target


@pytest.fixture(scope="module")
def bundled_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioProcess]:
    studio = StudioProcess(_copy(tmp_path_factory.mktemp("studio"), bundled_content_dir()), "--questions", str(QUESTIONS))
    yield studio
    assert studio.stop() == 0, "".join(studio.lines)


@pytest.fixture
def own_studio(tmp_path: Path) -> Iterator[tuple[StudioProcess, Path]]:
    directory = _copy(tmp_path, bundled_content_dir())
    studio = StudioProcess(directory)
    yield studio, directory
    studio.stop()


class Watch:
    """A page that records every request, script dialog and page error."""

    def __init__(self, browser, origin: str, *, dark: bool = False):
        self.context = browser.new_context(viewport={"width": 1600, "height": 900},
                                           color_scheme="dark" if dark else "light")
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.origin = origin

    def foreign(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(self.origin)]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watch(browser, bundled_studio: StudioProcess) -> Iterator[Watch]:
    w = Watch(browser, bundled_studio.url)
    yield w
    assert w.errors == [], w.errors
    w.close()


def test_the_index_lists_every_topic_of_the_bundled_pack(watch: Watch, bundled_studio: StudioProcess) -> None:
    page = watch.page
    page.goto(bundled_studio.url)
    listed = page.locator("#index li[data-kind=topic] a").all_inner_texts()
    topics = load_pack(bundled_content_dir()).topics
    assert sorted(listed) == sorted(t.title for t in topics)
    page.fill("#search", "tocilizumab")
    page.wait_for_function("() => document.querySelector('#found').textContent.includes('tocilizumab')")
    # The search matches titles, ids, aliases and tags ("ICANS management" has the alias
    # "tocilizumab for icans"): exactly the topics naming the drug in one of those are left.
    naming = [t.title for t in topics if "tocilizumab" in " ".join((t.title, t.id, *t.aliases, *t.tags)).casefold()]
    assert "Tocilizumab" in naming and len(naming) < len(topics)
    assert sorted(page.locator("#index li[data-kind=topic] a").all_inner_texts()) == sorted(naming)
    page.fill("#search", "")
    page.wait_for_function("() => !document.querySelector('#found').textContent.includes('for')")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "index.png"))
    assert watch.foreign() == []  # nothing but the studio itself: it works with no network


def test_a_card_shows_slack_discord_and_terminal_from_the_real_payloads(watch: Watch, bundled_studio: StudioProcess) -> None:
    page = watch.page
    page.goto(bundled_studio.url)
    page.click("#index a:text-is('Cytokine release syndrome (CRS)')")
    page.wait_for_selector("#slack-view .sk-header")
    title = "Cytokine release syndrome (CRS)"
    assert page.inner_text("#card-title") == title
    assert page.inner_text("#slack-view .sk-header") == title
    assert page.inner_text("#discord-view .dc-title") == title
    assert title in page.inner_text("#terminal-view")
    # The embed's colour bar is set by the page's script from the payload's colour.
    colour = page.eval_on_selector("#discord-view .dc-embed", "e => getComputedStyle(e).borderLeftColor")
    embed = json.loads(page.text_content("#card-discord-json"))["embeds"][0]
    r, g, b = (embed["color"] >> 16) & 255, (embed["color"] >> 8) & 255, embed["color"] & 255
    assert colour == f"rgb({r}, {g}, {b})"
    # One click to the Block Kit JSON, and it is exactly what the bot would send.
    page.click("summary:has-text('Block Kit JSON')")
    shown = json.loads(page.inner_text("#card-slack-json"))
    reply = Engine.load(bundled_content_dir()).execute("topic crs")
    assert shown == {"blocks": slack_message(reply)["blocks"]}
    page.click("summary:has-text('Block Kit JSON')")
    # Dark, like the clients.
    light = page.eval_on_selector("#slack-view", "e => getComputedStyle(e).backgroundColor")
    page.click("#theme")
    dark = page.eval_on_selector("#slack-view", "e => getComputedStyle(e).backgroundColor")
    assert light != dark and page.get_attribute("html", "data-theme") == "dark"
    page.click("#theme")
    # The picture for the README: one aspect of the main comparison, three ways.
    page.goto(bundled_studio.url + "#card/compare%20crs%20cytokine-storm%20severity")
    page.wait_for_function("() => document.querySelector('#card-title')?.textContent.startsWith('Severity')")
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "card.png"))
    assert watch.foreign() == []


def test_a_card_near_a_limit_is_flagged_on_the_page(watch: Watch, bundled_studio: StudioProcess) -> None:
    page = watch.page
    page.goto(bundled_studio.url + "#card/compare%20crs%20cytokine-storm")
    flag = page.wait_for_selector("#flags .flag-near")
    assert "Discord" in flag.inner_text() and "24 of 25" in flag.inner_text()


def test_a_hostile_title_shows_as_text_and_runs_no_script(browser, tmp_path: Path, hostile_pack: Path) -> None:
    studio = StudioProcess(hostile_pack)
    w = Watch(browser, studio.url)
    try:
        page = w.page
        page.goto(studio.url)
        assert HOSTILE_TITLE in page.inner_text("#index")
        page.goto(studio.url + "#card/topic%20alpha%20symptoms")
        page.wait_for_selector("#slack-view .sk-header")
        page.goto(studio.url + "#card/topic%20alpha")
        # Wait for this card's own title: the section card shown before also holds the '<img' text
        # (as "<img ...>: Symptoms"), so a looser wait could read it before the page redraws.
        page.wait_for_function("(t) => document.querySelector('#card-title')?.textContent.trim() === t", arg=HOSTILE_TITLE)
        assert page.inner_text("#card-title") == HOSTILE_TITLE
        page.wait_for_function("(t) => document.querySelector('#slack-view .sk-header')?.textContent.trim() === t",
                               arg=HOSTILE_TITLE)
        assert page.inner_text("#slack-view .sk-header") == HOSTILE_TITLE
        page.goto(studio.url + "#ask/" + "what%20is%20alpha")
        page.wait_for_selector("#why")
        page.goto(studio.url + "#coverage")
        page.wait_for_selector("#coverage-table")
        assert page.locator("img").count() == 0
        assert page.evaluate("() => window.__pwned === undefined")
        assert w.dialogs == [] and w.errors == []
        assert w.foreign() == []
    finally:
        w.close()
        studio.stop()


def test_an_edit_appears_without_a_reload_and_a_broken_edit_shows_file_and_line(browser, own_studio) -> None:
    studio, directory = own_studio
    w = Watch(browser, studio.url)
    try:
        page = w.page
        page.goto(studio.url + "#card/topic%20hlh")
        page.wait_for_selector("#card-title")
        page.evaluate("() => { window.__sameDocument = true; }")  # gone if the page were reloaded
        target = directory / "topics" / "hlh.yaml"
        original = target.read_text(encoding="utf-8")
        target.write_text(original.replace("title: Hemophagocytic lymphohistiocytosis (HLH)",
                                           "title: HLH, as edited in the studio test", 1), encoding="utf-8")
        page.wait_for_function("() => document.querySelector('#card-title').textContent === 'HLH, as edited in the studio test'",
                               timeout=WAIT_MS)
        page.wait_for_function("() => document.querySelector('#index').textContent.includes('HLH, as edited in the studio test')",
                               timeout=WAIT_MS)  # the index follows right after what is on screen
        assert page.inner_text("#discord-view .dc-title") == "HLH, as edited in the studio test"
        # Broken: the last good pack stays on screen, and the problem is shown with file and line.
        target.write_text(original.replace("  summary:", "  summry:", 1), encoding="utf-8")
        problems = page.wait_for_selector("#problems", timeout=WAIT_MS)
        text = problems.inner_text()
        assert re.search(r"topics/hlh\.yaml:\d+: ", text), text
        assert "summry" in text or "summary" in text
        assert page.inner_text("#card-title") == "HLH, as edited in the studio test"
        assert "broken" in (page.get_attribute("#live", "class") or "")
        # Fixed: the problems go, the card follows.
        target.write_text(original, encoding="utf-8")
        page.wait_for_selector("#problems", state="detached", timeout=WAIT_MS)
        page.wait_for_function("() => document.querySelector('#card-title').textContent.startsWith('Hemophagocytic')",
                               timeout=WAIT_MS)
        assert page.evaluate("() => window.__sameDocument === true")
    finally:
        w.close()


def test_the_question_box_names_the_card_a_question_lands_on(watch: Watch, bundled_studio: StudioProcess) -> None:
    page = watch.page
    page.goto(bundled_studio.url)
    page.fill("#ask-input", "when was tocilizumab approved?")
    page.press("#ask-input", "Enter")
    landed = page.wait_for_selector("#landed")
    expected = Engine.load(bundled_content_dir()).execute("when was tocilizumab approved?").command
    assert landed.inner_text() == expected
    why = page.inner_text("#why")
    assert "against the threshold 60%" in why and "tocilizumab" in why
    assert page.inner_text("#slack-view .sk-header")  # the card it lands on, drawn three ways


def test_the_question_file_panel_shows_the_share_and_runs_a_chosen_file(watch: Watch, bundled_studio: StudioProcess,
                                                                        tmp_path: Path) -> None:
    page = watch.page
    page.goto(bundled_studio.url + "#questions")
    row = page.wait_for_selector("#qscore tr[data-group=in_scope]")
    assert re.search(r"\d+% right first \(\d+ of \d+\)", row.inner_text())
    mine = tmp_path / "mine.yaml"
    mine.write_text("in_scope:\n  - q: what is HLH\n    expect: [topic hlh]\n  - q: what is HLH\n    expect: [topic crs]\n",
                    encoding="utf-8")
    page.set_input_files("#qfile", str(mine))
    page.wait_for_function("() => document.querySelector('#qresult .qname')?.textContent === 'mine.yaml'")
    assert "50% right first (1 of 2)" in page.inner_text("#qscore")
    assert "expected topic crs" in page.inner_text("#qresult")


def test_a_scale_page_and_the_coverage_view(watch: Watch, bundled_studio: StudioProcess) -> None:
    page = watch.page
    page.goto(bundled_studio.url + "#scale/crs")
    page.wait_for_selector("#scale-table")
    headers = page.locator("#scale-table thead th").all_inner_texts()
    assert headers == ["Domain", "Grade 0", "Grade 1", "Grade 2", "Grade 3", "Grade 4"]
    assert "hypotension=vasopressor" in page.inner_text("#scale-table")
    page.click("#nav-coverage")
    page.wait_for_selector("#coverage-table")
    assert page.locator("#coverage-table tbody tr").count() == len(load_pack(bundled_content_dir()).sources)
