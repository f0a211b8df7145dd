"""Settings from the environment (and a `.env` file): the only reader of os.environ.

Every value is validated here, at start-up, so that a typo stops the process with one
line naming the variable instead of surfacing hours later inside a scheduled job.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.ids import ACCOUNT_ID, CHANNEL_ID, REGION

if TYPE_CHECKING:
    from bot.core.routing import Channel, Route

__all__ = ["ACCOUNT_ID", "CHANNEL_ID", "REGION", "ConfigError", "Settings"]

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_ESCALATE_AFTER = timedelta(days=7)
_SPAN = re.compile(r"^(\d+)\s*([mhdw])$")
_SPAN_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
ORG = "org"

_OPERATOR = re.compile(r"^[UWS][A-Z0-9]{2,30}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
CRON_HORIZON = timedelta(days=8 * 366)

T = TypeVar("T")
SecurityHubMode = Literal["off", "check", "sync"]
AckWorkflow = Literal["SUPPRESSED", "NOTIFIED"]
LogFormat = Literal["text", "json"]
LOG_FORMAT = "SSM3_LOG_FORMAT"

# Every variable Settings.from_env reads; .env.example and the README's configuration table
# list exactly these (tests/test_config_docs.py keeps the three equal).
VARIABLES: tuple[str, ...] = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SSM3_SLACK_API_URL",
    "SSM3_CHANNEL",
    "SSM3_REGIONS",
    "SSM3_ACCOUNTS",
    "SSM3_ROLE_NAME",
    "SSM3_SWEEP_SCHEDULE",
    "SSM3_DIGEST_SCHEDULE",
    "SSM3_TIMEZONE",
    "SSM3_DB_PATH",
    "SSM3_OPERATORS",
    "SSM3_RERUN_COOLDOWN",
    "SSM3_HTTP_PORT",
    "SSM3_CONCURRENCY",
    "SSM3_ALERTS",
    "SSM3_SECURITYHUB",
    "SSM3_SECURITYHUB_REGION",
    "SSM3_ACK_WORKFLOW",
    "SSM3_ROUTES_FILE",
    "SSM3_ESCALATE_AFTER",
    "SSM3_LOG_FORMAT",
    "AWS_REGION",
)


class ConfigError(ValueError):
    """A bad configuration value; its message names the variable and says what is expected."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    """Validated configuration. Build it with `Settings.from_env()`; tests build it directly."""

    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    channel: str | None = None
    regions: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    accounts_from_org: bool = False
    role_name: str = "SSM3ReadOnly"
    sweep_schedule: str = "0 * * * *"
    digest_schedule: str = "0 9 * * *"
    timezone: str = "UTC"
    db_path: str = "ssm3.db"
    operators: tuple[str, ...] = ()
    rerun_cooldown_s: int = 300
    http_port: int = 3000
    concurrency: int = 8
    alerts: bool = True
    securityhub: SecurityHubMode = "check"
    securityhub_region: str | None = None  # None: the first of `regions`, else the session's
    ack_workflow: AckWorkflow = "SUPPRESSED"  # what an acknowledgement sets in `sync` mode
    routes_file: str | None = None
    routes: tuple[Route, ...] = ()  # read from routes_file at start-up
    escalate_after: timedelta = DEFAULT_ESCALATE_AFTER
    log_format: LogFormat = "text"
    # boto3 reads AWS_DEFAULT_REGION; many runtimes (ECS, Lambda, other SDKs) set AWS_REGION.
    aws_region: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def channels(self) -> tuple[Channel, ...]:
        """Where digests and alerts go: SSM3_CHANNEL (everything) first, then the routes'."""
        from bot.core.routing import channels

        return channels(self.channel, self.routes)

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some fields replaced (tests and the demo use this)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
    ) -> Settings:
        """Read and validate every variable; raise ConfigError naming the first bad one."""
        env = _environment(environ, dotenv)

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        accounts_raw = get("SSM3_ACCOUNTS")
        routes_file = get("SSM3_ROUTES_FILE")
        from_org = accounts_raw is not None and accounts_raw.lower() == ORG
        return cls(
            slack_bot_token=_check(get("SLACK_BOT_TOKEN"), "SLACK_BOT_TOKEN", _token("xoxb-")),
            slack_app_token=_check(get("SLACK_APP_TOKEN"), "SLACK_APP_TOKEN", _token("xapp-")),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_api_url=_or(
                get("SSM3_SLACK_API_URL"), "SSM3_SLACK_API_URL", _url, DEFAULT_SLACK_API_URL
            ),
            channel=_check(get("SSM3_CHANNEL"), "SSM3_CHANNEL", _channel),
            regions=_list(
                get("SSM3_REGIONS"), "SSM3_REGIONS", REGION, "an AWS region like eu-west-1"
            ),
            accounts=()
            if from_org
            else _list(accounts_raw, "SSM3_ACCOUNTS", ACCOUNT_ID, "a 12-digit account ID or 'org'"),
            accounts_from_org=from_org,
            role_name=_or(get("SSM3_ROLE_NAME"), "SSM3_ROLE_NAME", _role, "SSM3ReadOnly"),
            sweep_schedule=_or(
                get("SSM3_SWEEP_SCHEDULE"), "SSM3_SWEEP_SCHEDULE", _cron, "0 * * * *"
            ),
            digest_schedule=_or(
                get("SSM3_DIGEST_SCHEDULE"), "SSM3_DIGEST_SCHEDULE", _cron, "0 9 * * *"
            ),
            timezone=_or(get("SSM3_TIMEZONE"), "SSM3_TIMEZONE", _zone, "UTC"),
            db_path=get("SSM3_DB_PATH") or "ssm3.db",
            operators=_list(
                get("SSM3_OPERATORS"),
                "SSM3_OPERATORS",
                _OPERATOR,
                "a Slack user ID (U…) or user-group ID (S…)",
            ),
            rerun_cooldown_s=_int(get("SSM3_RERUN_COOLDOWN"), "SSM3_RERUN_COOLDOWN", 300, 0, 86400),
            http_port=_int(get("SSM3_HTTP_PORT"), "SSM3_HTTP_PORT", 3000, 1, 65535),
            concurrency=_int(get("SSM3_CONCURRENCY"), "SSM3_CONCURRENCY", 8, 1, 128),
            alerts=_or(get("SSM3_ALERTS"), "SSM3_ALERTS", _on_off, True),
            securityhub=_or(get("SSM3_SECURITYHUB"), "SSM3_SECURITYHUB", _securityhub, "check"),
            securityhub_region=_check(
                get("SSM3_SECURITYHUB_REGION"), "SSM3_SECURITYHUB_REGION", _region
            ),
            ack_workflow=_or(
                get("SSM3_ACK_WORKFLOW"), "SSM3_ACK_WORKFLOW", _ack_workflow, "SUPPRESSED"
            ),
            routes_file=routes_file,
            routes=_routes(routes_file),
            escalate_after=_or(
                get("SSM3_ESCALATE_AFTER"),
                "SSM3_ESCALATE_AFTER",
                _span,
                DEFAULT_ESCALATE_AFTER,
            ),
            log_format=_or(get("SSM3_LOG_FORMAT"), "SSM3_LOG_FORMAT", _log_format, "text"),
            aws_region=get("AWS_REGION"),
        )

    @classmethod
    def from_env_all_problems(
        cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
    ) -> tuple[Settings, list[ConfigError]]:
        """Every bad variable at once (for `doctor`): the settings as if the bad ones were unset,
        and one ConfigError per bad variable, in the order from_env meets them."""
        env = _environment(environ, dotenv)
        problems: list[ConfigError] = []
        while True:
            try:
                return cls.from_env(env, dotenv=None), problems
            except ConfigError as exc:
                if exc.variable not in env:  # pragma: no cover - every check reads its variable
                    raise
                problems.append(exc)
                env = {k: v for k, v in env.items() if k != exc.variable}


