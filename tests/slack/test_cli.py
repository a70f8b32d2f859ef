"""`cytobot slack` refuses to start on missing or malformed credentials, naming the variable."""

from __future__ import annotations

import pytest

from adapters.slack import cli

GOOD = {"SLACK_BOT_TOKEN": "xoxb-1-abc", "SLACK_APP_TOKEN": "xapp-1-A1-1-abc", "SLACK_SIGNING_SECRET": "s3cret"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    for name in (*GOOD, "SLACK_API_URL", "CYTOBOT_SLACK_COMMAND"):
        monkeypatch.delenv(name, raising=False)

    def _set(**values: str) -> None:
        for k, v in values.items():
            monkeypatch.setenv(k, v)

    return _set


@pytest.mark.parametrize(
    ("argv", "values", "named"),
    [
        ([], {}, "SLACK_BOT_TOKEN"),
        ([], {"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
        ([], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        ([], {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-wrong-kind"}, "SLACK_APP_TOKEN"),
        (["--http", "--port", "0"], {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, "SLACK_SIGNING_SECRET"),
        (["--http"], {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "   "}, "SLACK_SIGNING_SECRET"),
        (["--http"], {**GOOD, "CYTOBOT_SLACK_COMMAND": "crs"}, "CYTOBOT_SLACK_COMMAND"),
        (["--http"], {**GOOD, "SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
    ],
)
def test_bad_credentials_exit_2_naming_the_variable(env, capsys, argv, values, named) -> None:
    env(**values)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1


def test_configured_needs_a_bot_token_and_a_way_in(env) -> None:
    assert not cli.configured()
    env(SLACK_BOT_TOKEN="xoxb-1")
    assert not cli.configured()
    env(SLACK_SIGNING_SECRET="s")
    assert cli.configured()


def test_settings_pick_up_command_and_api_url(env) -> None:
    env(**GOOD, CYTOBOT_SLACK_COMMAND="/cyto", SLACK_API_URL="http://127.0.0.1:9/api")
    import os

    s = cli.Settings.from_env(os.environ, http=False)
    assert (s.command, s.api_url, s.app_token) == ("/cyto", "http://127.0.0.1:9/api", "xapp-1-A1-1-abc")
