"""What follows a fix that runs for a while, on an in-memory store with a fake AWS port: the
agent update's command is looked at until every instance finished, then the association is
re-run and watched; the runbooks until they finished, then what they found; at the deadline
the fix is reported as it stands. Each look is a row (a new process takes the next one)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.app.fix_followups import FIX_COMMAND, FIX_RUNBOOK, FixFollowUps
from bot.app.fixes import Started
from bot.app.jobs import ScheduledJobs
from bot.app.watches import WATCH, Watches
from bot.models import AssociationKey, ScheduledJob
from bot.models.fixes import AutomationOutcome, CommandOutcome, FixFailed, InvocationSeen
from bot.store import Store
from tests.fakes.estate import store_estate
from tests.support.fixes import FakeFixes, NoReads, fixes_on

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
OPERATOR = "U0OPS0001"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class Followed(FakeFixes):
    """The fake AWS with a command and runbooks that finish when the test says."""

    def __init__(self) -> None:
        super().__init__()
        self.done = False

    def command_outcome(self, key: AssociationKey, command_id: str) -> CommandOutcome | FixFailed:
        status = "Success" if self.done else "InProgress"
        return CommandOutcome(command_id, (InvocationSeen("i-0000000000000000c", status, ""),))

    def automation_outcome(
        self, key: AssociationKey, execution_id: str
    ) -> AutomationOutcome | FixFailed:
        return AutomationOutcome(
            execution_id,
            "AWSSupport-TroubleshootManagedInstance",
            "Failed" if self.done else "InProgress",
            self.done,
            None,
            (("checkPing", "The instance is stopped"),) if self.done else (),
            {},
            NOW if self.done else None,
        )


def followups(store: Store, clock: Clock, aws: Followed) -> FixFollowUps:
    jobs = ScheduledJobs(store, clock)
    jobs.close()  # no timers: the test takes each look
    watches = Watches(
        store=store,
        jobs=jobs,
        reads=NoReads(),
        clock=clock,
        watch_for=timedelta(hours=1),
        first_look_s=30,
    )
    return FixFollowUps(
        actions=aws,
        watches=watches,
        jobs=jobs,
        clock=clock,
        watch_for=timedelta(hours=1),
        first_look_s=30,
    )


def next_due(store: Store, clock: Clock, kind: str) -> ScheduledJob:
    [job] = store.jobs.pending(kind)
    clock.now = max(clock.now, job.due_at)
    [claimed] = store.jobs.claim_due(clock.now, {kind})
    store.jobs.finish(claimed.id, clock.now, "looked")
    return claimed


def started_fix(store: Store) -> Started:
    fixes, _, kept = fixes_on(store, operation="Scan")
    n = next(i for i, g in enumerate(kept.diagnosis.causes) if g.cause == "agent_outdated")
    started = fixes.start(OPERATOR, kept.id, n)
    assert isinstance(started, Started), started
    return started


def test_the_agent_update_is_followed_then_the_association_rerun_and_watched() -> None:
    store = Store(":memory:")
    store_estate(store, failing=1, now=NOW)
    clock, aws = Clock(), Followed()
    started = started_fix(store)
    followups(store, clock, aws).follow(started, instances=("i-0000000000000000c",))
    assert followups(store, clock, aws).look(next_due(store, clock, FIX_COMMAND)) is None
    assert aws.writes == [], "the command still runs: no re-run yet"
    assert store.jobs.pending(WATCH) == []
    aws.done = True
    finished = followups(store, clock, aws).look(next_due(store, clock, FIX_COMMAND))
    assert finished is not None
    assert not finished.timed_out
    assert [w[0] for w in aws.writes] == ["StartAssociationsOnce"]
    assert finished.watch is not None
    [watch] = store.jobs.pending(WATCH)
    assert watch.payload["action"] == "fix"
    assert watch.payload["acted_at"] > started.acted_at.isoformat()[:19], "after the re-run"


def test_the_runbook_is_reported_at_the_deadline_when_it_never_ends() -> None:
    store = Store(":memory:")
    store_estate(store, failing=1, now=NOW)
    clock, aws = Clock(), Followed()
    started = started_fix(store)
    group = started.target.group
    runbook = replace(
        started,
        target=replace(
            started.target, group=replace(group, fix=replace(group.fix, kind="troubleshoot"))
        ),
        handles=("auto-1",),
    )
    followups(store, clock, aws).follow(runbook, instances=("i-0000000000000000c",))
    finished = None
    while finished is None:
        finished = followups(store, clock, aws).look(next_due(store, clock, FIX_RUNBOOK))
    assert finished.timed_out, "never ended: reported as it stands at the deadline"
    assert clock.now == NOW + timedelta(hours=1)
    assert [r.status for r in finished.runbooks] == ["InProgress"]  # type: ignore[union-attr]
    assert aws.writes == [], "no re-run after a runbook: the person re-runs once it is dealt with"
    assert len(store.jobs.pending(WATCH)) == 1, "the next run is watched"


def test_a_runbook_that_ends_says_what_it_found() -> None:
    store = Store(":memory:")
    store_estate(store, failing=1, now=NOW)
    clock, aws = Clock(), Followed()
    started = started_fix(store)
    group = started.target.group
    runbook = replace(
        started,
        target=replace(
            started.target, group=replace(group, fix=replace(group.fix, kind="troubleshoot"))
        ),
        handles=("auto-1",),
    )
    followups(store, clock, aws).follow(runbook, instances=())
    aws.done = True
    finished = followups(store, clock, aws).look(next_due(store, clock, FIX_RUNBOOK))
    assert finished is not None
    [found] = finished.runbooks
    assert isinstance(found, AutomationOutcome)
    assert "The instance is stopped" in found.summary