def log_format_from_env(
    environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
) -> LogFormat:
    """SSM3_LOG_FORMAT alone: logging is set up before the rest is read (and a bad value
    elsewhere is itself reported in that format)."""
    value = _environment(environ, dotenv).get(LOG_FORMAT, "").strip()
    return _log_format(value, LOG_FORMAT) if value else "text"


def _environment(environ: Mapping[str, str] | None, dotenv: Path | None) -> dict[str, str]:
    """The `.env` file overlaid by the real environment (or by `environ`, in tests)."""
    env: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        env.update(read_dotenv(dotenv))
    env.update(os.environ if environ is None else environ)
    return env


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as python-dotenv reads them (`export`, quotes with escapes, multi-line
    values, # comments); a variable without a value is left out. The real environment wins."""
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path, interpolate=False).items() if v is not None}


def _check(value: str | None, name: str, parse: Callable[[str, str], T]) -> T | None:
    return None if value is None else parse(value, name)


def _or(value: str | None, name: str, parse: Callable[[str, str], T], default: T) -> T:
    return default if value is None else parse(value, name)


def _token(prefix: str) -> Callable[[str, str], str]:
    def parse(value: str, name: str) -> str:
        if not value.startswith(prefix):
            # Never echo the value: it may be a real secret pasted into the wrong variable.
            raise ConfigError(name, f"expected a token starting with {prefix}")
        return value

    return parse


