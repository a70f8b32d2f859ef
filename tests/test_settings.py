"""One settings object: every variable the code reads is in it, in `.env.example` and in the
deployer guide's table; `.env` is read; wrong values are named; secrets never shown."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from adapters import settings as settings_module
from adapters.settings import Settings, SettingsError, load_settings
from bot.loader import bundled_content_dir

ROOT = Path(__file__).resolve().parents[1]
# Standard variables read on behalf of the platform, not cytobot settings.
NOT_OURS = {"XDG_STATE_HOME", "XDG_CACHE_HOME"}
READ = re.compile(r"""(?:environ\.get|getenv|environ\[|env\.get)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in Settings.variables():
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _example_variables() -> list[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    names = []
    for i, line in enumerate(lines):
        if line and not line.startswith("# ") and line != "#":  # `#NAME=`: listed, commented out
            name = line.removeprefix("#").partition("=")[0]
            assert line.removeprefix("#") == f"{name}=", f".env.example sets a value for {name}: leave defaults to the code"
            assert lines[i - 1].startswith("#") or lines[i - 2].startswith("#"), f"{name} has no comment"
            names.append(name)
    return names


# Listed in `.env.example` for docker-compose.yml's interpolation; cytobot never reads them.
COMPOSE_ONLY = {"CYTOBOT_HOST_PORT", "POSTGRES_PASSWORD"}


def test_env_example_lists_exactly_the_settings() -> None:
    listed = _example_variables()
    assert sorted(name for name in listed if name not in COMPOSE_ONLY) == sorted(Settings.variables())
    compose = (ROOT / "docker-compose.yml").read_text()
    assert COMPOSE_ONLY <= set(listed) and all(f"${{{name}:-" in compose for name in COMPOSE_ONLY)
    assert not COMPOSE_ONLY & set(Settings.variables())


def test_deploy_guide_table_lists_exactly_the_settings() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    in_table = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", guide, flags=re.M))
    assert in_table == set(Settings.variables())
    assert "docs/deploy.md" in (ROOT / "README.md").read_text()


def test_every_variable_the_code_reads_is_a_setting() -> None:
    read = set()
    for path in [*ROOT.joinpath("adapters").rglob("*.py"), *ROOT.joinpath("bot").rglob("*.py")]:
        read |= set(READ.findall(path.read_text()))
    assert read, "the pattern finds nothing: it is out of date"
    assert read - NOT_OURS <= set(Settings.variables())


def test_dotenv_is_read_and_the_environment_wins(clean_env, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("CYTOBOT_HTTP_PORT=9090\nCYTOBOT_LOG_FORMAT=json\nSLACK_APP_TOKEN=\nCYTOBOT_HISTORY_FILE=\n")
    clean_env.setenv("CYTOBOT_LOG_FORMAT", "text")
    s = load_settings(str(env_file))
    assert (s.cytobot_http_port, s.cytobot_log_format, s.slack_app_token) == (9090, "text", None)
    assert s.cytobot_history_file == ""  # set and empty: the console keeps no history


def test_the_example_file_itself_loads_as_all_defaults(clean_env) -> None:
    s = load_settings(str(ROOT / ".env.example"))
    assert s.model_fields_set == set()
    assert s.content_dir == bundled_content_dir()
    assert (s.cytobot_http_port, s.cytobot_log_level, s.cytobot_daily_catch_up) == (8080, "INFO", timedelta(hours=6))
    assert s.cytobot_database_url.get_secret_value() == "sqlite:///./data/cytobot.db"


def test_values_are_parsed_as_documented(clean_env) -> None:
    clean_env.setenv("DISCORD_SHARD_IDS", "0-2, 5")
    clean_env.setenv("DISCORD_SHARD_COUNT", "8")
    clean_env.setenv("CYTOBOT_SLACK_ADMINS", "U1,U2 U3")
    clean_env.setenv("CYTOBOT_DAILY_CATCH_UP", "1h30m")
    clean_env.setenv("CYTOBOT_LOG_LEVEL", "debug")
    clean_env.setenv("DISCORD_SYNC", "yes")
    clean_env.setenv("SLACK_APP_TOKEN", "   ")  # blank: unset
    s = load_settings()
    assert s.discord_shard_ids == (0, 1, 2, 5) and s.discord_shard_count == 8
    assert s.cytobot_slack_admins == {"U1", "U2", "U3"}
    assert s.cytobot_daily_catch_up == timedelta(hours=1, minutes=30)
    assert (s.cytobot_log_level, s.discord_sync, s.slack_app_token) == ("DEBUG", True, None)


@pytest.mark.parametrize(("values", "named"), [
    ({"CYTOBOT_HTTP_PORT": "65536"}, "CYTOBOT_HTTP_PORT"),
    ({"CYTOBOT_CONTENT_POLL_SECONDS": "soon"}, "CYTOBOT_CONTENT_POLL_SECONDS"),
    ({"CYTOBOT_DAILY_CATCH_UP": "a while"}, "CYTOBOT_DAILY_CATCH_UP"),
    ({"CYTOBOT_DATABASE_URL": "mysql://root:hunter2-password@db/x"}, "CYTOBOT_DATABASE_URL"),
    ({"DISCORD_SHARD_IDS": "3", "DISCORD_SHARD_COUNT": "2"}, "DISCORD_SHARD_COUNT"),
    ({"SLACK_SIGNING_SECRET": "sssh-secret-value"}, "SLACK_BOT_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxp-user-token-value", "SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
    ({"DISCORD_TOKEN": "Bot abc.def.ghi"}, "DISCORD_TOKEN"),
])
def test_a_wrong_value_is_named_and_a_secret_never_echoed(clean_env, values, named) -> None:
    for k, v in values.items():
        clean_env.setenv(k, v)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    text = str(caught.value)
    assert named in text
    for secret in ("hunter2-password", "sssh-secret-value", "xoxp-user-token-value", "abc.def.ghi"):
        assert secret not in text


def test_secrets_are_hidden_in_repr_and_listed_for_the_log_filter(clean_env) -> None:
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-1-very-secret")
    clean_env.setenv("SLACK_SIGNING_SECRET", "signing-very-secret")
    clean_env.setenv("CYTOBOT_DATABASE_URL", "postgresql://bot:db-very-secret@db:5432/cytobot")
    s = load_settings()
    assert "very-secret" not in repr(s) and "very-secret" not in str(s.model_dump())
    assert set(s.secrets()) == {"xoxb-1-very-secret", "signing-very-secret", "db-very-secret"}


def test_tests_never_read_a_developers_dotenv() -> None:
    assert settings_module.ENV_FILE is None  # tests/conftest.py
