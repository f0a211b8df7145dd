"""Work due later is rows, not timers: a job runs once across processes, a job whose process
died runs again, a failing one is retried and then given up, and a re-run clicked before a
restart is still checked (and announced) after it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app.jobs import MAX_ATTEMPTS, ScheduledJobs
from bot.models import ScheduledJob
from bot.slack import blocks as kit
from bot.store import Store
from bot.store.ledger import STALE_CLAIM
from bot.util.clock import utcnow
from tests.fakes.fixtures import OPERATOR
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import CHANNEL, SlackHarness
from tests.support.sim import Sim
from tests.support.slack import body_text, failing, post_digest
from tests.support.waiting import wait_until

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_due_job_is_claimed_by_one_process_only(tmp_path: Path) -> None:
    first, second = Store(tmp_path / "j.db"), Store(tmp_path / "j.db")  # two processes' stores
    try:
        job_id = first.jobs.add("check", NOW, {"n": 1}, NOW)
        first.jobs.add("later", NOW + timedelta(hours=1), {}, NOW)
        taken = first.jobs.claim_due(NOW, {"check", "later"})
        assert [(j.id, j.kind, dict(j.payload), j.attempts) for j in taken] == [
            (job_id, "check", {"n": 1}, 1)
        ]
        assert second.jobs.claim_due(NOW, {"check", "later"}) == []
        assert second.jobs.claim(job_id, NOW) is None, "its timer elsewhere finds it taken"
        first.jobs.finish(job_id, NOW, "done")
        assert [j.kind for j in second.jobs.pending()] == ["later"]
    finally:
        first.close()
        second.close()


def test_a_claim_whose_process_died_or_went_stale_is_taken_over(tmp_path: Path) -> None:
    store = Store(tmp_path / "j.db")
    other_host = Store(tmp_path / "j.db")
    other_host.jobs.holder = "elsewhere:1:abcdef"  # a live process on another host
    dead_here = Store(tmp_path / "j.db")
    dead_here.jobs.holder = dead_here.jobs.holder.rsplit(":", 2)[0] + ":999999999:abcdef"
    try:
        a = store.jobs.add("check", NOW, {}, NOW)
        b = store.jobs.add("check", NOW, {}, NOW)
        assert other_host.jobs.claim(a, NOW) is not None
        assert dead_here.jobs.claim(b, NOW) is not None
        # b's holder is gone from this host: at once; a's may still run it: after STALE_CLAIM.
        assert [j.id for j in store.jobs.claim_due(NOW, {"check"})] == [b]
        store.jobs.finish(b, NOW, "done")
        assert store.jobs.claim_due(NOW + STALE_CLAIM, {"check"}) == []
        later = NOW + STALE_CLAIM + timedelta(seconds=1)
        [retaken] = store.jobs.claim_due(later, {"check"})
        assert (retaken.id, retaken.attempts) == (a, 2)
    finally:
        for s in (store, other_host, dead_here):
            s.close()


def test_a_failing_job_is_retried_then_given_up(tmp_path: Path) -> None:
    store = Store(tmp_path / "j.db")
    clock = [NOW]
    jobs = ScheduledJobs(store, lambda: clock[0])
    seen: list[int] = []

    def flaky(job: ScheduledJob) -> str:
        seen.append(job.attempts)
        raise RuntimeError("Slack is down")

    jobs.register("flaky", flaky)
    job_id = jobs.schedule("flaky", 0, {}, arm=False)
    for _ in range(MAX_ATTEMPTS + 2):
        jobs.run_due()
        clock[0] += timedelta(minutes=10)
    assert seen == list(range(1, MAX_ATTEMPTS + 1))
    assert store.jobs.pending() == []
    assert store.jobs.outcome(job_id) == "failed: RuntimeError"
    store.close()


def test_a_rerun_clicked_before_a_restart_is_confirmed_after_it(
    sim: Sim, fake_slack: FakeSlack, make_harness: Callable[..., SlackHarness]
) -> None:
    """The follow-up is due five minutes after the click; the process stops before that. The
    next process, started later, checks the association and says so in the digest's thread."""
    before = make_harness()
    item = failing(before)
    _, simulated = sim.fleet.find_association(item.key.association_id)
    simulated.fix_on_rerun = True
    post = post_digest(before)
    before.services.followup_delay_s = 300
    before.click(kit.ACTION_RERUN, kit.key_value(item.key), user=OPERATOR, message_ts=post.ts)
    [job] = wait_until(before.services.store.jobs.pending, what="the follow-up's row")
    settings, access = before.settings, before.services.access
    assert job.kind == "rerun_follow_up"
    before.stop()  # the deploy: its timer goes with it, the row stays
    before.services.store.close()

    store = Store(settings.db_path)
    after = SlackHarness(
        settings=settings,
        store=store,
        access=access,
        fake=fake_slack,
        clock=lambda: utcnow() + timedelta(minutes=6),
    ).start()
    try:
        assert after.services.scheduled().jobs_job() == 1  # what the scheduler runs every 10 s
        started, checked = (body_text(m.blocks) for m in fake_slack.thread(CHANNEL, post.ts)[:2])
        assert f"<@{OPERATOR}> re-ran" in started
        assert "is COMPLIANT again after the re-run" in checked
        assert store.jobs.pending() == []
        assert store.jobs.outcome(job.id) == "checked"
        assert store.reruns.last(item.key).outcome == "compliant"  # type: ignore[union-attr]
        assert sim.fleet.call_count("StartAssociationsOnce", account_id=item.key.account_id) == 1
        actions = [(e.action, e.outcome) for e in store.audit.entries()]
        assert ("rerun_check", "compliant") in actions
        assert after.services.scheduled().jobs_job() == 0, "once, not again"
    finally:
        after.stop()
        store.close()


def test_every_kind_of_job_has_a_handler_in_serve(
    make_harness: Callable[..., SlackHarness],
) -> None:
    from bot.scheduling.runner import RESUME_SWEEP
    from bot.slack.flows.reruns import FOLLOW_UP

    h = make_harness(sweep=False)
    # Exactly these: a kind added without a handler (or a handler left for none) shows here.
    assert h.services.scheduled().jobs.kinds == {FOLLOW_UP, RESUME_SWEEP}
