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
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
ORG = "org"

# What an AWS region and an account ID look like; bot.slack.parsing and the CLI use these too.
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$")
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
_OPERATOR = re.compile(r"^[UWS][A-Z0-9]{2,30}$")
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,30}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
CRON_HORIZON = timedelta(days=8 * 366)

T = TypeVar("T")
SecurityHubMode = Literal["off", "check"]
TriageMode = Literal["off", "securityhub"]
DEFAULT_FULL_SWEEP_SCHEDULE = "0 */6 * * *"
# An SQS queue URL: scheme, host, the owning account, the queue's name (".fifo" for FIFO).
_QUEUE_URL = re.compile(r"^https?://[^\s/?#]+/[0-9]{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?$")
# The region in an SQS endpoint's host: sqs.REGION.amazonaws.com (.cn, api.aws, vpce forms too)
# or the legacy REGION.queue.amazonaws.com.
_QUEUE_REGION = re.compile(
    r"^(?:[^/]*\.)?sqs\.([a-z]{2}(?:-[a-z]+)+-[0-9]{1,2})\.|^([a-z]{2}(?:-[a-z]+)+-[0-9]{1,2})\.queue\."
)

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
    "SSM3_EVENTS_QUEUE_URL",
    "SSM3_TRIAGE",
    "SSM3_FULL_SWEEP_SCHEDULE",
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
    events_queue_url: str | None = None  # None: no real-time poller
    triage: TriageMode = "off"
    full_sweep_schedule: str = DEFAULT_FULL_SWEEP_SCHEDULE  # in triage mode only
    # boto3 reads AWS_DEFAULT_REGION; many runtimes (ECS, Lambda, other SDKs) set AWS_REGION.
    aws_region: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def events_queue_region(self) -> str | None:
        """The events queue's region, from its URL (None where the host does not say, as on a
        local endpoint: then the session's region)."""
        if not self.events_queue_url:
            return None
        host = self.events_queue_url.split("://", 1)[-1].split("/", 1)[0]
        found = _QUEUE_REGION.match(host)
        return (found.group(1) or found.group(2)) if found else None

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
        from_org = accounts_raw is not None and accounts_raw.lower() == ORG
        securityhub: SecurityHubMode = _or(
            get("SSM3_SECURITYHUB"), "SSM3_SECURITYHUB", _securityhub, "check"
        )
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
            securityhub=securityhub,
            securityhub_region=_check(
                get("SSM3_SECURITYHUB_REGION"), "SSM3_SECURITYHUB_REGION", _region
            ),
            events_queue_url=_check(
                get("SSM3_EVENTS_QUEUE_URL"), "SSM3_EVENTS_QUEUE_URL", _queue_url
            ),
            triage=_triage(get("SSM3_TRIAGE"), securityhub),
            full_sweep_schedule=_or(
                get("SSM3_FULL_SWEEP_SCHEDULE"),
                "SSM3_FULL_SWEEP_SCHEDULE",
                _cron,
                DEFAULT_FULL_SWEEP_SCHEDULE,
            ),
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
    if not _CHANNEL.match(value):
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
        raise ConfigError(
            name,
            "'sync' (acknowledgements written to Security Hub) is not available yet; use check",
        )
    raise ConfigError(name, f"{value!r} is not 'off' or 'check'")


def _queue_url(value: str, name: str) -> str:
    if not _QUEUE_URL.match(value):
        raise ConfigError(
            name,
            f"{value!r} is not an SQS queue URL "
            "(like https://sqs.eu-west-1.amazonaws.com/123456789012/ssm3-events)",
        )
    return value


def _triage(value: str | None, securityhub: SecurityHubMode) -> TriageMode:
    name = "SSM3_TRIAGE"
    lowered = (value or "off").lower()
    if lowered == "off":
        return "off"
    if lowered != "securityhub":
        raise ConfigError(name, f"{value!r} is not 'off' or 'securityhub'")
    if securityhub == "off":
        raise ConfigError(
            name, "'securityhub' reads Security Hub's SSM.3 findings, but SSM3_SECURITYHUB is off"
        )
    return "securityhub"


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
