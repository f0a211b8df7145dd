"""SIGTERM, as a deploy sends it, while `serve` is in the middle of a sweep: the process stops
taking work, stores the account-regions it is reading, exits 0 within the bound, and the next
start completes that same sweep (reading only what is missing) instead of starting over."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from bot.scheduling.runner import RESUME_SWEEP
from bot.sim.fleet import Latency
from bot.slack.serve import STOP_GRACE_S
from bot.store import Store
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import SIGNING_SECRET
from tests.support.processes import BOT_TOKEN, captured, free_port, serve
from tests.support.sim import Sim
from tests.support.waiting import wait_until

ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("eu-west-1", "us-east-1", "eu-central-1")


def test_sigterm_during_a_sweep_exits_0_in_time_and_the_next_start_completes_it(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    sim = make_sim(seed=5, accounts=ACCOUNTS, regions=REGIONS)
    # Every AWS call slowed, so the sweep takes many seconds and a loaded machine's late look at
    # the store still finds it under way (at 0.05 s a call this failed once under load).
    sim.fleet.add_latency(Latency(0.15))
    db = tmp_path / "serve.db"
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    with FakeSlack(token=BOT_TOKEN) as fake:
        env = sim.env(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SSM3_SLACK_API_URL=fake.api_url,
            SSM3_HTTP_PORT=str(free_port()),
            SSM3_DB_PATH=str(db),
            SSM3_ACCOUNTS=",".join(ACCOUNTS),
            SSM3_REGIONS=",".join(REGIONS),
            SSM3_CONCURRENCY="1",
            SSM3_SECURITYHUB="off",
        )
        process = serve(env, first, debug=False)
        try:
            wait_until(db.is_file, what="serve to create its database")
            store = Store(db)

            def scopes_stored() -> int:
                sweep = store.sweeps.last(finished=False)
                return len(store.sweeps.sweep_scopes(sweep.sweep_id)) if sweep else 0

            wait_until(lambda: scopes_stored() >= 1, timeout=60, what="the sweep to be under way")
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=STOP_GRACE_S + 5) == 0
        finally:
            if process.poll() is None:
                process.kill()
        _, err = captured(first)
        assert err.rstrip().endswith("ssm3bot: stopped"), err
        sweep = store.sweeps.last(finished=False)
        assert sweep is not None
        assert sweep.finished_at is None, "stopped, not finished with a part missing"
        stored_before = {s.scope for s in store.sweeps.sweep_scopes(sweep.sweep_id)}
        assert 1 <= len(stored_before) < len(ACCOUNTS) * len(REGIONS)
        [job] = store.jobs.pending(RESUME_SWEEP)
        assert dict(job.payload) == {"sweep_id": sweep.sweep_id}

        sim.fleet.clear_faults()
        sim.fleet.reset_calls()
        process = serve(env, second, debug=False)
        try:
            done = wait_until(
                lambda: store.sweeps.get(sweep.sweep_id).finished_at,  # type: ignore[union-attr]
                timeout=60,
                what="the next start to complete the sweep",
            )
            assert done is not None
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=STOP_GRACE_S + 5) == 0
        finally:
            if process.poll() is None:
                process.kill()
    scopes = store.sweeps.sweep_scopes(sweep.sweep_id)
    assert len(scopes) == len(ACCOUNTS) * len(REGIONS)
    assert all(s.ok for s in scopes)
    assert store.sweeps.last().sweep_id == sweep.sweep_id, "completed, not replaced"  # type: ignore[union-attr]
    assert store.jobs.pending() == []
    assert store.jobs.outcome(job.id) == "completed"
    # Only what was missing was read again.
    for scope in stored_before:
        assert (
            sim.fleet.call_count(
                "ListAssociations", account_id=scope.account_id, region=scope.region
            )
            == 0
        )
    store.close()
