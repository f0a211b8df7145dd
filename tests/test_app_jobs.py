"""Work due later, on an in-memory store: a job runs once when due, a failing one is retried
later, and after three failures it is given up and recorded so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app.jobs import MAX_ATTEMPTS, RETRY_AFTER, ScheduledJobs
from bot.models import ScheduledJob
from bot.store import Store

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_due_job_runs_once_and_a_failing_one_is_retried_then_given_up() -> None:
    store = Store(":memory:")
    clock = [NOW]
    jobs = ScheduledJobs(store, lambda: clock[0])
    ran: list[int] = []

    def work(job: ScheduledJob) -> str:
        ran.append(job.id)
        return "checked"

    def broken(job: ScheduledJob) -> str:
        raise RuntimeError("AWS did not answer")

    jobs.register("work", work)
    jobs.register("broken", broken)
    done = jobs.schedule("work", 60, {"n": 1}, arm=False)
    assert jobs.run_due() == 0, "not due yet"
    clock[0] = NOW + timedelta(seconds=61)
    assert jobs.run_due() == 1
    assert jobs.run_due() == 0, "ran once"
    assert ran == [done]
    jobs.schedule("broken", 0, {}, arm=False)
    assert jobs.run_due() == 1  # its first attempt
    for attempt in range(2, MAX_ATTEMPTS + 1):
        clock[0] += RETRY_AFTER * attempt
        assert jobs.run_due() == 1, f"retried, attempt {attempt}"
    clock[0] += RETRY_AFTER * (MAX_ATTEMPTS + 1)
    assert jobs.run_due() == 0, "given up after MAX_ATTEMPTS"
