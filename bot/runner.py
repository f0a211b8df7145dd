"""What `serve` does on its own: sweep on schedule, post the day's digest (once, even with two
processes or after a restart), alert on new failures, end expired acknowledgements, and keep the
day's digest message up to date.

Every decision is taken from the store (bot/store/ledger.py), never from memory, and every job reads
time from an injected clock, so tests can drive days of schedule in milliseconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.aws.session import AwsAccess
from bot.clock import utcnow
from bot.config import Settings
from bot.digest import Digest, build_digest, snapshot
from bot.metrics import Metrics
from bot.models import Scope, SweepSummary, TrackedAssociation
from bot.schedule import cron_trigger, latest_fire, period
from bot.store import Ledger, Store
from bot.sweep import SweepError, run_sweep
from bot.triage import TriageUnavailable, run_triage_sweep

log = logging.getLogger(__name__)

ON_TIME = timedelta(minutes=5)  # a digest posted later than this after its slot is a catch-up
SWEEP_LEASE = "sweep"
SWEEP_LEASE_TTL = timedelta(minutes=15)


class SweepBusy(RuntimeError):
    """Another sweep, in this process or another, holds the lease."""


@dataclass(frozen=True)
class PostedMessage:
    channel: str
    ts: str


class Publisher(Protocol):
    """Where digests and alerts go (Slack in production, a recorder in tests)."""

    def post_digest(self, digest: Digest) -> PostedMessage: ...

    def update_digest(self, message: PostedMessage, digest: Digest) -> None: ...

    def post_alerts(self, items: Sequence[TrackedAssociation]) -> list[PostedMessage]:
        """One PostedMessage per item, in order (items may share a message)."""
        ...


class Runner:
    """The scheduled jobs, as plain methods; bot/scheduler.py puts them on APScheduler."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        access: AwsAccess,
        publisher: Publisher | None,
        clock: Callable[[], datetime] = utcnow,
        ledger: Ledger | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.access = access
        self.publisher = publisher
        self.clock = clock
        self.ledger = ledger or store.ledger
        self.metrics = metrics or Metrics()
        self.sweep_trigger = cron_trigger(settings.sweep_schedule, settings.zone)
        self.digest_trigger = cron_trigger(settings.digest_schedule, settings.zone)
        self.full_sweep_trigger = cron_trigger(settings.full_sweep_schedule, settings.zone)

    @property
    def sweep_period(self) -> timedelta:
        return period(self.sweep_trigger, self.clock())

    # -- jobs ---------------------------------------------------------------------------------
    def startup(self) -> None:
        """After a (re)start: sweep if the data is stale, then post the one digest that is due."""
        if self.sweep_is_stale():
            self.sweep_job(trigger="startup")
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
        except SweepError as exc:
            log.error("sweep failed: %s", exc)
            return None
        self.after_sweep()
        return summary

    def sweep(self, trigger: str) -> SweepSummary:
        """One sweep under the store's lease, so no two run at once in any process.

        Raises SweepBusy when another sweep holds the lease, SweepError when none can start.
        Each call claims the lease as a holder of its own: a scheduled sweep and one asked for
        from Slack in the same process exclude each other too.
        """
        ledger = self.store.ledger.with_holder()
        if not ledger.acquire(SWEEP_LEASE, self.clock(), SWEEP_LEASE_TTL):
            raise SweepBusy("another sweep is running")

        def renew(done: int, total: int, result: object) -> None:
            # A short lease kept alive by progress: a sweep killed mid-way (docker kill) blocks
            # others for minutes, not hours.
            ledger.acquire(SWEEP_LEASE, self.clock(), SWEEP_LEASE_TTL)

        try:
            summary = None
            if self.triage_due(trigger):
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
                )
        except SweepError:
            self.metrics.aws_errors.inc()
            raise
        finally:
            ledger.release(SWEEP_LEASE)
        self.metrics.observe_sweep(summary, trigger)
        return summary

    def triage_due(self, trigger: str) -> bool:
        """In triage mode, a scheduled (or start-up) sweep triages unless a full sweep is owed.
        Sweeps people ask for, and the full-sweep job's, read everything."""
        if self.settings.triage == "off" or trigger not in ("schedule", "startup"):
            return False
        return not self.full_sweep_owed()

    def full_sweep_owed(self) -> bool:
        """No full sweep has finished since SSM3_FULL_SWEEP_SCHEDULE's latest slot (or ever): a
        missed, failed or skipped full sweep is made up by the next sweep, whichever job runs it."""
        full = self.store.sweeps.last(full=True)
        if full is None or full.finished_at is None:
            return True
        slot = latest_fire(self.full_sweep_trigger, self.clock())
        return slot is not None and full.started_at < slot

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
        summary = run_sweep(
            settings=self.settings,
            access=self.access,
            store=self.store,
            now=self.clock,
            trigger=trigger,
            scopes=list(dict.fromkeys(scopes)),
        )
        # Counters only: a partial read says nothing about the whole estate's gauges.
        self.metrics.sweeps.labels(trigger=trigger).inc()
        self.metrics.aws_calls.inc(summary.aws_calls)
        self.after_sweep()
        return summary

    def sweep_busy(self) -> bool:
        """True while some sweep holds the lease (for a quick answer before trying)."""
        return self.store.ledger.lease_holder(SWEEP_LEASE, self.clock()) is not None

    def after_sweep(self) -> None:
        """Alert on new failures and bring today's digest up to date."""
        if self.settings.alerts:
            self.alert_new_failures()
        self.refresh_digest()

    def digest_job(self) -> bool:
        """Post the digest for the latest slot unless some process already did (idempotent)."""
        if self.publisher is None:
            return False
        now = self.clock()
        slot = latest_fire(self.digest_trigger, now)
        if slot is None:
            return False
        kind = "scheduled" if now - slot <= ON_TIME else "catch-up"
        if not self.ledger.claim_digest(slot, kind, now):
            return False
        digest = build_digest(self.store, now, self.ledger.last_digest())
        try:
            message = self.publisher.post_digest(digest)
        except Exception as exc:
            self._publish_failed("post_digest", f"posting the {kind} digest for {slot}", exc)
            self.ledger.digest_failed(slot)
            return False
        self.ledger.digest_posted(
            slot, channel=message.channel, ts=message.ts, snapshot=snapshot(digest), now=now
        )
        self.metrics.digest_posted.set(now.timestamp())
        log.info("posted the %s digest for %s", kind, slot)
        return True

    def refresh_digest(self) -> bool:
        """Edit the current slot's digest in place (after sweeps, acknowledgements, re-runs)."""
        if self.publisher is None:
            return False
        now = self.clock()
        last = self.ledger.last_digest()
        slot = latest_fire(self.digest_trigger, now)
        if last is None or last.channel is None or last.ts is None or last.slot != slot:
            return False  # an earlier day's digest stays as it was posted
        digest = build_digest(self.store, now, self.ledger.previous_digest(last.slot))
        try:
            self.publisher.update_digest(PostedMessage(last.channel, last.ts), digest)
        except Exception as exc:
            self._publish_failed("update_digest", "updating the digest message", exc)
            return False
        return True

    def expiry_job(self) -> int:
        """End acknowledgements past their expiry; the digest then shows them as reopened."""
        expired = self.store.acks.expire(self.clock())
        if expired:
            log.info("%d acknowledgement(s) expired", len(expired))
            self.refresh_digest()
        return len(expired)

    def alert_new_failures(self) -> int:
        """One alert per failing streak that began since we started watching, never for acked ones."""
        if self.publisher is None:
            return 0
        now = self.clock()
        candidates = self.store.associations.alertable_failures()
        if not candidates:
            return 0
        failing = {t.key: t for t in self.store.associations.tracked(failing_only=True, now=now)}
        due: list[tuple[TrackedAssociation, datetime]] = []
        for key, since in candidates:
            item = failing.get(key)
            if item is None or item.ack is not None or self.ledger.alerted(key, since):
                continue
            if self.ledger.claim_alert(key, since, now):
                due.append((item, since))
        if not due:
            return 0
        try:
            posted = self.publisher.post_alerts([item for item, _ in due])
        except Exception as exc:
            self._publish_failed("post_alerts", f"posting {len(due)} alert(s)", exc)
            for item, since in due:
                self.ledger.release_alert(item.key, since)
            return 0
        for (item, since), message in zip(due, posted, strict=True):
            self.ledger.alert_posted(
                item.key, since, channel=message.channel, ts=message.ts, now=now
            )
        self.metrics.alerts.inc(len(due))
        return len(due)

    def _publish_failed(self, what: str, doing: str, exc: Exception) -> None:
        """One line in the log (the next tick retries) and a count for /metrics."""
        log.error("%s failed, will retry: %s", doing, exc)
        log.debug("%s failed", doing, exc_info=exc)
        self.metrics.slack_errors.labels(method=what).inc()
