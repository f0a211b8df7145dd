"""Cron arithmetic in the configured zone: the fire times the scheduler uses, the slot (the
latest fire time at or before a moment) that decides whether a digest is due, and the period
that health allows between sweeps.

APScheduler's CronTrigger does the calendar work, daylight-saving changes included (built by
bot.core.crontab so weekdays mean what crontab means); these helpers only ask it the questions
APScheduler 3 has no method for.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger

from bot.core.crontab import cron_trigger

__all__ = ["cron_trigger", "latest_fire", "next_fire", "period"]

_NEXT_FIRE_TRIES = 40  # 2**40 seconds: far past any gap a cron expression can have
_WALK_LIMIT = 100_000  # a minutely schedule walks at most 60 fire times per lookback hour
_LOOKBACKS = (
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=8),
    timedelta(days=32),
    timedelta(days=367),
    timedelta(days=5 * 366),  # "0 0 29 2 *" fires once in four years
)


def next_fire(trigger: BaseTrigger, after: datetime) -> datetime | None:
    """The first fire time strictly after `after`.

    In the repeated hour of a daylight-saving fall-back, APScheduler 3 can answer with a time
    at or before the moment asked about (for a whole day, for a schedule inside that hour).
    Asking again a little later, then twice as much later, always moves on: a fire time that
    only the buggy hour hides is skipped, never looped on.
    """
    step = timedelta(seconds=1)
    after = after.astimezone(UTC)
    moment = after
    for _ in range(_NEXT_FIRE_TRIES):
        fire = _utc(trigger.get_next_fire_time(None, moment + timedelta(microseconds=1)))
        if fire is None or fire > after:
            return fire
        moment, step = moment + step, step * 2
    return None


def _utc(moment: datetime | None) -> datetime | None:
    """In UTC: a zone-aware time with fold=1 compares unequal to every other zone's (PEP 495)."""
    return None if moment is None else moment.astimezone(UTC)


def latest_fire(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """The latest fire time at or before `now` (the current slot, in UTC), or None in 5 years."""
    now = now.astimezone(UTC)
    for lookback in _LOOKBACKS:
        fire = _utc(trigger.get_next_fire_time(None, now - lookback))
        if fire is None or fire > now:
            continue
        for _ in range(_WALK_LIMIT):  # next_fire always moves on, so this only bounds the walk
            following = next_fire(trigger, fire)
            if following is None or following > now:
                return fire
            fire = following
        return fire
    return None


def period(trigger: BaseTrigger, now: datetime) -> timedelta:
    """The gap between scheduled runs around `now`.

    For a regular schedule that is simply its interval. For an irregular one (weekdays only,
    office hours) it is the longer of the gap that ended at the latest fire time and the gap
    that starts there, so a quiet weekend does not make Monday's first minutes look overdue.
    """
    upcoming = next_fire(trigger, now)
    following = next_fire(trigger, upcoming) if upcoming else None
    if upcoming is None or following is None:
        return timedelta(days=1)
    latest = latest_fire(trigger, now)
    before = latest_fire(trigger, latest - timedelta(microseconds=1)) if latest else None
    if latest is None or before is None:
        return _elapsed(upcoming, following)
    return max(_elapsed(before, latest), _elapsed(latest, next_fire(trigger, latest) or upcoming))


def _elapsed(start: datetime, end: datetime) -> timedelta:
    """Real time between two moments (same-zone subtraction would count wall-clock time)."""
    return end.astimezone(UTC) - start.astimezone(UTC)
