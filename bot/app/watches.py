"""Confirm COMPLIANT: after a re-run or a fix, follow the first run of that association created
after the action until it finishes, then read SSM.3's own view — the Association items of the
instances it made NON_COMPLIANT — and say `compliant`, `still_failing` (with the run's
failures and a fresh diagnosis), `pending` or `unknown` (bot/core/watch.py's rules).

Each look is a scheduled-job row (bot/app/jobs.py) carrying the whole watch, so a restart or
a deploy loses none: the next process's `run_due` takes it up. Looks back off from 30 s to
5 min, and the last is at the deadline (SSM3_WATCH_FOR). A new watch of the same association
supersedes an older one still running (both would follow the same run). The verdict is
recorded on the re-run's row (the digest and alerts show it) and audited as `rerun_check`;
the surface that started the watch says it where the action was taken (`reply_to`, which
this use case only carries)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from bot.app.diagnoses import Diagnoses, NotDiagnosed
from bot.app.jobs import ScheduledJobs
from bot.app.outcomes import AuditWriter
from bot.core.diagnosis import Diagnosis
from bot.core.watch import (
    READ_FAILURES,
    SETTLE,
    Look,
    Outcome,
    RunFailure,
    RunState,
    next_look,
    outcome,
    still_failing,
)
from bot.models import AssociationKey, ScheduledJob
from bot.models.answers import AwsFailure
from bot.store import Store
from bot.util.clock import iso, parse_iso, precise

log = logging.getLogger(__name__)

WATCH = "confirm_compliant"  # the scheduled job: one look of a watch
BOT_ACTOR = "ssm3bot"  # who confirms, in the audit log
Action = Literal["rerun", "fix"]


class WatchReads(Protocol):
    """What a look needs of AWS (bot/aws/watch.AwsWatch): the first run after the action and,
    once it finished, its failures and the instances' Association items. Raises AwsFailure."""

    def look(self, key: AssociationKey, after: datetime, instance_ids: Sequence[str]) -> Look: ...


@dataclass(frozen=True)
class Watch:
    """One watch, as its job row keeps it."""

    key: AssociationKey
    action: Action
    by: str
    acted_at: datetime  # just before the action: its run is created after this
    deadline: datetime
    instances: tuple[str, ...]  # those the association made NON_COMPLIANT (and its run failed on)
    rerun_id: int | None = None
    detail: str | None = None  # a fix's before and after
    channel: str | None = None  # where it was asked for (the audit entry's)
    reply_to: Mapping[str, Any] = field(default_factory=dict)  # the surface's, carried as is
    looks: int = 0
    finished_seen_at: datetime | None = None
    read_failures: int = 0

    def payload(self) -> dict[str, Any]:
        data = asdict(self)
        data["key"] = [self.key.account_id, self.key.region, self.key.association_id]
        for name in ("deadline", "finished_seen_at"):
            data[name] = iso(data[name])
        # To the microsecond: a run that ended in the same second before the action is not its.
        data["acted_at"] = precise(self.acted_at)
        data["instances"] = list(self.instances)
        data["reply_to"] = dict(self.reply_to)
        return data

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Watch:
        acted_at, deadline = parse_iso(data["acted_at"]), parse_iso(data["deadline"])
        assert acted_at is not None
        assert deadline is not None
        return cls(
            key=AssociationKey(*data["key"]),
            action="fix" if data.get("action") == "fix" else "rerun",
            by=str(data["by"]),
            acted_at=acted_at,
            deadline=deadline,
            instances=tuple(data.get("instances") or ()),
            rerun_id=data.get("rerun_id"),
            detail=data.get("detail"),
            channel=data.get("channel"),
            reply_to=dict(data.get("reply_to") or {}),
            looks=int(data.get("looks") or 0),
            finished_seen_at=parse_iso(data.get("finished_seen_at")),
            read_failures=int(data.get("read_failures") or 0),
        )


@dataclass(frozen=True)
class Verdict:
    watch: Watch
    outcome: Outcome
    at: datetime
    run: RunState | None = None
    failures: tuple[RunFailure, ...] = ()
    still_failing: tuple[str, ...] = ()
    error: AwsFailure | None = None
    diagnosis: Diagnosis | None = None  # still_failing: a fresh one


