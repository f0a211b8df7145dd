"""Drive an APScheduler scheduler through virtual time: fire its jobs at their trigger times,
in order, with the runner's injected clock set to each fire time. No sleeping."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from apscheduler.schedulers.base import BaseScheduler


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def run_until(
    scheduler: BaseScheduler, clock: FakeClock, end: datetime, *, jobs: Iterable[str]
) -> list[tuple[str, datetime]]:
    """Fire the named jobs at each of their fire times up to `end`; return what fired when."""
    chosen = [scheduler.get_job(job_id) for job_id in jobs]
    pending = {job.id: job.trigger.get_next_fire_time(None, clock.now) for job in chosen}
    fired: list[tuple[str, datetime]] = []
    while True:
        due = [
            (when, job_id) for job_id, when in pending.items() if when is not None and when <= end
        ]
        if not due:
            break
        when, job_id = min(due)
        clock.now = when
        job = scheduler.get_job(job_id)
        job.func()
        fired.append((job_id, when))
        pending[job_id] = job.trigger.get_next_fire_time(when, when)
    clock.now = end
    return fired
