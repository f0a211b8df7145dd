"""What `serve` does on its own: sweep on schedule, post the day's digest (once, even with two
processes or after a restart), alert on new failures, end expired acknowledgements, and keep the
day's digest message up to date.

Every decision is taken from the store (bot/store/ledger.py), never from memory, and every job reads
time from an injected clock, so tests can drive days of schedule in milliseconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from bot.app.alerts import AlertDesk
from bot.app.digest_posts import DigestDesk
from bot.app.digests import DigestComposer
from bot.app.jobs import ScheduledJobs
from bot.app.publisher import Publisher
from bot.aws.session import AwsAccess
from bot.core.slots import cron_trigger, latest_fire, period
from bot.models import (
    AssociationKey,
    DigestMessage,
    ScheduledJob,
    Scope,
    SweepSummary,
)
from bot.ops.metrics import Metrics
from bot.report.posting import ReportPoster
from bot.settings.config import Settings
from bot.store import Ledger, Store
from bot.sweeping.sweep import SweepError, SweepInterrupted, run_sweep
from bot.sweeping.triage import TriageUnavailable, full_sweep_owed, run_triage_sweep, triage_due
from bot.util.clock import utcnow
from bot.wiring.context import Context
from bot.wiring.findings import sync_scopes

log = logging.getLogger(__name__)

SWEEP_LEASE = "sweep"
SWEEP_LEASE_TTL = timedelta(minutes=15)
RESUME_SWEEP = "resume_sweep"  # a scheduled job: complete a sweep stopped by SIGTERM


class SweepBusy(RuntimeError):
    """Another sweep, in this process or another, holds the lease."""


class Runner:
    """The scheduled jobs, as plain methods; bot/scheduling/scheduler.py puts them on APScheduler."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        access: AwsAccess,
        publisher: Publisher | None,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
        jobs: ScheduledJobs | None = None,
        hooks: list[Callable[[], None]] | None = None,
    ) -> None:
        self.settings = settings
        self.context = Context(settings, store, access, clock)
        self.hooks = hooks if hooks is not None else []  # more steps after each sweep
        self.store = store
        self.access = access
        self.publisher = publisher
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.book = DigestComposer.from_settings(store, settings)
        self.alerts = AlertDesk(
            store=store,
            book=self.book,
            publisher=publisher,
            clock=clock,
            failed=self._publish_failed,
            count=self.metrics.alerts.inc,
        )
        self.sweep_trigger = cron_trigger(settings.sweep_schedule, settings.zone)
        self.digest_trigger = cron_trigger(settings.digest_schedule, settings.zone)
        self.digests = DigestDesk(
            store=store,
            composer=self.book,
            publisher=publisher,
            clock=clock,
            slot=lambda now: latest_fire(self.digest_trigger, now),
            failed=self._publish_failed,
            refused=self.metrics.slack_errors.labels(method="update_digest").inc,
        )
        self.jobs = jobs or ScheduledJobs(store, clock)
        self.jobs.register(RESUME_SWEEP, self._resume_job)
        self.stopping = threading.Event()  # set on SIGTERM: sweeps stop and checkpoint
        self._sweeping = 0
        self._idle = threading.Condition()
        self.full_sweep_trigger = cron_trigger(settings.full_sweep_schedule, settings.zone)
        self.reports = ReportPoster(
            settings=settings, store=store, publisher=publisher, clock=clock
        )

    @property
    def sweep_period(self) -> timedelta:
        return period(self.sweep_trigger, self.clock())

    # -- jobs ---------------------------------------------------------------------------------
    def startup(self) -> None:
        """After a (re)start: the jobs left due (a sweep the last process stopped, re-run
        follow-ups), a sweep if the data is stale, then the one digest that is due."""
        self.jobs_job()
        if self.sweep_is_stale():
            self.sweep_job(trigger="startup")
        if not self.stopping.is_set():
            self.digest_job()

    def sweep_is_stale(self) -> bool:
        last = self.store.sweeps.last()
        return (
            last is None
            or last.finished_at is None
            or self.clock() - last.finished_at > self.sweep_period
        )

    def sweep_job(self, trigger: str = "schedule") -> SweepSummary | None:
        """Sweep unless another sweep is running; then alert and refresh today's digest."""
        try:
            summary = self.sweep(trigger)
        except SweepBusy as exc:
            log.info("skipping this sweep: %s", exc)
            return None
        except SweepInterrupted:
            return None
        except SweepError as exc:
            log.error("sweep failed: %s", exc)
            return None
        self.after_sweep()
        return summary

    def sweep(self, trigger: str, *, resume: str | None = None) -> SweepSummary:
        """One sweep under the store's lease, so no two run at once in any process.

        Raises SweepBusy when another sweep holds the lease (or the process is stopping),
        SweepError when none can start, SweepInterrupted when SIGTERM stopped it: then a job
        to complete it is stored, which the next start (or another process) runs.
        Each call claims the lease as a holder of its own: a scheduled sweep and one asked for
        from Slack in the same process exclude each other too.
        """
        if self.stopping.is_set():
            raise SweepBusy("the bot is stopping")
        ledger = self.store.ledger.with_holder()
        if not ledger.acquire(SWEEP_LEASE, self.clock(), SWEEP_LEASE_TTL):
            raise SweepBusy("another sweep is running")
        with self._busy():
            return self._sweep_held(ledger, trigger, resume)

    def _sweep_held(self, ledger: Ledger, trigger: str, resume: str | None) -> SweepSummary:
        def renew(done: int, total: int, result: object) -> None:
            # A short lease kept alive by progress: a sweep killed mid-way (docker kill) blocks
            # others for minutes, not hours.
            ledger.acquire(SWEEP_LEASE, self.clock(), SWEEP_LEASE_TTL)

        try:
            summary = None
            if self.triage_due(trigger) and resume is None:
                try:
                    summary = run_triage_sweep(
                        settings=self.settings,
                        access=self.access,
                        store=self.store,
                        now=self.clock,
                        trigger=trigger,
                        progress=renew,
                    )
                except TriageUnavailable as exc:
                    log.warning("triage unavailable, sweeping every account-region: %s", exc)
            if summary is None:
                summary = run_sweep(
                    settings=self.settings,
                    access=self.access,
                    store=self.store,
                    now=self.clock,
                    trigger=trigger,
                    progress=renew,
                    stop=self.stopping,
                    resume=resume,
                )
        except SweepInterrupted as exc:
            # No timer here: this process is stopping; the next one (or another) runs it.
            self.jobs.schedule(RESUME_SWEEP, 0, {"sweep_id": exc.sweep_id}, arm=False)
            log.info("%s; the next start completes it", exc)
            raise
        except SweepError:
            self.metrics.aws_errors.inc()
            raise
        finally:
            ledger.release(SWEEP_LEASE)
        self.metrics.observe_sweep(summary, trigger)
        return summary

    @contextmanager
    def _busy(self) -> Iterator[None]:
        with self._idle:
            self._sweeping += 1
        try:
            yield
        finally:
            with self._idle:
                self._sweeping -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no sweep of this process is running; False if one still is."""
        with self._idle:
            return self._idle.wait_for(lambda: self._sweeping == 0, timeout_s)

    def jobs_job(self) -> int:
        """Run the scheduled jobs that are due (bot/app/jobs.py)."""
        if self.stopping.is_set():
            return 0
        return self.jobs.run_due()

    def _resume_job(self, job: ScheduledJob) -> str:
        """Complete the sweep a stopped process left unfinished, unless it is too old to be
        worth it (the next scheduled sweep replaces it) or already done."""
        sweep_id = str(job.payload.get("sweep_id"))
        prior = self.store.sweeps.get(sweep_id)
        if prior is None or prior.finished_at is not None:
            return "nothing to complete"
        if self.clock() - prior.started_at > self.sweep_period:
            return "too old; the next sweep replaces it"
        try:
            self.sweep("resume", resume=sweep_id)
        except SweepInterrupted:
            return "stopped again; a new job completes it"
        except SweepBusy:
            raise  # another sweep is running: try again shortly
        except SweepError as exc:
            log.error("could not complete sweep %s: %s", sweep_id, exc)
            return f"failed: {exc}"[:200]
        log.info("completed sweep %s, stopped by the last process", sweep_id)
        self.after_sweep()
        return "completed"

    def triage_due(self, trigger: str) -> bool:
        return triage_due(self.settings, self.store, trigger, self.full_sweep_trigger, self.clock())

    def full_sweep_owed(self) -> bool:
        return full_sweep_owed(self.store, self.full_sweep_trigger, self.clock())

    def full_sweep_job(self) -> SweepSummary | None:
        """Triage mode's reconciling sweep of every account-region (SSM3_FULL_SWEEP_SCHEDULE),
        unless one already ran since this slot (the hourly sweep makes up an owed one too)."""
        if not self.full_sweep_owed():
            return None
        return self.sweep_job(trigger="full-schedule")

    def refresh_scopes(self, scopes: Sequence[Scope], trigger: str = "event") -> SweepSummary:
        """Re-read these account-regions as a sweep would, then alert and edit the digest
        exactly as after a sweep (the same steps, the same ledger: an alert goes out once).

        Takes no lease: a long scheduled sweep must not hold an event's re-read back, and the
        store keeps whichever read of a scope began last (bot/store/associations.py)."""
        wanted = list(dict.fromkeys(scopes))
        summary = run_sweep(
            settings=self.settings,
            access=self.access,
            store=self.store,
            now=self.clock,
            trigger=trigger,
            scopes=wanted,
        )
        # Counters only: a partial read says nothing about the whole estate's gauges.
        self.metrics.sweeps.labels(trigger=trigger).inc()
        self.metrics.aws_calls.inc(summary.aws_calls)
        self.after_sweep()
        return summary

    def sweep_busy(self) -> bool:
        """True while some sweep holds the lease (for a quick answer before trying)."""
        return self.store.ledger.lease_holder(SWEEP_LEASE, self.clock()) is not None

    def after_sweep(self, also: Iterable[DigestMessage | None] = ()) -> None:
        """The one step after every read of AWS (scheduled, asked for, event, resumed): alert on
        new failures, mark the alerts of ended streaks resolved (acknowledged ones too), and
        bring today's digests (and `also` these) up to date."""
        if self.settings.alerts:
            self.alert_new_failures()
        self.resolve_alerts()
        self.refresh_digest(also)
        for hook in self.hooks:  # e.g. the Home tabs of their recent viewers (bot/app/home.py)
            try:
                hook()
            except Exception:
                log.exception("a step after the sweep failed")

    # -- digests (bot/app/digest_posts.py) ------------------------------------------------------
    def digest_job(self) -> bool:
        return self.digests.post_due()

    def post_digests_now(self) -> list[DigestMessage]:
        return self.digests.post_now()

    def refresh_digest(self, also: Iterable[DigestMessage | None] = ()) -> bool:
        return self.digests.refresh(also)

    def expiry_job(self) -> int:
        """End acknowledgements past their expiry; the digest then shows them as reopened."""
        expired = self.store.acks.expire(self.clock())
        if expired:
            log.info("%d acknowledgement(s) expired", len(expired))
            self.refresh_alerts(key for key, _ in expired)
            self.refresh_digest()
            # SSM3_SECURITYHUB=sync: their findings go back to NEW
            sync_scopes(self.context, sorted({key.scope for key, _ in expired}))
        return len(expired)

    # -- alerts (bot/app/alerts.py) -------------------------------------------------------------
    def alert_new_failures(self) -> int:
        return self.alerts.new_failures()

    def resolve_alerts(self) -> int:
        return self.alerts.resolve()

    def refresh_alerts(self, keys: Iterable[AssociationKey]) -> None:
        self.alerts.refresh(keys)

    def _publish_failed(self, what: str, doing: str, exc: Exception) -> None:
        """One line in the log (the next tick retries) and a count for /metrics."""
        log.error("%s failed, will retry: %s", doing, exc)
        log.debug("%s failed", doing, exc_info=exc)
        self.metrics.slack_errors.labels(method=what).inc()
