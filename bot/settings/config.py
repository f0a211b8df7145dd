"""Settings from the environment (and a `.env` file): the only reader of os.environ.

Every value is validated here, at start-up, so that a typo stops the process with one
line naming the variable instead of surfacing hours later inside a scheduled job.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from bot.core.ids import ACCOUNT_ID, CHANNEL_ID, REGION, SLACK_USER_OR_GROUP
from bot.settings.values import (
    ConfigError,
    channel,
    check,
    cron,
    int_in,
    list_of,
    on_off,
    or_default,
    region,
    role,
    span,
    token,
    url,
    zone,
)

if TYPE_CHECKING:
    from bot.core.routing import Channel, Route

__all__ = ["ACCOUNT_ID", "CHANNEL_ID", "REGION", "ConfigError", "Settings"]

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_ESCALATE_AFTER = timedelta(days=7)
ORG = "org"


SecurityHubMode = Literal["off", "check", "sync"]
AckWorkflow = Literal["SUPPRESSED", "NOTIFIED"]
LogFormat = Literal["text", "json"]
LOG_FORMAT = "SSM3_LOG_FORMAT"
TriageMode = Literal["off", "securityhub"]
DEFAULT_FULL_SWEEP_SCHEDULE = "0 */6 * * *"
DEFAULT_REPORT_SCHEDULE = "0 9 1 * *"  # the 1st of the month: the month before
OFF = "off"
# An SQS queue URL: scheme, host, the owning account, the queue's name (".fifo" for FIFO).
_QUEUE_URL = re.compile(r"https?://[^\s/?#]+/[0-9]{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?")
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
    "SSM3_VIEWERS",
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
    "SSM3_EVENTS_QUEUE_URL",
    "SSM3_TRIAGE",
    "SSM3_FULL_SWEEP_SCHEDULE",
    "SSM3_REPORT_SCHEDULE",
    "AWS_REGION",
)


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
    viewers: tuple[str, ...] = ()  # SSM3_VIEWERS: who may read the details (empty: everyone)
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
    events_queue_url: str | None = None  # None: no real-time poller
    triage: TriageMode = "off"
    full_sweep_schedule: str = DEFAULT_FULL_SWEEP_SCHEDULE  # in triage mode only
    report_schedule: str = DEFAULT_REPORT_SCHEDULE  # the evidence report's post; "off": never
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
        routes_file = get("SSM3_ROUTES_FILE")
        from_org = accounts_raw is not None and accounts_raw.lower() == ORG
        securityhub: SecurityHubMode = or_default(
            get("SSM3_SECURITYHUB"), "SSM3_SECURITYHUB", _securityhub, "check"
        )
        return cls(
            slack_bot_token=check(get("SLACK_BOT_TOKEN"), "SLACK_BOT_TOKEN", token("xoxb-")),
            slack_app_token=check(get("SLACK_APP_TOKEN"), "SLACK_APP_TOKEN", token("xapp-")),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_api_url=or_default(
                get("SSM3_SLACK_API_URL"), "SSM3_SLACK_API_URL", url, DEFAULT_SLACK_API_URL
            ),
            channel=check(get("SSM3_CHANNEL"), "SSM3_CHANNEL", channel),
            regions=list_of(
                get("SSM3_REGIONS"), "SSM3_REGIONS", REGION, "an AWS region like eu-west-1"
            ),
            accounts=()
            if from_org
            else list_of(
                accounts_raw, "SSM3_ACCOUNTS", ACCOUNT_ID, "a 12-digit account ID or 'org'"
            ),
            accounts_from_org=from_org,
            role_name=or_default(get("SSM3_ROLE_NAME"), "SSM3_ROLE_NAME", role, "SSM3ReadOnly"),
            sweep_schedule=or_default(
                get("SSM3_SWEEP_SCHEDULE"), "SSM3_SWEEP_SCHEDULE", cron, "0 * * * *"
            ),
            digest_schedule=or_default(
                get("SSM3_DIGEST_SCHEDULE"), "SSM3_DIGEST_SCHEDULE", cron, "0 9 * * *"
            ),
            timezone=or_default(get("SSM3_TIMEZONE"), "SSM3_TIMEZONE", zone, "UTC"),
            db_path=get("SSM3_DB_PATH") or "ssm3.db",
            operators=list_of(
                get("SSM3_OPERATORS"),
                "SSM3_OPERATORS",
                SLACK_USER_OR_GROUP,
                "a Slack user ID (U…) or user-group ID (S…)",
            ),
            viewers=list_of(
                get("SSM3_VIEWERS"),
                "SSM3_VIEWERS",
                SLACK_USER_OR_GROUP,
                "a Slack user ID (U…) or user-group ID (S…)",
            ),
            rerun_cooldown_s=int_in(
                get("SSM3_RERUN_COOLDOWN"), "SSM3_RERUN_COOLDOWN", 300, 0, 86400
            ),
            http_port=int_in(get("SSM3_HTTP_PORT"), "SSM3_HTTP_PORT", 3000, 1, 65535),
            concurrency=int_in(get("SSM3_CONCURRENCY"), "SSM3_CONCURRENCY", 8, 1, 128),
            alerts=or_default(get("SSM3_ALERTS"), "SSM3_ALERTS", on_off, True),
            securityhub=securityhub,
            securityhub_region=check(
                get("SSM3_SECURITYHUB_REGION"), "SSM3_SECURITYHUB_REGION", region
            ),
            ack_workflow=or_default(
                get("SSM3_ACK_WORKFLOW"), "SSM3_ACK_WORKFLOW", _ack_workflow, "SUPPRESSED"
            ),
            routes_file=routes_file,
            routes=_routes(routes_file),
            escalate_after=or_default(
                get("SSM3_ESCALATE_AFTER"),
                "SSM3_ESCALATE_AFTER",
                span,
                DEFAULT_ESCALATE_AFTER,
            ),
            log_format=or_default(get("SSM3_LOG_FORMAT"), "SSM3_LOG_FORMAT", _log_format, "text"),
            events_queue_url=check(
                get("SSM3_EVENTS_QUEUE_URL"), "SSM3_EVENTS_QUEUE_URL", _queue_url
            ),
            triage=_triage(get("SSM3_TRIAGE"), securityhub),
            full_sweep_schedule=or_default(
                get("SSM3_FULL_SWEEP_SCHEDULE"),
                "SSM3_FULL_SWEEP_SCHEDULE",
                cron,
                DEFAULT_FULL_SWEEP_SCHEDULE,
            ),
            report_schedule=or_default(
                get("SSM3_REPORT_SCHEDULE"),
                "SSM3_REPORT_SCHEDULE",
                _cron_or_off,
                DEFAULT_REPORT_SCHEDULE,
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
    from bot.settings.routes_file import RoutesError, load_routes

    try:
        return load_routes(path)
    except RoutesError as exc:
        raise ConfigError("SSM3_ROUTES_FILE", str(exc)) from None


def _cron_or_off(value: str, name: str) -> str:
    return OFF if value.lower() == OFF else cron(value, name)


def _log_format(value: str, name: str) -> LogFormat:
    lowered = value.lower()
    if lowered == "text":
        return "text"
    if lowered == "json":
        return "json"
    raise ConfigError(name, f"{value!r} is not 'text' or 'json'")


def _queue_url(value: str, name: str) -> str:
    if not _QUEUE_URL.fullmatch(value):
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
