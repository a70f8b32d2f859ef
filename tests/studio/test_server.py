"""The studio's server, in-process on a loopback port: pages drawn from the real payloads, live
reloads through the bot's reloader, and the safety rules (escaping, CSP, Host and Origin checks,
no writing endpoint, the pack never written)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from adapters.studio import server as studio_server
from tests.studio.conftest import HOSTILE_BODY, HOSTILE_TITLE, Served, snapshot, wait_for

STUDIO_DIR = Path(studio_server.__file__).parent


async def test_every_topic_and_section_is_in_the_index(served: Served) -> None:
    page = await served.text("/")
    catalog = served.studio.engine.catalog
    for topic in catalog.topics.values():
        assert f'href="#card/topic%20{topic.id}"' in page, topic.id
        for section in topic.sections:
            assert f'href="#card/topic%20{topic.id}%20{section.id}"' in page
    for fact in catalog.facts:
        assert f'href="#card/fact%20{fact}"' in page
    for spec in served.studio.engine.registry:
        assert f'href="#card/help%20{spec.name}"' in page


async def test_the_index_search_narrows_by_every_word(served: Served) -> None:
    found = await served.text("/f/index", params={"q": "tocilizumab approval"})
    assert 'href="#card/topic%20tocilizumab%20approval"' in found
    assert 'href="#card/topic%20crs"' not in found
    nothing = await served.text("/f/index", params={"q": "zzzz-not-there"})
    assert "Nothing in the pack matches that" in nothing


async def test_a_card_shows_the_three_payloads_the_platforms_receive(served: Served) -> None:
    from adapters.discord.render import render_message as discord_message
    from adapters.slack.render import render_message as slack_message

    card = await served.text("/f/card", params={"line": "topic crs mechanism"})
    reply = served.studio.engine.execute("topic crs mechanism")
    slack, discord = slack_message(reply), discord_message(reply)
    assert 'id="slack-view"' in card and 'id="discord-view"' in card and 'id="terminal-view"' in card
    assert html.escape(slack["blocks"][0]["text"]["text"], quote=False) in card
    assert discord["embeds"][0]["title"] in html.unescape(card)
    # the JSON one click away is the payload itself
    blocks_json = re.search(r'<pre id="card-slack-json">(.*?)</pre>', card, re.S).group(1)
    import json

    assert json.loads(html.unescape(blocks_json)) == {"blocks": slack["blocks"]}


async def test_hostile_pack_text_is_escaped_everywhere(served_hostile: Served) -> None:
    page = await served_hostile.text("/")
    card = await served_hostile.text("/f/card", params={"line": "topic alpha symptoms"})
    search = await served_hostile.text("/f/index", params={"q": "img"})
    coverage = await served_hostile.text("/f/coverage")
    for text in (page, card, search, coverage):
        assert "<img src=x" not in text and "<script>window" not in text
    assert html.escape(HOSTILE_TITLE, quote=False) in page
    assert "&lt;script&gt;window.__pwned" in card


async def test_every_response_carries_a_csp_with_no_inline_or_outside_script(served: Served) -> None:
    for path in ("/", "/f/card?line=help", "/static/studio.js", "/f/coverage", "/nope"):
        response = await served.client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe" not in csp and "default-src 'none'" in csp, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_package_ships_everything_the_page_needs_and_nothing_from_the_network(served: Served) -> None:
    page = await served.text("/")
    for ref in re.findall(r'(?:src|href)="([^"#]+)"', page):
        assert ref.startswith("/static/"), ref
        response = await served.client.get(ref)
        assert response.status == 200, ref
    for path in [*STUDIO_DIR.glob("static/*"), *STUDIO_DIR.glob("templates/*")]:
        text = path.read_text(encoding="utf-8")
        assert "<script>" not in text and " style=" not in text, path  # no inline script or style
        assert not re.search(r"(src|href|url\()\s*=?\s*[\"']?https?://", text), path


async def test_a_foreign_host_header_is_refused(served: Served) -> None:
    """DNS rebinding: a page on another site that resolves its name to 127.0.0.1 gets nothing."""
    response = await served.client.get("/", headers={"Host": "attacker.example:8765"})
    assert response.status == 421
    assert "open the URL" in await response.text()


async def test_no_endpoint_writes_and_the_one_post_checks_its_origin(served: Served) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        response = await served.client.request(method, "/f/card")
        assert response.status == 405, method
    body = "in_scope:\n  - q: what is HLH\n    expect: [topic hlh]\n"
    refused = await served.client.post("/f/questions", data=body)
    assert refused.status == 403
    foreign = await served.client.post("/f/questions", data=body, headers={"Origin": "http://attacker.example"})
    assert foreign.status == 403
    origin = f"http://127.0.0.1:{served.client.port}"
    ok = await served.client.post("/f/questions", data=body, headers={"Origin": origin, "X-File-Name": "mine.yaml"})
    text = await ok.text()
    assert ok.status == 200 and "100%" in text and "mine.yaml" in text


async def test_the_question_file_panel_runs_the_file_given_on_the_command_line(served: Served) -> None:
    text = await served.text("/f/questions")
    assert 'data-group="in_scope"' in text and 'data-group="held_out"' in text and "right first" in text
    assert 'data-group="out_of_scope"' in text and "0 confident of" in text


async def test_the_question_box_names_the_card_and_why(served: Served) -> None:
    text = await served.text("/f/ask", params={"q": "what is HLH"})
    assert '<b id="landed">topic hlh</b>' in text
    assert re.search(r'confidence <b id="confidence">\d+%</b> against the threshold 60%', text)
    assert re.search(r'<span class="w w-name"[^>]*>hlh</span>', text)
    assert 'id="slack-view"' in text  # the card it lands on, three ways


async def test_a_scale_page_shows_domains_by_grade_as_the_pack_defines_them(served: Served) -> None:
    scale = served.studio.engine.catalog.scales["crs"]
    text = await served.text("/f/scale", params={"id": "crs"})
    assert text.count("<th scope=\"col\">Grade ") == scale.top_grade + 1
    for domain in scale.domains:
        assert html.escape(domain.title, quote=False) in text
        for value in domain.values:
            assert f"{domain.id}={value.id}" in text
            assert html.escape(value.criterion, quote=False) in text
    missing = await served.text("/f/scale", params={"id": "nope"})
    assert "No grading scale “nope”" in missing


async def test_coverage_lists_every_source_and_where_it_is_cited(served: Served) -> None:
    catalog = served.studio.engine.catalog
    text = await served.text("/f/coverage")
    for sid in catalog.sources:
        assert f'data-source="{sid}"' in text
    row = re.search(r'<tr class="" data-source="fda18">(.*?)</tr>', text, re.S).group(1)
    assert "topic%20emapalumab" in row or "Emapalumab" in row


async def test_an_edit_is_served_after_a_reload_and_a_broken_edit_keeps_the_last_good_pack(served: Served) -> None:
    before = snapshot(served.directory)
    target = served.directory / "topics" / "hlh.yaml"
    original = target.read_text(encoding="utf-8")
    catalog = served.studio.engine.catalog
    target.write_text(original.replace("title: Hemophagocytic lymphohistiocytosis (HLH)",
                                       "title: Hemophagocytic lymphohistiocytosis (HLH) edited", 1), encoding="utf-8")
    await wait_for(lambda: served.studio.engine.catalog is not catalog, "a reload after the edit")
    card = await served.text("/f/card", params={"line": "topic hlh"})
    assert "Hemophagocytic lymphohistiocytosis (HLH) edited" in card
    # A broken edit: the old pack stays, the problem is listed with file and line.
    target.write_text(original.replace("summary:", "summry:", 1), encoding="utf-8")
    await wait_for(lambda: served.studio.reloader.problems, "a refused reload after the broken edit")
    status = await served.text("/f/status")
    assert re.search(r"topics/hlh\.yaml:\d+: ", status), status
    assert "Still showing the last good pack" in status
    card = await served.text("/f/card", params={"line": "topic hlh"})
    assert "(HLH) edited" in card
    # Fixed: the problems go away.
    target.write_text(original, encoding="utf-8")
    await wait_for(lambda: not served.studio.reloader.problems, "a reload after the fix")
    assert "problems" not in await served.text("/f/status")
    # The studio itself never wrote to the pack: only the test's own edits changed it.
    after = snapshot(served.directory)
    assert after.keys() == before.keys()
    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}
