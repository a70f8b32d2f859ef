"""Every setting cytobot reads, in one validated object (environment first, then `.env`).

Why one object: a deployer sees every variable in one place (`.env.example`, the README table
and this class list the same names, and a test keeps them so), a wrong value is caught before
anything connects, and the message names the variable. Secrets are `SecretStr`, so printing
the object, a traceback or a validation error never shows them. Which variables a given mode
needs (Socket Mode needs `SLACK_APP_TOKEN`, HTTP mode `SLACK_SIGNING_SECRET`) is checked by
the platform's own start-up code, which reads these fields and nothing else.

Field names are the variable names in lower case.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.loader import bundled_content_dir

EX_CONFIG = 78  # sysexits.h: configuration error; orchestrators show it as such
ENV_FILE: str | None = ".env"  # read from the working directory when present; tests set None
DEFAULT_DATABASE_URL = "sqlite:///./data/cytobot.db"
DATABASE_SCHEMES = ("sqlite", "sqlite+aiosqlite", "postgresql", "postgresql+asyncpg", "postgres")
SLACK_COMMAND_SHAPE = re.compile(r"^/[a-z0-9_-]{1,31}$")
# An app-level token: xapp-<version>-<app id>-<number>-<hex secret>; a placeholder fails here, not at Slack.
APP_TOKEN_SHAPE = re.compile(r"^xapp-[0-9]+-[A-Z0-9]+-[0-9]+-[0-9a-fA-F]+$")
DISCORD_COMMAND_SHAPE = re.compile(r"^[-_a-z0-9]{1,32}$")
DISCORD_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_SHARDS_MAX = 16384
# Never echoed in an error message (the database URL may hold a password).
SECRET_FIELDS = frozenset({"slack_bot_token", "slack_app_token", "slack_signing_secret", "discord_token", "cytobot_database_url"})


class ConfigError(ValueError):
    """A value the chosen mode needs is missing (the platform checks it); the message names it."""


class SettingsError(ValueError):
    """The environment is wrong; `problems` are lines that each name a variable."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _duration(value: object) -> object:
    """`6h`, `90m`, `1h30m`, `45s`, or a number of seconds."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text.replace(".", "", 1).isdigit():
            return timedelta(seconds=float(text))
        match = _DURATION.match(text)
        if not text or not match:
            raise ValueError("must be a duration such as 6h, 90m, 1h30m or a number of seconds")
        h, m, s = (int(g or 0) for g in match.groups())
        return timedelta(hours=h, minutes=m, seconds=s)
    return value


def _words(value: object) -> object:
    """A list given as `a,b c`: commas or spaces."""
    if isinstance(value, str):
        return frozenset(part for part in value.replace(",", " ").split() if part)
    return value


def _shard_ids(value: object) -> object:
    """`0,1,2`, `0-3` or a mix (`0-3,8`): the shards this replica runs."""
    if not isinstance(value, str):
        return value
    ids: list[int] = []
    for part in value.replace(" ", "").split(","):
        if not part:
            continue
        first, dash, last = part.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(f"{part!r} is not a shard id or a range such as 0-3")
        ids.extend(range(int(first), int(last) + 1) if dash else [int(first)])
    if not ids:
        raise ValueError("lists no shard ids")
    return tuple(sorted(set(ids)))


class Settings(BaseSettings):
    """The whole configuration. Build it with `load_settings()`."""

    model_config = SettingsConfigDict(env_file=ENV_FILE, env_file_encoding="utf-8", extra="ignore", case_sensitive=False)

    # --- content and process -------------------------------------------------------------
    cytobot_content_dir: Path | None = Field(None, description="content pack directory (default: the bundled pack)")
    cytobot_content_poll_seconds: float = Field(
        2.0, ge=0, le=3600, description="how often `cytobot run` looks for edited pack files; 0: only on SIGHUP")
    cytobot_http_host: str = Field("0.0.0.0", description="address of the HTTP server of `cytobot run`")
    cytobot_http_port: int = Field(8080, ge=0, le=65535, description="port of /healthz, /readyz, /metrics and /slack/events")
    cytobot_drain_seconds: float = Field(
        8.0, ge=0, le=600, description="after SIGTERM, how long in-flight answers and posts may take to finish")
    cytobot_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field("INFO", description="log level")
    cytobot_log_format: Literal["text", "json"] = Field("text", description="`text` lines or one JSON object per line")
    cytobot_log_sql: bool = Field(
        False, description="log every SQL statement with its parameters (user and channel ids): debugging only")
    cytobot_history_file: str | None = Field(
        None, description="console history file (default ~/.local/state/cytobot/history); set and empty: no history on disk")
    cytobot_cache_dir: str | None = Field(
        None, description="where loaded packs are cached (default $XDG_CACHE_HOME/cytobot or ~/.cache/cytobot); off: none")

    # --- daily facts ------------------------------------------------------------------------
    cytobot_database_url: SecretStr = Field(
        SecretStr(DEFAULT_DATABASE_URL), description="SQLite or PostgreSQL URL for daily-fact subscriptions")
    cytobot_database_connect_timeout: float = Field(
        5.0, gt=0, le=600, description="PostgreSQL: seconds connecting to the database may take")
    cytobot_database_statement_timeout: float = Field(
        5.0, gt=0, le=600, description="PostgreSQL: seconds one statement may take before it counts as failed")
    cytobot_database_ready_cache: float = Field(
        2.0, ge=0, le=60, description="seconds /readyz reuses its last answer about the database")
    cytobot_daily_catch_up: timedelta = Field(
        timedelta(hours=6), description="a daily post missed by less than this goes out late; older ones are skipped")

    # --- Slack ------------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = Field(None, description="bot token, xoxb-…")
    slack_app_token: SecretStr | None = Field(None, description="app-level token, xapp-… (Socket Mode)")
    slack_signing_secret: SecretStr | None = Field(None, description="signing secret (HTTP mode)")
    slack_api_url: str | None = Field(None, description="Web API base URL (proxies, tests)")
    cytobot_slack_command: str = Field("/crs", description="the slash command")
    cytobot_slack_admins: Annotated[frozenset[str], NoDecode] = Field(
        frozenset(), description="user ids who may change daily facts besides workspace admins")

    # --- Discord ----------------------------------------------------------------------------
    discord_token: SecretStr | None = Field(None, description="bot token")
    discord_application_id: int | None = Field(None, ge=0, lt=2**64, description="application id, for the invite URL")
    discord_guild_id: int | None = Field(None, ge=0, lt=2**64, description="sync commands to this guild only")
    discord_sync: bool = Field(False, description="sync the command tree at start-up")
    cytobot_discord_command: str = Field("crs", description="name of the slash command group")
    discord_api_url: str | None = Field(None, description="REST base including /api/v10 (proxies, tests)")
    discord_gateway_url: str | None = Field(None, description="gateway websocket URL (proxies, tests)")
    discord_shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = Field(
        None, description="the shards this replica runs: 0,1 or 0-3")
    discord_shard_count: int | None = Field(None, ge=1, le=_SHARDS_MAX, description="total shards across all replicas")

    # --- validation -------------------------------------------------------------------------
    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        """`SLACK_APP_TOKEN=` (or blanks) means unset. Only CYTOBOT_HISTORY_FILE gives an empty
        value a meaning of its own (keep no history), so it alone stays."""
        if isinstance(data, dict):
            return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()
                    if not (isinstance(v, str) and not v.strip()) or k.lower() == "cytobot_history_file"}
        return data

    @field_validator("cytobot_log_level", "cytobot_log_format", mode="before")
    @classmethod
    def _case(cls, value: object, info: Any) -> object:
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "cytobot_log_level" else value.lower()

    @field_validator("cytobot_daily_catch_up", mode="before")
    @classmethod
    def _catch_up(cls, value: object) -> object:
        return _duration(value)

    @field_validator("cytobot_slack_admins", mode="before")
    @classmethod
    def _admins(cls, value: object) -> object:
        return _words(value)

    @field_validator("discord_shard_ids", mode="before")
    @classmethod
    def _shards(cls, value: object) -> object:
        return _shard_ids(value)

    @field_validator("cytobot_database_url")
    @classmethod
    def _database(cls, value: SecretStr) -> SecretStr:
        scheme = value.get_secret_value().partition("://")[0].lower()
        if scheme not in DATABASE_SCHEMES:
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb- (OAuth & Permissions)")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp- (Basic Information > App-Level Tokens)")
        if value is not None and not APP_TOKEN_SHAPE.match(value.get_secret_value()):
            raise ValueError("is malformed: an app-level token looks like xapp-1-A0123ABCD-1234567890-0a1b2c… "
                             "(copy all of it from Basic Information > App-Level Tokens)")
        return value

    @field_validator("cytobot_slack_command")
    @classmethod
    def _slack_command(cls, value: str) -> str:
        if not SLACK_COMMAND_SHAPE.match(value):
            raise ValueError(f"must look like /crs: a slash and up to 31 lowercase letters, digits, - or _ (got {value[:40]!r})")
        return value

    @field_validator("discord_token")
    @classmethod
    def _discord_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        token = value.get_secret_value()
        if token.lower().startswith("bot "):
            raise ValueError("give the token alone, without the 'Bot ' prefix")
        if not DISCORD_TOKEN_SHAPE.match(token):
            raise ValueError("is malformed: a bot token is three dot-separated parts (xxxx.yyyy.zzzz)")
        return value

    @field_validator("cytobot_discord_command")
    @classmethod
    def _discord_command(cls, value: str) -> str:
        if not DISCORD_COMMAND_SHAPE.match(value):
            raise ValueError(f"must be 1-32 lowercase letters, digits, - or _ (got {value[:40]!r})")
        return value

    @field_validator("slack_api_url", "discord_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL (got {value[:80]!r})")
        return value

    @field_validator("discord_gateway_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError(f"must be a ws(s) URL (got {value[:80]!r})")
        return value

    @model_validator(mode="after")
    def _together(self) -> Settings:
        """Values that only make sense with others."""
        if self.slack_bot_token is None and (self.slack_app_token or self.slack_signing_secret):
            raise ValueError("SLACK_BOT_TOKEN is not set, but SLACK_APP_TOKEN or SLACK_SIGNING_SECRET is: "
                             "set the bot token (xoxb-…) too, or remove the others")
        if self.slack_bot_token is not None and not (self.slack_app_token or self.slack_signing_secret):
            raise ValueError("SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) nor "
                             "SLACK_SIGNING_SECRET (HTTP mode) is")
        if self.discord_shard_ids is not None and self.discord_shard_count is None:
            raise ValueError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the total number of shards)")
        if self.discord_shard_ids and self.discord_shard_count is not None and max(self.discord_shard_ids) >= self.discord_shard_count:
            raise ValueError(f"DISCORD_SHARD_IDS must be below DISCORD_SHARD_COUNT ({self.discord_shard_count}): "
                             f"shards are numbered 0 to {self.discord_shard_count - 1}")
        return self

    # --- derived ----------------------------------------------------------------------------
    @property
    def content_dir(self) -> Path:
        """The pack directory, absolute but with symlinks kept: a reload follows the link as it
        is then (`ln -sfn` to deploy a new pack), so it is not resolved here once for all."""
        path = self.cytobot_content_dir
        return Path(os.path.abspath(path.expanduser())) if path is not None else bundled_content_dir()

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def slack_http(self) -> bool:
        """HTTP mode unless an app-level token asks for Socket Mode."""
        return self.slack_app_token is None

    @property
    def discord_configured(self) -> bool:
        return self.discord_token is not None

    def secrets(self) -> list[str]:
        """Every secret value, for the log filter that blanks them if a library ever prints one."""
        values = [s.get_secret_value() for s in (self.slack_bot_token, self.slack_app_token,
                                                 self.slack_signing_secret, self.discord_token) if s is not None]
        password = _url_password(self.cytobot_database_url.get_secret_value())
        return [v for v in (*values, password) if v]

    def named_secrets(self) -> dict[str, str]:
        """Each secret that is set, by variable (the database URL's password as
        CYTOBOT_DATABASE_URL), for the log filter and the warning about short ones."""
        named = {name.upper(): s.get_secret_value() for name, s in (
            ("slack_bot_token", self.slack_bot_token), ("slack_app_token", self.slack_app_token),
            ("slack_signing_secret", self.slack_signing_secret), ("discord_token", self.discord_token)) if s is not None}
        password = _url_password(self.cytobot_database_url.get_secret_value())
        if password:
            named["CYTOBOT_DATABASE_URL"] = password
        return named

    @classmethod
    def variables(cls) -> list[str]:
        """The variable names, in the order of the class."""
        return [name.upper() for name in cls.model_fields]


def _url_password(url: str) -> str:
    netloc = url.partition("://")[2].partition("/")[0]
    userinfo = netloc.rpartition("@")[0]
    return userinfo.partition(":")[2]


def load_settings(env_file: str | None = None, *, uses: frozenset[str] | None = None) -> Settings:
    """The settings from the environment and `.env`; raises SettingsError naming each wrong variable.
    `uses` (field names): read only these; every other field keeps its default, so a command is
    not refused for a wrong value it never reads."""
    unused = {} if uses is None else {
        name: field.get_default(call_default_factory=True) for name, field in Settings.model_fields.items() if name not in uses}
    try:
        return Settings(_env_file=env_file if env_file is not None else ENV_FILE, **unused)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise SettingsError([_problem(err) for err in exc.errors()]) from None


def _problem(err: Any) -> str:
    """One line per problem, naming the variable; the value is echoed only for non-secrets."""
    loc = err.get("loc") or ()
    message = str(err.get("msg", "is not valid")).removeprefix("Value error, ")
    if not loc:
        return message  # a rule over several variables names them itself
    field = str(loc[0])
    ctx = err.get("ctx") or {}
    message = {
        "int_parsing": "must be a whole number",
        "float_parsing": "must be a number",
        "bool_parsing": "must be true or false (1/0, yes/no, on/off)",
        "literal_error": f"must be one of {ctx.get('expected', '')}",
        "less_than_equal": f"must be at most {ctx.get('le')}",
        "less_than": f"must be below {ctx.get('lt')}",
        "greater_than_equal": f"must be at least {ctx.get('ge')}",
    }.get(err.get("type"), message)
    line = f"{field.upper()} {message}" if message.startswith(("must", "is ")) else f"{field.upper()}: {message}"
    value = err.get("input")
    if field not in SECRET_FIELDS and isinstance(value, str | int | float) and repr(str(value)[:40]) not in line:
        line += f" (got {str(value)[:40]!r})"
    return line
