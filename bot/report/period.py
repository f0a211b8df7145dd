"""Which stretch of time a report covers: the last full calendar month by default, the
previous period to compare with, and the period a scheduled report's slot stands for. Days and
months are SSM3_TIMEZONE's; moments are kept in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from bot.core.slots import latest_fire

MAX_DAYS = 400  # the store keeps what a report needs for at least this long
TICK = timedelta(microseconds=1)  # a period's last moment is just before its end


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    @property
    def length(self) -> timedelta:
        return self.until - self.since


def local_midnight(moment: datetime, zone: ZoneInfo) -> datetime:
    """The start of `moment`'s day in `zone`, in UTC."""
    day = moment.astimezone(zone).date()
    return datetime.combine(day, time(), zone).astimezone(UTC)


def _month_start(moment: datetime, zone: ZoneInfo, back: int = 0) -> datetime:
    """The first moment of the month `back` months before `moment`'s (in `zone`), in UTC."""
    local = moment.astimezone(zone)
    months = local.year * 12 + local.month - 1 - back
    first = datetime(months // 12, months % 12 + 1, 1, tzinfo=zone)
    return first.astimezone(UTC)


def is_month_start(moment: datetime, zone: ZoneInfo) -> bool:
    return _month_start(moment, zone) == moment.astimezone(UTC)


def last_full_month(now: datetime, zone: ZoneInfo) -> Period:
    return Period(_month_start(now, zone, 1), _month_start(now, zone))


def month_before(until: datetime, zone: ZoneInfo) -> datetime:
    """One calendar month before `until` when it starts a month, else 30 days before it."""
    if is_month_start(until, zone):
        return _month_start(until, zone, 1)
    return until - timedelta(days=30)


def previous(period: Period, zone: ZoneInfo) -> Period:
    """The period a report compares with: as many whole calendar months before it as it spans
    when it runs from month start to month start, else the same length just before it."""
    if is_month_start(period.since, zone) and is_month_start(period.until, zone):
        months = 0
        while _month_start(period.until, zone, months) > period.since:
            months += 1
        return Period(_month_start(period.since, zone, months), period.since)
    return Period(period.since - period.length, period.since)


def for_slot(trigger: BaseTrigger, slot: datetime, zone: ZoneInfo) -> Period:
    """What a scheduled report fired at `slot` covers: whole days, from the day of the
    schedule's previous fire time to the slot's day (the default `0 9 1 * *`: the month
    before). A schedule that fires more than once a day covers the time since the last."""
    before = latest_fire(trigger, slot - timedelta(microseconds=1))
    if before is None:
        return Period(local_midnight(slot, zone) - timedelta(days=1), local_midnight(slot, zone))
    since, until = local_midnight(before, zone), local_midnight(slot, zone)
    if since >= until:
        return Period(before.astimezone(UTC), slot.astimezone(UTC))
    return Period(since, until)
