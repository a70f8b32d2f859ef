"""Build requests exactly as Slack sends them to an HTTP-mode app: form-encoded bodies signed
with HMAC-SHA256 over "v0:{timestamp}:{body}" (slack_sdk's SignatureVerifier)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"


def slash_command_body(text: str, response_url: str, *, command: str = "/crs", user_name: str = "alice", user_id: str = "U111", channel_id: str = "C123",
                       team_id: str = "T1") -> str:
    return urlencode(
        {
            "token": "deprecated",
            "team_id": team_id,
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "111.222.abc",
        }
    )


def share_payload(command_line: str, response_url: str, *, user_name: str = "alice", user_id: str = "U111", channel_id: str = "C123", action_id: str = "cytobot_share:0") -> dict[str, Any]:
    """A block_actions payload: a click on the "Share in channel" button of an ephemeral reply."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": "T1"},
        "api_app_id": "A1",
        "token": "deprecated",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": channel_id, "is_ephemeral": True},
        "trigger_id": "111.222.abc",
        "team": {"id": "T1", "domain": "fake"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "general"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "cytobot_actions",
                "text": {"type": "plain_text", "text": "Share in channel", "emoji": True},
                "value": command_line,
                "type": "button",
                "action_ts": "1700000001.000200",
            }
        ],
    }


def action_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def signed_headers(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


BOT_USER = "UBOT"  # what the fake's auth.test says the bot user is
BOT_ID = "BBOT"


def message_event(text: str, *, channel: str = "C123", user: str | None = "U111", ts: str = "1700000100.000100",
                  kind: str = "app_mention", thread_ts: str | None = None, **extra: Any) -> dict[str, Any]:
    """An `app_mention`, or a `message` in a DM (kind="message", channel "D…", channel_type "im")."""
    event: dict[str, Any] = {"type": kind, "text": text, "ts": ts, "event_ts": ts, "channel": channel, "team": "T1"}
    if user is not None:
        event["user"] = user
    if kind == "message":
        event["channel_type"] = "im" if channel.startswith("D") else "channel"
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    event.update(extra)
    return event


def event_callback(event: dict[str, Any], *, event_id: str = "Ev0001") -> dict[str, Any]:
    """The Events API envelope Slack POSTs to the request URL (and wraps in Socket Mode)."""
    return {
        "token": "deprecated",
        "team_id": "T1",
        "api_app_id": "A1",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(float(event.get("ts", "1700000100"))),
        "authorizations": [{"enterprise_id": None, "team_id": "T1", "user_id": BOT_USER, "is_bot": True}],
        "is_ext_shared_channel": False,
    }


def signed_json_headers(body: str, *, retry: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Headers of an Events API request; a retry carries X-Slack-Retry-Num and -Reason."""
    headers = {**signed_headers(body, secret=secret), "Content-Type": "application/json"}
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return headers