class Watches:
    def __init__(
        self,
        *,
        store: Store,
        jobs: ScheduledJobs,
        reads: WatchReads,
        clock: Callable[[], datetime],
        watch_for: timedelta,
        first_look_s: float,
        diagnoses: Diagnoses | None = None,
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.reads = reads
        self.clock = clock
        self.watch_for = watch_for
        self.first_look_s = first_look_s
        self.diagnoses = diagnoses
        self._audit = AuditWriter(store, clock)

    def begin(
        self,
        key: AssociationKey,
        *,
        action: Action,
        by: str,
        acted_at: datetime,
        instances: Sequence[str],
        rerun_id: int | None = None,
        detail: str | None = None,
        channel: str | None = None,
        reply_to: Mapping[str, Any] | None = None,
    ) -> Watch:
        """Watch the first run after `acted_at` (stored before anything waits for it)."""
        self._supersede(key)
        watch = Watch(
            key=key,
            action=action,
            by=by,
            acted_at=acted_at,
            deadline=acted_at + self.watch_for,
            instances=tuple(dict.fromkeys(instances)),
            rerun_id=rerun_id,
            detail=detail,
            channel=channel,
            reply_to=dict(reply_to or {}),
        )
        self.jobs.schedule(WATCH, self.first_look_s, watch.payload())
        return watch

    def _supersede(self, key: AssociationKey) -> None:
        """An older watch of this association would follow the same run: close it."""
        for job in self.store.jobs.pending(WATCH):
            if list(job.payload.get("key") or ()) == [
                key.account_id,
                key.region,
                key.association_id,
            ]:
                self.store.jobs.cancel(job.id, self.clock(), "superseded by a newer action")

    def look(self, job: ScheduledJob) -> Verdict | None:
        """One look; the verdict when there is one (recorded and audited), else None and the
        next look is stored."""
        watch = Watch.from_payload(job.payload)
        now = self.clock()
        deadline_passed = now >= watch.deadline
        try:
            seen = self.reads.look(watch.key, watch.acted_at, watch.instances)
        except AwsFailure as exc:
            failures = watch.read_failures + 1
            if exc.denied or failures >= READ_FAILURES or deadline_passed:
                return self._conclude(watch, "unknown", now, error=exc)
            log.warning("the watch of %s could not look (will again): %s", watch.key, exc)
            self._again(replace(watch, read_failures=failures), now)
            return None
        run = seen.run
        finished_seen = watch.finished_seen_at
        if run is not None and run.finished and finished_seen is None:
            finished_seen = now
        settled = finished_seen is not None and now - finished_seen >= SETTLE
        verdict = outcome(
            run=run, items=seen.items, deadline_passed=deadline_passed, settled=settled
        )
        if verdict is None:
            self._again(replace(watch, finished_seen_at=finished_seen, read_failures=0), now)
            return None
        return self._conclude(
            watch,
            verdict,
            now,
            run=run,
            failures=seen.failures,
            failing=still_failing(seen.items or {}),
        )

    def _again(self, watch: Watch, now: datetime) -> None:
        due = next_look(watch.looks, now, watch.deadline)
        later = replace(watch, looks=watch.looks + 1)
        self.jobs.schedule(WATCH, (due - now).total_seconds(), later.payload(), arm=False)

    def _conclude(
        self,
        watch: Watch,
        verdict: Outcome,
        now: datetime,
        *,
        run: RunState | None = None,
        failures: tuple[RunFailure, ...] = (),
        failing: tuple[str, ...] = (),
        error: AwsFailure | None = None,
    ) -> Verdict:
        if watch.rerun_id is not None:
            self.store.reruns.finish(watch.rerun_id, outcome=verdict, now=now)
        what = "fix" if watch.action == "fix" else "re-run"
        detail = f"{what} by {watch.by} at {iso(watch.acted_at)}"
        if watch.detail:
            detail += f" ({watch.detail})"
        if run is not None:
            detail += f"; run {run.status}"
        if failing:
            detail += f"; {len(failing)} instances still NON_COMPLIANT"
        if error is not None:
            detail += f"; {error.reason}"
        self._audit.audit(
            BOT_ACTOR,
            "rerun_check",
            verdict,
            key=watch.key,
            detail=detail[:500],
            channel=watch.channel,
        )
        diagnosis = self._diagnose(watch.key) if verdict == "still_failing" else None
        return Verdict(watch, verdict, now, run, failures, failing, error, diagnosis)

    def _diagnose(self, key: AssociationKey) -> Diagnosis | None:
        if self.diagnoses is None:
            return None
        found = self.diagnoses.diagnose_key(key, by=BOT_ACTOR)
        if isinstance(found, NotDiagnosed):
            log.warning("no fresh diagnosis of %s after its watch: %s", key, found.message)
            return None
        return found
