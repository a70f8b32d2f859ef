"""The app manifest declares what the adapter relies on."""

from __future__ import annotations

from pathlib import Path

import yaml

from adapters.slack.app import DEFAULT_COMMAND

MANIFEST = Path(__file__).resolve().parents[2] / "adapters" / "slack" / "manifest.yml"


def test_manifest_declares_command_scopes_interactivity_and_socket_mode() -> None:
    m = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert m["features"]["bot_user"]["display_name"]
    [command] = m["features"]["slash_commands"]
    assert command["command"] == DEFAULT_COMMAND
    assert command["description"] and command["usage_hint"]
    assert len(command["description"]) <= 100 and len(command["usage_hint"]) <= 100
    # users:read for users.info (who is a workspace admin or owner); mentions and DMs; nothing more.
    assert set(m["oauth_config"]["scopes"]["bot"]) == {"commands", "chat:write", "chat:write.public", "users:read",
                                                       "app_mentions:read", "im:history"}
    assert m["settings"]["interactivity"]["is_enabled"] is True
    assert m["settings"]["socket_mode_enabled"] is True


def test_manifest_subscribes_to_mentions_and_direct_messages() -> None:
    m = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert m["settings"]["event_subscriptions"]["bot_events"] == ["app_mention", "message.im"]
    # app_mention needs app_mentions:read, message.im needs im:history; the Messages tab must accept messages.
    home = m["features"]["app_home"]
    assert home["messages_tab_enabled"] is True and home["messages_tab_read_only_enabled"] is False
