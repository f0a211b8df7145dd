"""Work due later, whatever the surface: a re-run's follow-up check, a sweep to complete after
a restart. Each job is a row (bot/store/jobs.py) before anything waits for it, so a deploy or
a crash between now and then loses nothing.

Two things run a job, and the row's claim makes sure only one does: a timer armed in the
process that scheduled it (on time, to the second), and `run_due`, which the scheduler calls
every few seconds (bot/scheduling/scheduler.py) and at start-up, and which picks up whatever the timers
did not: jobs of a process that stopped, in this process or another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.models import ScheduledJob
from bot.store import Store
from bot.util.clock import utcnow
from bot.util.logs import log_context

log = logging.getLogger(__name__)

Handler = Callable[[ScheduledJob], str | None]  # returns the outcome to record ("done" if None)

MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=1)  # times the attempt number


class ScheduledJobs:
    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock
        self._handlers: dict[str, Handler] = {}
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()
        self._closed = False

    def register(self, kind: str, handler: Handler) -> None:
        """Run jobs of `kind` with `handler` in this process (one handler a kind)."""
        self._handlers[kind] = handler

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def schedule(
        self, kind: str, delay_s: float, payload: Mapping[str, Any], *, arm: bool = True
    ) -> int:
        """Store a job due in `delay_s` seconds and (unless `arm` is False) arm a timer for it
        in this process; its id."""
        now = self.clock()
        job_id = self.store.jobs.add(kind, now + timedelta(seconds=delay_s), payload, now)
        if arm:
            self._arm(job_id, delay_s, f"{kind}-{job_id}")
        return job_id

    def _arm(self, job_id: int, delay_s: float, name: str) -> None:
        def fire() -> None:
            try:
                self.run(job_id)
            except Exception:  # the row stays; run_due retries it
                log.exception("running job %d failed", job_id)
            finally:  # only now: `close` must wait for a timer still running its job
                with self._lock:
                    self._timers[:] = [t for t in self._timers if t is not timer]

        timer = threading.Timer(max(0.0, delay_s), fire)
        timer.name = name
        timer.daemon = True
        # Started under the lock: `close` must never find (and join) a timer not yet started.
        with self._lock:
            if self._closed:
                return  # the row stays: the next process's run_due picks it up
            self._timers.append(timer)
            timer.start()

    def run(self, job_id: int) -> bool:
        """Run this job now if no one else holds or has done it; whether this call ran it."""
        job = self.store.jobs.claim(job_id, self.clock())
        if job is None:
            return False
        self._execute(job)
        return True

    def run_due(self, limit: int = 20) -> int:
        """Run the due jobs this process has handlers for; how many ran."""
        if self._closed:
            return 0
        jobs = self.store.jobs.claim_due(self.clock(), self.kinds, limit)
        for job in jobs:
            self._execute(job)
        return len(jobs)

    def _execute(self, job: ScheduledJob) -> None:
        handler = self._handlers.get(job.kind)
        if handler is None:  # claimed by id in a process without that kind: leave it to another
            self.store.jobs.retry(job.id, self.clock(), "no handler here")
            return
        try:
            with log_context(job=f"{job.kind}:{job.id}"):
                outcome = handler(job)
        except Exception as exc:
            if job.attempts >= MAX_ATTEMPTS:
                log.exception(
                    "job %s %d failed %d times; giving up", job.kind, job.id, job.attempts
                )
                self.store.jobs.finish(job.id, self.clock(), f"failed: {type(exc).__name__}")
            else:
                log.warning("job %s %d failed, will retry: %s", job.kind, job.id, exc)
                log.debug("job %s %d failed", job.kind, job.id, exc_info=exc)
                self.store.jobs.retry(
                    job.id, self.clock() + RETRY_AFTER * job.attempts, f"retry: {exc}"[:200]
                )
            return
        self.store.jobs.finish(job.id, self.clock(), outcome or "done")

    def close(self, timeout_s: float = 10.0) -> None:
        """Cancel the timers (their rows stay, due) and wait for any already running."""
        with self._lock:
            self._closed = True
            timers = list(self._timers)
            self._timers.clear()
        for timer in timers:
            timer.cancel()
        current = threading.current_thread()
        for timer in timers:
            if timer is not current:
                timer.join(timeout_s)
