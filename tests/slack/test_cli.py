"""`cytobot slack` refuses to start on missing or malformed credentials, naming the variable."""

from __future__ import annotations

import pytest

from adapters.settings import EX_CONFIG, load_settings
from adapters.slack import cli

GOOD = {"SLACK_BOT_TOKEN": "xoxb-1-abc", "SLACK_APP_TOKEN": "xapp-1-A1-1-abc", "SLACK_SIGNING_SECRET": "s3cret"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    for name in (*GOOD, "SLACK_API_URL", "CYTOBOT_SLACK_COMMAND", "CYTOBOT_SLACK_ADMINS"):
        monkeypatch.delenv(name, raising=False)

    def _set(**values: str) -> None:
        for k, v in values.items():
            monkeypatch.setenv(k, v)

    return _set


@pytest.mark.parametrize(
    ("argv", "values", "named"),
    [
        ([], {}, "SLACK_BOT_TOKEN"),
        ([], {"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_APP_TOKEN": "xapp-1-A1-1-abc"}, "SLACK_BOT_TOKEN"),
        ([], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        ([], {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-wrong-kind"}, "SLACK_APP_TOKEN"),
        (["--http", "--port", "0"], {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1-A1-1-abc"}, "SLACK_SIGNING_SECRET"),
        ([], {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-fake"}, "SLACK_APP_TOKEN"),  # a placeholder
        ([], {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1-A1-test"}, "SLACK_APP_TOKEN"),
        (["--http"], {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "   "}, "SLACK_SIGNING_SECRET"),
        (["--http"], {**GOOD, "CYTOBOT_SLACK_COMMAND": "crs"}, "CYTOBOT_SLACK_COMMAND"),
        (["--http"], {**GOOD, "SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
        ([], {"SLACK_APP_TOKEN": "xapp-1-A1-1-abc"}, "SLACK_BOT_TOKEN"),  # half a configuration is a mistake, not "off"
    ],
)
def test_bad_credentials_exit_78_naming_the_variable(env, capsys, argv, values, named) -> None:
    env(**values)
    assert cli.main(argv) == EX_CONFIG
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1
    for secret in values.values():
        if secret.startswith(("xox", "xapp", "s3")):
            assert secret not in err


def test_configured_needs_a_bot_token_and_a_way_in(env) -> None:
    assert not load_settings().slack_configured
    env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s")
    assert load_settings().slack_configured
    assert cli.Settings.for_mode(load_settings()).http  # no app token: HTTP mode


def test_settings_pick_up_command_api_url_and_admins(env) -> None:
    env(**GOOD, CYTOBOT_SLACK_COMMAND="/cyto", SLACK_API_URL="http://127.0.0.1:9/api", CYTOBOT_SLACK_ADMINS="U1, U2 U3")
    s = cli.Settings.for_mode(load_settings())
    assert (s.command, s.api_url, s.app_token, s.http) == ("/cyto", "http://127.0.0.1:9/api", "xapp-1-A1-1-abc", False)
    assert s.admins == {"U1", "U2", "U3"}
