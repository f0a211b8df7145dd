"""Cron arithmetic in the configured zone: the fire times the scheduler uses, and the slot
(the latest fire time at or before a moment) that decides whether a digest is due.

APScheduler's CronTrigger does the calendar work, daylight-saving changes included; these
helpers only ask it the two questions APScheduler 3 has no method for.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_LOOKBACKS = (
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=8),
    timedelta(days=32),
    timedelta(days=367),
)


def cron_trigger(expression: str, zone: ZoneInfo) -> CronTrigger:
    """A 5-field crontab expression evaluated in `zone` (validated earlier by config)."""
    return CronTrigger.from_crontab(expression, timezone=zone)


def next_fire(trigger: CronTrigger, after: datetime) -> datetime | None:
    """The first fire time strictly after `after`."""
    moment = after + timedelta(microseconds=1)
    fire: datetime | None = trigger.get_next_fire_time(None, moment)
    return fire


def latest_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest fire time at or before `now` (the current slot), or None within a year."""
    for lookback in _LOOKBACKS:
        fire: datetime | None = trigger.get_next_fire_time(None, now - lookback)
        if fire is None or fire > now:
            continue
        while True:
            following = next_fire(trigger, fire)
            if following is None or following > now:
                return fire
            fire = following
    return None


def period(trigger: CronTrigger, now: datetime) -> timedelta:
    """The gap between the fire times around `now` (for health: 'two sweep periods')."""
    first = next_fire(trigger, now)
    second = next_fire(trigger, first) if first else None
    if first is None or second is None:
        return timedelta(days=1)
    return second - first