def _url(value: str, name: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ConfigError(name, f"{value!r} is not an http(s) URL")
    return value if value.endswith("/") else value + "/"


def _channel(value: str, name: str) -> str:
    if not CHANNEL_ID.match(value):
        raise ConfigError(name, f"{value!r} is not a channel ID (like C0123456789; not #name)")
    return value


def _role(value: str, name: str) -> str:
    if not _ROLE_NAME.match(value):
        raise ConfigError(name, f"{value!r} is not an IAM role name")
    return value


def _cron(value: str, name: str) -> str:
    from bot.crontab import cron_trigger

    try:
        trigger = cron_trigger(value, "UTC")
    except ValueError as exc:
        raise ConfigError(
            name, f"{value!r} is not a 5-field cron expression (like '0 9 * * *'): {exc}"
        ) from None
    # A valid expression can still name a day that never comes (31 February): the job would
    # silently never run. A leap day comes within 4 years (8 across a skipped century leap year).
    now = datetime.now(UTC)
    upcoming = trigger.get_next_fire_time(None, now)
    if upcoming is None or upcoming - now > CRON_HORIZON:
        raise ConfigError(name, f"{value!r} never fires (no such date within the next 8 years)")
    return value


def _zone(value: str, name: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            name, f"{value!r} is not an IANA time zone (like Europe/Berlin)"
        ) from None
    return value


def _securityhub(value: str, name: str) -> SecurityHubMode:
    lowered = value.lower()
    if lowered == "off":
        return "off"
    if lowered == "check":
        return "check"
    if lowered == "sync":
        return "sync"
    raise ConfigError(name, f"{value!r} is not 'off', 'check' or 'sync'")


def _ack_workflow(value: str, name: str) -> AckWorkflow:
    upper = value.upper()
    if upper == "SUPPRESSED":
        return "SUPPRESSED"
    if upper == "NOTIFIED":
        return "NOTIFIED"
    raise ConfigError(name, f"{value!r} is not SUPPRESSED or NOTIFIED")


def _routes(path: str | None) -> tuple[Route, ...]:
    if path is None:
        return ()
    from bot.routes_file import RoutesError, load_routes

    try:
        return load_routes(path)
    except RoutesError as exc:
        raise ConfigError("SSM3_ROUTES_FILE", str(exc)) from None


def _span(value: str, name: str) -> timedelta:
    match = _SPAN.match(value.strip().lower())
    if not match:
        raise ConfigError(name, f"{value!r} is not a duration like 36h, 7d or 2w")
    span = timedelta(seconds=int(match[1]) * _SPAN_UNITS[match[2]])
    if span < timedelta(hours=1):
        raise ConfigError(name, f"{value!r} is shorter than an hour")
    return span


def _log_format(value: str, name: str) -> LogFormat:
    lowered = value.lower()
    if lowered == "text":
        return "text"
    if lowered == "json":
        return "json"
    raise ConfigError(name, f"{value!r} is not 'text' or 'json'")


def _region(value: str, name: str) -> str:
    if not REGION.match(value):
        raise ConfigError(name, f"{value!r} is not an AWS region like eu-west-1")
    return value


def _on_off(value: str, name: str) -> bool:
    lowered = value.lower()
    if lowered in {"on", "true", "1", "yes"}:
        return True
    if lowered in {"off", "false", "0", "no"}:
        return False
    raise ConfigError(name, f"{value!r} is not 'on' or 'off'")


def _int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(name, f"{value!r} is not a whole number") from None
    if not low <= number <= high:
        raise ConfigError(name, f"{number} is outside {low}..{high}")
    return number


def _list(value: str | None, name: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
    for item in items:
        if not pattern.match(item):
            raise ConfigError(name, f"{item!r} is not {what}")
    return items
