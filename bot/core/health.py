"""Is the bot alive? The last finished sweep must be younger than two sweep periods and
must have reached at least one account-region.

Pure decision logic, no I/O: `ssm3bot health` (Docker's HEALTHCHECK) feeds it from the store
and an HTTP /healthz can feed it the same way. The period comes from SSM3_SWEEP_SCHEDULE in
SSM3_TIMEZONE through the same trigger and arithmetic the scheduler uses (bot.core.slots), so it
agrees with the scheduler about when sweeps are due, daylight-saving changes included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.slots import cron_trigger, period
from bot.models import SweepSummary
from bot.util.clock import ago, humanize, iso

PERIODS_ALLOWED = 2


@dataclass(frozen=True)
class Health:
    """The verdict and the lines that explain it (the first line says it all)."""

    healthy: bool
    lines: tuple[str, ...]
    last_sweep_at: datetime | None
    max_age: timedelta
    last_digest_at: datetime | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def sweep_period(schedule: str, timezone: str, now: datetime) -> timedelta:
    """The gap between scheduled sweeps around `now` (see bot.core.slots.period)."""
    return period(cron_trigger(schedule, ZoneInfo(timezone)), now)


def assess(
    *,
    last_sweep: SweepSummary | None,
    period: timedelta,
    now: datetime,
    last_digest_at: datetime | None = None,
    where: str = "",
) -> Health:
    """Healthy when the last finished sweep is no older than two sweep periods and reached at
    least one account-region."""
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
            last_digest_at,
        )
    age = now - finished
    when = f"{ago(age)} ({iso(finished)})"
    stale = age > max_age
    # A bot that can read no account-region is not healthy, however recently it tried.
    blind = not last_sweep.reached_any_scope
    reached_none = (
        f"reached none of its {last_sweep.scopes} account-regions (run `ssm3bot sweep` to see why)"
    )
    if stale:
        first = f"unhealthy: the last sweep finished {when}, more than {humanize(max_age)} ago; {budget}"
    elif blind:
        first = f"unhealthy: the last sweep finished {when} but {reached_none}"
    else:
        first = f"healthy: the last sweep finished {when}; {budget}"
    lines = [first]
    if stale and blind:
        lines.append(f"and that sweep {reached_none}")
    elif last_sweep.scopes_failed and not blind:
        lines.append(
            f"note: {last_sweep.scopes_failed} of {last_sweep.scopes} account-regions "
            "were not swept"
        )
    if last_digest_at is not None:
        lines.append(f"last digest: {ago(now - last_digest_at)} ({iso(last_digest_at)})")
    return Health(not stale and not blind, tuple(lines), finished, max_age, last_digest_at)
