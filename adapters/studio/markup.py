"""Slack mrkdwn and Discord markdown, as the clients draw them, turned into safe HTML.

Only what the renderers produce is drawn: bold, italic, Slack's `<url|label>` links and line
breaks. Everything else is text: the payload's text is unescaped from Slack's three entities,
then escaped for HTML, so pack text such as `<img src=x onerror=...>` shows as written.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_SLACK_LINK = re.compile(r"<([^<>|]+)\|([^<>]*)>")
_SLACK_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_SLACK_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_MD_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.S)
_MD_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")
SAFE_SCHEMES = ("https://", "http://")


def _slack_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _slack_span(text: str) -> Markup:
    html = str(escape(_slack_unescape(text)))
    html = _SLACK_BOLD.sub(r"<b>\1</b>", html)
    html = _SLACK_ITALIC.sub(r"<i>\1</i>", html)
    return Markup(html.replace("\n", "<br>"))


def slack_mrkdwn(text: str) -> Markup:
    """A Slack mrkdwn text object (already escaped by the Slack renderer) as HTML."""
    out = []
    at = 0
    for m in _SLACK_LINK.finditer(text):
        out.append(_slack_span(text[at:m.start()]))
        url, label = _slack_unescape(m.group(1)), m.group(2)
        if url.startswith(SAFE_SCHEMES):
            out.append(Markup('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>').format(url, _slack_span(label)))
        else:
            out.append(_slack_span(m.group(0)))
        at = m.end()
    out.append(_slack_span(text[at:]))
    return Markup("").join(out)


def slack_plain(text: str) -> Markup:
    """A Slack plain_text object (a header, a button label): escaped text, no formatting."""
    return escape(_slack_unescape(text))


def discord_markdown(text: str) -> Markup:
    """Discord embed markdown (bold, italic, line breaks) as HTML."""
    html = str(escape(text))
    html = _MD_BOLD.sub(r"<b>\1</b>", html)
    html = _MD_ITALIC.sub(r"<i>\1</i>", html)
    return Markup(html.replace("\n", "<br>"))
