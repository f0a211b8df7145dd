"""The scheduled life of `serve`, driven through virtual time: digests at 09:00 across DST, one
catch-up after downtime, one digest for two processes, alerts once per failing streak, expired
acknowledgements reopening, and the day's digest updated in place."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.render.text import render_digest
from bot.scheduling.runner import Runner
from bot.scheduling.scheduler import build_scheduler
from bot.settings.config import Settings
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from tests.support.fleet import breaks_after, fail, healthy
from tests.support.recording import RecordingPublisher
from tests.support.runners import make_runner as runner_on
from tests.support.sim import Sim
from tests.support.virtual_time import FakeClock, run_until

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def make_runner(
    sim: Sim, tmp_path: Path
) -> Callable[..., tuple[Runner, RecordingPublisher, FakeClock]]:
    def make(
        start: datetime,
        *,
        db: str = "sched.db",
        publisher: RecordingPublisher | None = None,
        **changes: object,
    ) -> tuple[Runner, RecordingPublisher, FakeClock]:
        settings = Settings(
            regions=("eu-west-1",),
            db_path=str(tmp_path / db),
            channel="C0DIGEST01",
            timezone="Europe/Berlin",
            sweep_schedule="0 3 * * *",
        ).with_changes(**changes)
        clock = FakeClock(start)
        publisher = publisher or RecordingPublisher()
        runner = runner_on(
            settings=settings,
            store=Store(settings.db_path),
            access=sim.access(),
            publisher=publisher,
            clock=clock,
        )
        return runner, publisher, clock

    return make


@pytest.mark.parametrize(
    ("start", "end", "expected_utc_hours"),
    [
        # Autumn: CEST ends on Sunday 2026-10-25, so 09:00 is 07:00Z before and 08:00Z after.
        (
            datetime(2026, 10, 23, 12, tzinfo=UTC),
            datetime(2026, 10, 27, 12, tzinfo=UTC),
            [7, 8, 8, 8],
        ),
        # Spring: CEST begins on Sunday 2027-03-28, so 09:00 is 08:00Z before and 07:00Z after.
        (
            datetime(2027, 3, 26, 12, tzinfo=UTC),
            datetime(2027, 3, 30, 12, tzinfo=UTC),
            [8, 7, 7, 7],
        ),
    ],
)
def test_the_digest_fires_at_nine_in_berlin_on_both_sides_of_a_dst_change(
    make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]],
    start: datetime,
    end: datetime,
    expected_utc_hours: list[int],
) -> None:
    runner, publisher, clock = make_runner(start)
    scheduler = build_scheduler(runner)
    fired = run_until(scheduler, clock, end, jobs=["digest"])
    assert [when.astimezone(BERLIN).hour for _, when in fired] == [9, 9, 9, 9]
    assert [when.astimezone(UTC).hour for _, when in fired] == expected_utc_hours
    assert [d.generated_at.astimezone(UTC).hour for d in publisher.digests] == expected_utc_hours
    assert len(publisher.digests) == 4


def test_a_process_down_over_two_digest_times_posts_exactly_one_catch_up(
    make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]],
) -> None:
    monday_nine = datetime(2026, 11, 30, 8, tzinfo=UTC)  # 09:00 in Berlin
    first, first_posts, clock = make_runner(monday_nine)
    assert first.digest_job()
    assert len(first_posts.digests) == 1

    # Down from Monday until Wednesday 10:30 Berlin: Tuesday's and Wednesday's 09:00 were missed.
    restarted, posts, clock = make_runner(datetime(2026, 12, 2, 9, 30, tzinfo=UTC))
    restarted.startup()
    assert len(posts.digests) == 1
    run = restarted.store.digests.last_scheduled()
    assert run is not None
    assert run.slot == datetime(2026, 12, 2, 8, tzinfo=UTC)
    assert run.kind == "catch-up"
    # The reconcile job and the scheduler keep running: nothing more until Thursday 09:00.
    scheduler = build_scheduler(restarted)
    fired = run_until(
        scheduler,
        clock,
        datetime(2026, 12, 3, 8, 30, tzinfo=UTC),
        jobs=["digest", "digest-reconcile"],
    )
    assert any(job == "digest-reconcile" for job, _ in fired)
    assert len(posts.digests) == 2
    assert posts.digests[1].generated_at == datetime(2026, 12, 3, 8, tzinfo=UTC)


def test_two_schedulers_on_one_database_post_one_digest(
    make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]],
) -> None:
    nine = datetime(2026, 11, 30, 8, tzinfo=UTC)
    one, one_posts, _ = make_runner(nine)
    two, two_posts, _ = make_runner(nine)  # another process: its own Store and Ledger, same file
    assert one.store.ledger.holder != two.store.ledger.holder
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def race(runner: Runner) -> None:
        barrier.wait()
        results.append(runner.digest_job())

    threads = [threading.Thread(target=race, args=(r,)) for r in (one, two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert len(one_posts.digests) + len(two_posts.digests) == 1


def test_a_failed_post_gives_the_slot_back_and_the_next_tick_posts_it(
    make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]],
) -> None:
    runner, publisher, clock = make_runner(datetime(2026, 11, 30, 8, tzinfo=UTC))
    publisher.fail_next = True
    assert not runner.digest_job()
    assert b'ssm3_slack_errors_total{method="post_digest"} 1.0' in runner.metrics.exposition()
    clock.now += timedelta(minutes=5)
    assert runner.digest_job()
    assert len(publisher.digests) == 1


def _fail(sim: Sim, association_id: str, at: datetime | None = None) -> None:
    fail(sim.fleet, association_id, at)


def _healthy(sim: Sim) -> str:
    return healthy(sim.fleet)


def _breaks_after(sim: Sim, clock: FakeClock) -> str:
    return breaks_after(sim.fleet, clock)


def test_a_new_failure_alerts_once_across_three_sweeps(
    sim: Sim, make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]]
) -> None:
    runner, publisher, clock = make_runner(datetime.now(UTC))
    runner.sweep_job()
    assert publisher.alerts == [], (
        "failures that predate the first sweep go to the digest, not alerts"
    )
    victim = _breaks_after(sim, clock)
    for _ in range(3):
        runner.sweep_job()
        clock.now += timedelta(hours=1)
    assert [a.key.association_id for a in publisher.alerts] == [victim]


def test_resolving_and_failing_again_alerts_again(
    sim: Sim, make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]]
) -> None:
    runner, publisher, clock = make_runner(datetime.now(UTC))
    runner.sweep_job()
    victim = _breaks_after(sim, clock)
    runner.sweep_job()
    sim.fleet.run_association(victim, failures={}, at=clock.now + timedelta(minutes=10))
    clock.now += timedelta(hours=1)
    runner.sweep_job()
    clock.now += timedelta(hours=1)
    _fail(sim, victim, at=clock.now)
    runner.sweep_job()
    runner.sweep_job()
    assert [a.key.association_id for a in publisher.alerts] == [victim, victim]


def test_no_alert_with_alerts_off(
    sim: Sim, make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]]
) -> None:
    runner, publisher, _ = make_runner(datetime.now(UTC), alerts=False)
    runner.sweep_job()
    _fail(sim, _healthy(sim))
    runner.sweep_job()
    assert publisher.alerts == []


def test_no_alert_for_an_acknowledged_failure(
    sim: Sim, make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]]
) -> None:
    runner, publisher, clock = make_runner(datetime.now(UTC))
    runner.sweep_job()
    victim = _breaks_after(sim, clock)
    run_sweep(settings=runner.settings, access=runner.access, store=runner.store, now=clock)
    (tracked,) = runner.store.associations.find(victim, now=runner.clock())
    runner.store.acks.acknowledge(
        tracked.key, by="U0OPS", reason="planned", until=None, now=clock.now
    )
    assert runner.alert_new_failures() == 0
    assert publisher.alerts == []


def test_two_processes_alert_once(
    sim: Sim, make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]]
) -> None:
    shared = RecordingPublisher()
    one, _, clock = make_runner(datetime.now(UTC), publisher=shared)
    two, _, _ = make_runner(datetime.now(UTC), publisher=shared)
    one.sweep_job()
    _breaks_after(sim, clock)
    one.sweep_job()
    assert one.alert_new_failures() == 0
    assert two.alert_new_failures() == 0
    assert len(shared.alerts) == 1


def test_a_failed_alert_is_retried_by_the_next_sweep(
    sim: Sim, make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]]
) -> None:
    runner, publisher, clock = make_runner(datetime.now(UTC))
    runner.sweep_job()
    victim = _breaks_after(sim, clock)
    publisher.fail_next = True
    runner.sweep_job()
    assert publisher.alerts == []
    runner.sweep_job()
    assert [a.key.association_id for a in publisher.alerts] == [victim]


def test_an_expired_acknowledgement_reopens_and_the_next_digest_names_it(
    sim: Sim, make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]]
) -> None:
    nine = datetime(2026, 11, 30, 8, tzinfo=UTC)
    runner, publisher, clock = make_runner(nine)
    runner.sweep_job()
    target = runner.store.associations.tracked(failing_only=True)[0]
    runner.store.acks.acknowledge(
        target.key,
        by="U0OPS",
        reason="waiting on vendor",
        until=nine + timedelta(hours=6),
        now=nine,
    )
    assert runner.digest_job()
    assert target.key in {t.key for t in publisher.digests[0].acknowledged}

    clock.now = nine + timedelta(hours=7)
    assert runner.expiry_job() == 1
    clock.now = nine + timedelta(days=1)
    assert runner.digest_job()
    latest = publisher.digests[-1]
    assert latest.changes is not None
    assert [t.key for t in latest.changes.reopened] == [target.key]
    assert target.key in {t.key for t in latest.failing}
    text = render_digest(publisher.views[-1])
    assert f"[reopened] {target.association.display_name}" in text


def test_the_next_digest_says_what_is_new_and_what_resolved(
    sim: Sim, make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]]
) -> None:
    nine = datetime(2026, 11, 30, 8, tzinfo=UTC)
    runner, publisher, clock = make_runner(nine)
    runner.sweep_job()
    assert runner.digest_job()
    fixed = runner.store.associations.tracked(failing_only=True)[0]
    sim.fleet.run_association(fixed.key.association_id, failures={})
    broken = _healthy(sim)
    _fail(sim, broken)
    clock.now = nine + timedelta(days=1)
    runner.sweep_job()
    assert runner.digest_job()
    changes = publisher.digests[-1].changes
    assert changes is not None
    assert {k.association_id for k in changes.new} == {broken}
    assert [r.key for r in changes.resolved] == [fixed.key]
    assert "RESOLVED SINCE THE LAST DIGEST (1)" in render_digest(publisher.views[-1])


def test_sweeps_and_expiries_update_todays_digest_in_place(
    sim: Sim, make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]]
) -> None:
    nine = datetime(2026, 11, 30, 8, tzinfo=UTC)
    runner, publisher, clock = make_runner(nine)
    runner.sweep_job()
    assert runner.digest_job()
    posted_ts = runner.store.digests.last_scheduled()
    assert posted_ts is not None
    clock.now = nine + timedelta(hours=2)
    runner.sweep_job()
    assert len(publisher.digests) == 1
    assert [m.ts for m, _ in publisher.updates] == [posted_ts.ts]
    clock.now = nine + timedelta(days=1, minutes=-1)  # still the same slot
    assert runner.refresh_digest()
    clock.now = nine + timedelta(days=1, hours=1)  # tomorrow's slot: yesterday's message stays
    assert not runner.refresh_digest()


def test_two_processes_never_sweep_at_once(
    sim: Sim, make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]]
) -> None:
    one, _, clock = make_runner(datetime.now(UTC))
    two, _, _ = make_runner(datetime.now(UTC))
    assert one.store.ledger.acquire("sweep", clock.now, timedelta(minutes=30))
    assert two.sweep_job() is None
    one.store.ledger.release("sweep")
    assert two.sweep_job() is not None


def test_the_jobs_are_configured_on_purpose(
    make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]],
) -> None:
    runner, _, _ = make_runner(datetime(2026, 11, 30, 8, tzinfo=UTC), sweep_schedule="0 * * * *")
    scheduler = build_scheduler(runner)
    scheduler.start(paused=True)  # jobs get their final options when the scheduler starts
    jobs = {job.id: job for job in scheduler.get_jobs()}
    scheduler.shutdown(wait=False)
    assert set(jobs) == {
        "sweep",
        "digest",
        "ack-expiry",
        "digest-reconcile",
        "scheduled-jobs",
        "report",
        "report-reconcile",
        "evidence-upkeep",
    }
    assert all(job.coalesce and job.max_instances == 1 for job in jobs.values())
    assert jobs["sweep"].misfire_grace_time == 1800
    assert jobs["digest"].misfire_grace_time is None
    assert jobs["report"].misfire_grace_time is None
    assert str(jobs["report"].trigger) == str(runner.reports.trigger)
    assert str(jobs["digest"].trigger.timezone) == "Europe/Berlin"


def test_a_claim_whose_process_died_before_posting_is_taken_over(
    make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]],
) -> None:
    nine = datetime(2026, 11, 30, 8, tzinfo=UTC)
    crashed, _, _ = make_runner(nine)
    assert crashed.store.digests.claim(nine, "C0DIGEST01", "scheduled", nine)  # then it was killed
    survivor, posts, clock = make_runner(nine + timedelta(minutes=5))
    assert not survivor.digest_job(), "a fresh claim may still be posting"
    clock.now = nine + timedelta(minutes=11)
    assert survivor.digest_job()
    assert len(posts.digests) == 1


def test_a_sweep_lease_left_by_a_killed_process_does_not_block_the_next_sweep(
    sim: Sim, make_runner: Callable[..., tuple[Runner, RecordingPublisher, FakeClock]]
) -> None:
    import socket
    import subprocess
    import sys

    from bot.store.ledger import holder_alive

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    corpse = f"{socket.gethostname()}:{dead.stdout.strip()}:abcdef"
    assert not holder_alive(corpse)
    assert holder_alive("another-container:1:abcdef"), "other hosts are trusted until expiry"

    runner, _, clock = make_runner(datetime.now(UTC))
    runner.store.ledger.with_holder(corpse).acquire("sweep", clock.now, timedelta(hours=2))
    assert runner.sweep_job() is not None
    runner.store.ledger.with_holder("another-container:1:abcdef").acquire(
        "sweep", clock.now, timedelta(minutes=15)
    )
    assert runner.sweep_job() is None
