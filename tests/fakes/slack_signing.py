"""Build requests exactly as Slack sends them to an HTTP-mode app: form-encoded bodies signed
with HMAC-SHA256 over "v0:{timestamp}:{body}" (slack_sdk's SignatureVerifier)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"


def slash_command_body(text: str, response_url: str, *, command: str = "/crs", user_name: str = "alice", user_id: str = "U111", channel_id: str = "C123") -> str:
    return urlencode(
        {
            "token": "deprecated",
            "team_id": "T1",
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
