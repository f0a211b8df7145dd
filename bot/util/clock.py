"""Time helpers: one way to get 'now', write it down, read it back and say how long ago."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC to the second, with a Z: the contract's timestamp format."""
    if moment is None:
        return None
    # isoformat is twice as fast as strftime, and a sweep writes tens of thousands of these.
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_user_time(text: str, zone: tzinfo) -> datetime:
    """A time a person typed: a date (YYYY-MM-DD, its midnight) or a full ISO-8601 time.

    A date or a time without an offset is read in `zone` (SSM3_TIMEZONE), the zone the team
    schedules in. Raises ValueError with a message fit to show as it is.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date (YYYY-MM-DD) or an ISO-8601 time (like 2026-11-28T09:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def aware(moment: datetime | None) -> datetime | None:
    """botocore hands back tzlocal datetimes; normalise them to UTC."""
    return None if moment is None else moment.astimezone(UTC)


def humanize(span: timedelta) -> str:
    """'3d 4h', '5h 12m', '7m', 'just now': how long something has been so, for people."""
    seconds = max(0, int(span.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return "just now"


def ago(span: timedelta) -> str:
    """'3d 4h ago', or 'just now'."""
    words = humanize(span)
    return words if words == "just now" else f"{words} ago"
