"""A sweep someone asked for (Slack's `/ssm3 sweep`, the Home tab's button): permission, one
sweep a person every few minutes (a sweep reads every account-region: nobody may keep AWS
busy on a loop), the one-sweep-at-a-time lease, the audit entries, then the same after-sweep
step as a scheduled sweep (alerts posted, alerts of ended streaks resolved, digests edited)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.app.events import SweepFinished
from bot.app.outcomes import AuditWriter, Refusal
from bot.app.permissions import Decision, Permissions
from bot.models import DigestMessage, SweepSummary
from bot.settings.config import ConfigError
from bot.store import Store

BUSY = "a sweep is already running"
PER_PERSON = timedelta(minutes=5)  # one manual sweep a person this often


class SweepRunner(Protocol):
    """The scheduled jobs' sweep (bot/scheduling/runner.py): the same lease, the same metrics."""

    def sweep_busy(self) -> bool: ...
    def sweep(self, trigger: str) -> SweepSummary: ...
    def after_sweep(self, also: Iterable[DigestMessage | None] = ()) -> None: ...


@dataclass(frozen=True)
class Finished:
    summary: SweepSummary
    events: tuple[SweepFinished, ...]


@dataclass(frozen=True)
class NotStarted:
    """No account-region could even be listed (no credentials, a bad region)."""

    error: str


class ManualSweeps:
    def __init__(
        self,
        *,
        store: Store,
        permissions: Permissions,
        runner: SweepRunner,
        clock: Callable[[], datetime],
        busy: tuple[type[Exception], ...],
        failed: tuple[type[Exception], ...],
        per_person: timedelta = PER_PERSON,
    ) -> None:
        self.store = store
        self.per_person = per_person
        self.runner = runner
        self.permissions = permissions
        self.clock = clock
        self.busy = busy  # what `runner.sweep` raises when it lost the race for the lease
        self.failed: tuple[type[Exception], ...] = (*failed, ConfigError)  # nothing to list
        self._audit_log = AuditWriter(store, clock)

    def begin(self, actor: str, *, channel: str | None = None) -> Refusal | None:
        """Whether a sweep may start now: permission, then no sweep running. None: go."""
        decision = self.permissions.may_sweep(actor)
        if not decision.allowed:
            return self._audit_log.refuse(
                actor, "sweep", "permission", decision.reason, channel, decision=decision
            )
        started = self.store.audit.last(actor, "sweep", "started", self.clock() - self.per_person)
        if started is not None:
            minutes = round(self.per_person.total_seconds() / 60)
            again = (started + self.per_person).strftime("%H:%M UTC")
            text = (
                f"You started a sweep less than {minutes} minutes ago; each person may start one "
                f"every {minutes} minutes (the scheduled sweeps run anyway). Try again after "
                f"{again}."
            )
            return self._audit_log.refuse(
                actor, "sweep", "too_soon", text, channel, decision=Decision(False, text)
            )
        if self.runner.sweep_busy():
            return self._audit_log.refuse(actor, "sweep", "busy", BUSY, channel)
        self._audit_log.audit(actor, "sweep", "started", key=None, detail=None, channel=channel)
        return None

    def run(
        self,
        actor: str,
        *,
        trigger: str,
        channel: str | None = None,
        also: Iterable[DigestMessage | None] = (),
    ) -> Finished | NotStarted | Refusal:
        """Sweep (after `begin` said go); then the scheduled sweep's after-sweep step, editing
        `also` these digests (the one the request came from) besides today's."""
        try:
            summary = self.runner.sweep(trigger)
        except self.busy:
            return self._audit_log.refuse(actor, "sweep", "busy", BUSY, channel)
        except self.failed as exc:
            self._audit_log.audit(
                actor, "sweep", "failed", key=None, detail=str(exc), channel=channel
            )
            return NotStarted(str(exc))
        self._audit_log.audit(
            actor, "sweep", "done", key=None, detail=summary.sweep_id, channel=channel
        )
        self.runner.after_sweep(also)
        return Finished(summary, (SweepFinished(summary.sweep_id, actor, self.clock()),))
