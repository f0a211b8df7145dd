"""Is the bot alive? The last finished sweep must be younger than two sweep periods.

Pure decision logic, no I/O: `ssm3bot health` (Docker's HEALTHCHECK) feeds it from the store
and an HTTP /healthz can feed it the same way. The period comes from SSM3_SWEEP_SCHEDULE in
SSM3_TIMEZONE through the same CronTrigger the scheduler uses (bot.crontab), so it agrees with the scheduler about
when sweeps are due, daylight-saving changes included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.clock import humanize, iso
from bot.crontab import cron_trigger
from bot.models import SweepSummary

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

PERIODS_ALLOWED = 2
_LOOKBACK_LIMIT = timedelta(days=5 * 366)  # "0 0 29 2 *" fires once in four years


@dataclass(frozen=True)
class Health:
    """The verdict and the lines that explain it (the first line says it all)."""

    healthy: bool
    lines: tuple[str, ...]
    last_sweep_at: datetime | None
    max_age: timedelta

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def sweep_period(schedule: str, timezone: str, now: datetime) -> timedelta:
    """The gap between scheduled sweeps around `now`.

    For a regular schedule that is simply its interval. For an irregular one (weekdays only,
    office hours) it is the longer of the gap that ended at the latest fire time and the gap
    that starts there, so the quiet weekend does not make Monday's first minutes unhealthy.
    """
    trigger = cron_trigger(schedule, ZoneInfo(timezone))
    upcoming: datetime = trigger.get_next_fire_time(None, now)
    following: datetime = trigger.get_next_fire_time(upcoming, upcoming)
    step = _elapsed(upcoming, following)
    recent = _latest_fires(trigger, now, step, count=2)
    if len(recent) < 2:
        return step
    before, latest = recent
    after: datetime = trigger.get_next_fire_time(latest, latest)
    return max(_elapsed(before, latest), _elapsed(latest, after))


def _elapsed(start: datetime, end: datetime) -> timedelta:
    """Real time between two moments (same-zone subtraction would count wall-clock time)."""
    return end.astimezone(UTC) - start.astimezone(UTC)


def _latest_fires(
    trigger: CronTrigger, now: datetime, step: timedelta, count: int
) -> list[datetime]:
    """The last `count` fire times at or before `now` (CronTrigger only looks forward)."""
    lookback = max(step, timedelta(minutes=1)) * count
    while True:
        fires: list[datetime] = []
        moment = trigger.get_next_fire_time(None, now - lookback)
        while moment is not None and moment <= now:
            fires.append(moment)
            moment = trigger.get_next_fire_time(moment, moment)
        if len(fires) >= count or lookback > _LOOKBACK_LIMIT:
            return fires[-count:]
        lookback *= 2


def assess(
    *,
    last_sweep: SweepSummary | None,
    period: timedelta,
    now: datetime,
    last_digest_at: datetime | None = None,
    where: str = "",
) -> Health:
    """Healthy when the last finished sweep is no older than two sweep periods."""
    max_age = period * PERIODS_ALLOWED
    finished = last_sweep.finished_at if last_sweep else None
    budget = f"sweeps are due every {humanize(period)}, so up to {humanize(max_age)} is healthy"
    if last_sweep is None or finished is None:
        suffix = f" in {where}" if where else ""
        return Health(
            False,
            (f"unhealthy: no sweep has finished yet{suffix}; {budget}",),
            None,
            max_age,
        )
    age = now - finished
    when = f"{_ago(age)} ({iso(finished)})"
    if age > max_age:
        first = f"unhealthy: the last sweep finished {when}, more than {humanize(max_age)} ago; {budget}"
    else:
        first = f"healthy: the last sweep finished {when}; {budget}"
    lines = [first]
    if not last_sweep.reached_any_scope:
        lines.append(
            f"warning: that sweep reached none of its {last_sweep.scopes} account-regions "
            "(run `ssm3bot sweep` to see why)"
        )
    elif last_sweep.scopes_failed:
        lines.append(
            f"note: {last_sweep.scopes_failed} of {last_sweep.scopes} account-regions "
            "were not swept"
        )
    if last_digest_at is not None:
        lines.append(f"last digest: {_ago(now - last_digest_at)} ({iso(last_digest_at)})")
    return Health(age <= max_age, tuple(lines), finished, max_age)


def _ago(span: timedelta) -> str:
    words = humanize(span)
    return words if words == "just now" else f"{words} ago"
