"""The confirm-COMPLIANT watch on an in-memory store with a fake AWS port: no verdict while the
run is InProgress, `compliant` only once it finished and every watched item passes, an item
older than the run waits to settle, `pending` at the deadline, `unknown` after repeated or
denied reads, each verdict recorded on the re-run's row and audited as `rerun_check`, and the
looks back off as rows (the watch survives a new Watches on the same store)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.jobs import ScheduledJobs
from bot.app.watches import WATCH, Watch, Watches
from bot.core.watch import SETTLE, ItemState, Look, RunState
from bot.models import AssociationKey, ScheduledJob
from bot.models.answers import AwsFailure
from bot.store import Store
from tests.fakes.estate import store_estate

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
INSTANCES = ("i-000000000000000a", "i-000000000000000b")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class FakeWatchReads:
    """What a look reads: a chosen run and items, or a failure."""

    def __init__(self) -> None:
        self.run: RunState | None = None
        self.items: dict[str, ItemState] = {}
        self.fail: AwsFailure | None = None
        self.looks = 0

    def look(self, key: AssociationKey, after: datetime, instance_ids: Sequence[str]) -> Look:
        self.looks += 1
        if self.fail is not None:
            raise self.fail
        if self.run is None or not self.run.finished:
            return Look(self.run)
        return Look(self.run, (), {i: self.items[i] for i in instance_ids if i in self.items})


@pytest.fixture
def memory() -> Store:
    store = Store(":memory:")
    store_estate(store, failing=1, now=NOW)
    return store


def start(store: Store, clock: Clock, reads: FakeWatchReads) -> tuple[Watches, AssociationKey]:
    jobs = ScheduledJobs(store, clock)
    jobs.close()  # no timers: the test takes each look
    watches = Watches(
        store=store,
        jobs=jobs,
        reads=reads,
        clock=clock,
        watch_for=timedelta(hours=1),
        first_look_s=30,
    )
    [item] = store.associations.tracked(now=NOW)
    return watches, item.key


def due(store: Store, clock: Clock) -> ScheduledJob:
    """The watch's due row, claimed as the job runner claims it (and closed: the look that
    follows stores the next one)."""
    [job] = store.jobs.claim_due(clock.now, {WATCH})
    store.jobs.finish(job.id, clock.now, "looked")
    return job


def next_due(store: Store, clock: Clock) -> ScheduledJob:
    """Move the clock to the next look, and claim it."""
    [job] = store.jobs.pending(WATCH)
    clock.now = max(clock.now, job.due_at)
    return due(store, clock)


def test_no_verdict_while_the_run_is_in_progress_then_compliant(memory: Store) -> None:
    clock, reads = Clock(), FakeWatchReads()
    watches, key = start(memory, clock, reads)
    rerun, _ = memory.reruns.claim(key, by="U0OPS0001", now=NOW, cooldown_s=300, channel="C1")
    watches.begin(
        key, action="rerun", by="U0OPS0001", acted_at=NOW, instances=INSTANCES, rerun_id=rerun.id
    )
    assert memory.jobs.claim_due(NOW, {WATCH}) == [], "the first look is half a minute later"
    clock.now += timedelta(seconds=30)
    assert watches.look(due(memory, clock)) is None, "no run yet: look again"
    clock.now += timedelta(minutes=1)
    reads.run = RunState("InProgress", False, "exec-1", NOW + timedelta(seconds=5))
    assert watches.look(due(memory, clock)) is None, "InProgress: never a verdict"
    assert memory.reruns.last(key).outcome is None  # type: ignore[union-attr]
    reads.run = RunState("Success", True, "exec-1", NOW + timedelta(seconds=5))
    later = NOW + timedelta(seconds=10)
    reads.items = {i: ItemState(i, "COMPLIANT", "exec-1", later) for i in INSTANCES}
    clock.now += timedelta(minutes=2)
    verdict = watches.look(due(memory, clock))
    assert verdict is not None
    assert verdict.outcome == "compliant"
    assert memory.reruns.last(key).outcome == "compliant"  # type: ignore[union-attr]
    [entry] = [e for e in memory.audit.entries() if e.action == "rerun_check"]
    assert (entry.actor, entry.outcome) == ("ssm3bot", "compliant")
    assert "run Success" in (entry.detail or "")
    assert memory.jobs.pending(WATCH) == []


def test_an_item_older_than_the_run_waits_to_settle_then_still_failing(memory: Store) -> None:
    clock, reads = Clock(), FakeWatchReads()
    watches, key = start(memory, clock, reads)
    watches.begin(key, action="rerun", by="U0OPS0001", acted_at=NOW, instances=INSTANCES)
    reads.run = RunState("Success", True, "exec-1", NOW + timedelta(seconds=5))
    old = NOW - timedelta(days=1)
    reads.items = {
        INSTANCES[0]: ItemState(INSTANCES[0], "COMPLIANT", "exec-1", NOW + timedelta(seconds=9)),
        INSTANCES[1]: ItemState(INSTANCES[1], "NON_COMPLIANT", "exec-0", old),
    }
    clock.now += timedelta(seconds=30)
    assert watches.look(due(memory, clock)) is None, "its item predates the run: wait"
    clock.now += SETTLE
    verdict = watches.look(due(memory, clock))
    assert verdict is not None
    assert (verdict.outcome, verdict.still_failing) == ("still_failing", (INSTANCES[1],))


def test_no_run_by_the_deadline_is_pending_and_the_looks_back_off(memory: Store) -> None:
    clock, reads = Clock(), FakeWatchReads()
    watches, key = start(memory, clock, reads)
    watches.begin(key, action="rerun", by="U0OPS0001", acted_at=NOW, instances=INSTANCES)
    waits: list[timedelta] = []
    while True:
        [job] = memory.jobs.pending(WATCH)
        waits.append(job.due_at - clock.now)
        verdict = watches.look(next_due(memory, clock))
        if verdict is not None:
            break
    assert verdict.outcome == "pending"
    assert clock.now == NOW + timedelta(hours=1), "the last look is at the deadline"
    assert waits[:5] == [timedelta(seconds=s) for s in (30, 30, 60, 120, 240)]
    assert max(waits) == timedelta(minutes=5)


def test_reads_that_keep_failing_end_unknown_and_a_denied_one_at_once(memory: Store) -> None:
    clock, reads = Clock(), FakeWatchReads()
    watches, key = start(memory, clock, reads)
    reads.fail = AwsFailure("Throttling: slow down", RuntimeError("throttled"))
    watches.begin(key, action="rerun", by="U0OPS0001", acted_at=NOW, instances=INSTANCES)
    verdicts = []
    for _ in range(3):
        verdicts.append(watches.look(next_due(memory, clock)))
    assert [v.outcome if v else None for v in verdicts] == [None, None, "unknown"]
    reads.fail = AwsFailure("AccessDenied", PermissionError("no"), denied=True)
    watches.begin(key, action="fix", by="U0OPS0001", acted_at=clock.now, instances=INSTANCES)
    denied = watches.look(next_due(memory, clock))
    assert denied is not None
    assert denied.outcome == "unknown"


def test_a_new_watch_of_the_association_supersedes_the_one_running(memory: Store) -> None:
    clock, reads = Clock(), FakeWatchReads()
    watches, key = start(memory, clock, reads)
    watches.begin(key, action="rerun", by="U0OPS0001", acted_at=NOW, instances=INSTANCES)
    watches.begin(key, action="fix", by="U0OPS0001", acted_at=NOW, instances=INSTANCES)
    [left] = memory.jobs.pending(WATCH)
    assert left.payload["action"] == "fix"


def test_a_watch_is_its_row_a_new_process_takes_the_next_look(memory: Store) -> None:
    clock, reads = Clock(), FakeWatchReads()
    watches, key = start(memory, clock, reads)
    watches.begin(key, action="rerun", by="U0OPS0001", acted_at=NOW, instances=INSTANCES)
    clock.now += timedelta(seconds=30)
    reads.run = RunState("InProgress", False, "exec-1", NOW)
    assert watches.look(due(memory, clock)) is None
    again, _ = start(memory, clock, reads)  # the restart: nothing kept but the store
    reads.run = RunState("Failed", True, "exec-1", NOW, (("Failed", 1),))
    reads.items = {i: ItemState(i, "NON_COMPLIANT", "exec-1", NOW) for i in INSTANCES}
    verdict = again.look(next_due(memory, clock))
    assert verdict is not None
    assert verdict.outcome == "still_failing"
    assert verdict.watch.instances == INSTANCES


def test_the_watch_keeps_the_moment_of_the_action_to_the_microsecond(memory: Store) -> None:
    """A run that ended in the same second before the click is not the one to follow: the row
    keeps the action's moment as precisely as AWS's CreatedTime."""
    clock, reads = Clock(), FakeWatchReads()
    watches, key = start(memory, clock, reads)
    acted = NOW + timedelta(microseconds=654_321)
    watches.begin(key, action="rerun", by="U0OPS0001", acted_at=acted, instances=INSTANCES)
    [job] = memory.jobs.pending(WATCH)
    assert Watch.from_payload(job.payload).acted_at == acted
