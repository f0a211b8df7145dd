"""The manual sweep use case with a fake runner: permission, one sweep at a time, the audit
entries, and the scheduled sweep's after-sweep step (alerts, resolutions, digest edits)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app.outcomes import Refusal
from bot.app.permissions import LocalOperator
from bot.app.sweeps import Finished, ManualSweeps, NotStarted
from bot.models import DigestMessage
from bot.store import Store
from bot.sweeping.sweep import SweepError
from tests.support.ports import FakeRunner, Nobody

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Busy(Exception):
    pass


def sweeps(runner: FakeRunner, permissions: object = None) -> tuple[ManualSweeps, Store]:
    store = Store(":memory:")
    cases = ManualSweeps(
        store=store,
        permissions=permissions or LocalOperator(),  # type: ignore[arg-type]
        runner=runner,
        clock=lambda: NOW,
        busy=(Busy,),
        failed=(SweepError,),
    )
    return cases, store


def outcomes(store: Store) -> list[tuple[str, str | None]]:
    return [(e.outcome, e.detail) for e in reversed(store.audit.entries())]


def test_a_sweep_takes_the_after_sweep_step_and_is_audited() -> None:
    runner = FakeRunner(NOW)
    cases, store = sweeps(runner)
    assert cases.begin("U0ALICE01") is None
    clicked_in = DigestMessage(NOW, "C0DIGEST01", "manual", posted_at=NOW, ts="1.2")
    done = cases.run("U0ALICE01", trigger="slack", also=[clicked_in])
    assert isinstance(done, Finished)
    assert done.events[0].sweep_id == "s1"
    assert runner.after == [[clicked_in]], "alerts, resolutions and digest edits, once"
    assert outcomes(store) == [("started", None), ("done", "s1")]


@pytest.mark.parametrize(
    ("runner", "permissions", "why"),
    [(FakeRunner(NOW), Nobody(), "permission"), (FakeRunner(NOW, busy=True), None, "busy")],
)
def test_a_sweep_that_may_not_start_is_refused(
    runner: FakeRunner, permissions: object, why: str
) -> None:
    cases, store = sweeps(runner, permissions)
    refused = cases.begin("U0EVE0001")
    assert isinstance(refused, Refusal)
    assert refused.why == why
    assert [o for o, _ in outcomes(store)] == ["refused"]


def test_losing_the_race_for_the_lease_and_a_sweep_that_cannot_start() -> None:
    cases, store = sweeps(FakeRunner(NOW, race=Busy))
    raced = cases.run("U0ALICE01", trigger="slack")
    assert isinstance(raced, Refusal)
    assert raced.why == "busy"
    cases, store = sweeps(FakeRunner(NOW, error=SweepError("cannot list the accounts to sweep")))
    failed = cases.run("U0ALICE01", trigger="slack")
    assert isinstance(failed, NotStarted)
    assert outcomes(store) == [("failed", "cannot list the accounts to sweep")]
