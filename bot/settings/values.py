"""Reading one configuration value: the checks every variable shares (tokens, IDs, cron,
zones, numbers, lists, durations), each raising ConfigError naming the variable."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.ids import CHANNEL_ID, REGION

T = TypeVar("T")
_SPAN = re.compile(r"(\d+)\s*([mhdw])")
_SPAN_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")
CRON_HORIZON = timedelta(days=8 * 366)


class ConfigError(ValueError):
    """A bad configuration value; its message names the variable and says what is expected."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


def check(value: str | None, name: str, parse: Callable[[str, str], T]) -> T | None:
    return None if value is None else parse(value, name)


def or_default(value: str | None, name: str, parse: Callable[[str, str], T], default: T) -> T:
    return default if value is None else parse(value, name)


def token(prefix: str) -> Callable[[str, str], str]:
    def parse(value: str, name: str) -> str:
        if not value.startswith(prefix):
            # Never echo the value: it may be a real secret pasted into the wrong variable.
            raise ConfigError(name, f"expected a token starting with {prefix}")
        return value

    return parse


def url(value: str, name: str) -> str:
    """An https URL; plain http only to this machine (a local test server): the bot token is
    sent to it with every call."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or re.search(r"\s", value):
        raise ConfigError(name, f"{value!r} is not an http(s) URL")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ConfigError(
            name,
            f"{value!r} is plain http to another machine, which would send the bot token "
            "unencrypted: use https (http is for a server on this machine only)",
        )
    return value if value.endswith("/") else value + "/"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def channel(value: str, name: str) -> str:
    if not CHANNEL_ID.fullmatch(value):
        raise ConfigError(name, f"{value!r} is not a channel ID (like C0123456789; not #name)")
    return value


def role(value: str, name: str) -> str:
    if not _ROLE_NAME.fullmatch(value):
        raise ConfigError(name, f"{value!r} is not an IAM role name")
    return value


def cron(value: str, name: str) -> str:
    from bot.core.crontab import cron_trigger

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


def zone(value: str, name: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            name, f"{value!r} is not an IANA time zone (like Europe/Berlin)"
        ) from None
    return value


def region(value: str, name: str) -> str:
    if not REGION.fullmatch(value):
        raise ConfigError(name, f"{value!r} is not an AWS region like eu-west-1")
    return value


def on_off(value: str, name: str) -> bool:
    lowered = value.lower()
    if lowered in {"on", "true", "1", "yes"}:
        return True
    if lowered in {"off", "false", "0", "no"}:
        return False
    raise ConfigError(name, f"{value!r} is not 'on' or 'off'")


def int_in(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(name, f"{value!r} is not a whole number") from None
    if not low <= number <= high:
        raise ConfigError(name, f"{number} is outside {low}..{high}")
    return number


def list_of(value: str | None, name: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
    for item in items:
        if not pattern.fullmatch(item):
            raise ConfigError(name, f"{item!r} is not {what}")
    return items


def span(value: str, name: str) -> timedelta:
    match = _SPAN.fullmatch(value.strip().lower())
    if not match:
        raise ConfigError(name, f"{value!r} is not a duration like 36h, 7d or 2w")
    span = timedelta(seconds=int(match[1]) * _SPAN_UNITS[match[2]])
    if span < timedelta(hours=1):
        raise ConfigError(name, f"{value!r} is shorter than an hour")
    return span
