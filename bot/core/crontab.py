"""Cron expressions as crontab(5) means them, on APScheduler 3's CronTrigger.

APScheduler 3 numbers weekdays from Monday = 0, so its `from_crontab("0 9 * * 1-5")` fires
Tuesday to Saturday (its documented "historical mistake", fixed only in 4.x). Every user of
SSM3_SWEEP_SCHEDULE / SSM3_DIGEST_SCHEDULE (config validation, the scheduler, health) builds
its trigger here, so "1-5" means Monday to Friday everywhere, as in every crontab.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMERIC = re.compile(r"(\*|\d+)(?:-(\d+))?(?:/(\d+))?")


def cron_trigger(expression: str, timezone: tzinfo | str) -> BaseTrigger:
    """A trigger for a 5-field crontab expression; raises ValueError when it is not one.

    When both day-of-month and day-of-week are restricted, crontab(5) fires on a day that
    matches either; APScheduler wants both, so that case becomes an OrTrigger of the two.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"Wrong number of fields; got {len(fields)}, expected 5")
    minute, hour, day, month, weekday = fields
    days = crontab_weekdays(weekday)

    def on(day_field: str, weekday_field: str) -> CronTrigger:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day_field,
            month=month,
            day_of_week=weekday_field,
            timezone=timezone,
        )

    if day != "*" and weekday != "*":
        return OrTrigger([on(day, "*"), on("*", days)])
    return on(day, days)


def crontab_weekdays(field: str) -> str:
    """Rewrite crontab weekday numbers (0 or 7 = Sunday) as names, which APScheduler reads
    unambiguously; names, `*` and anything else pass through for APScheduler to judge."""
    parts: list[str] = []
    for part in field.split(","):
        match = _NUMERIC.fullmatch(part)
        if match is None or part == "*":
            parts.append(part)
            continue
        first, last, step = match.groups()
        if first == "*":
            start, end = 0, 6
        else:
            start = int(first)
            end = int(last) if last is not None else (6 if step else start)
        if not (0 <= start <= 7 and 0 <= end <= 7 and start <= end):
            raise ValueError(f"weekday {part!r} is not within 0-7 (0 and 7 are Sunday)")
        every = int(step) if step else 1
        if every < 1:
            raise ValueError(f"weekday step in {part!r} must be at least 1")
        days = {_NAMES[n % 7] for n in range(start, end + 1, every)}
        parts.extend(name for name in _NAMES if name in days)
    return ",".join(parts)
