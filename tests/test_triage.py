"""Triage mode (SSM3_TRIAGE=securityhub): scheduled sweeps read only the account-regions that
Security Hub's SSM.3 findings or the store name, the full reconciling sweep reads everything on
its own schedule, and what triage trusts is exactly Security Hub's verdict, no more."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.digests import build_digest
from bot.core.health import assess
from bot.models import Scope
from bot.scheduling.runner import Runner
from bot.settings.config import Settings
from bot.sim.fleet import Fault, Fleet, SimAssociation, failure_for
from bot.store import Store
from tests.support.runners import make_runner
from tests.support.sim import Sim
from tests.support.virtual_time import FakeClock

ACCOUNTS = ("111111111111", "222222222222", "333333333333")
REGIONS = ("eu-west-1", "us-east-1")
YEARLY = "0 0 1 1 *"


@pytest.fixture
def estate(make_sim: Callable[..., Sim]) -> Sim:
    """Three accounts x two regions, clean: every failure is one a test makes."""
    return make_sim(
        seed=3, accounts=ACCOUNTS, regions=REGIONS, associations=6, failing=0, instances=8
    )


def settings_for(tmp_path: Path, **changes: object) -> Settings:
    base = Settings(
        accounts=ACCOUNTS,
        regions=REGIONS,
        db_path=str(tmp_path / "triage.db"),
        concurrency=4,
        triage="securityhub",
        full_sweep_schedule=YEARLY,
        sweep_schedule="0 * * * *",
    )
    return base.with_changes(**changes)


def healthy(fleet: Fleet, scope: Scope) -> SimAssociation:
    return next(
        a
        for a in fleet.scope(scope.account_id, scope.region).associations.values()
        if a.status == "Success"
    )


def break_one(fleet: Fleet, association: SimAssociation) -> None:
    failure = failure_for("permissions", association.document, random.Random(4))
    fleet.run_association(
        association.association_id,
        failures={association.instance_ids[0]: failure},
        at=datetime.now(UTC) + timedelta(seconds=1),
    )


def reads(fleet: Fleet) -> set[Scope]:
    """The account-regions read since the last reset (one ListAssociations each)."""
    return {
        Scope(c.account_id or "", c.region)
        for c in fleet.calls
        if c.operation == "ListAssociations"
    }


def failing_scopes(store: Store) -> set[Scope]:
    return {t.key.scope for t in store.associations.tracked(failing_only=True)}


@pytest.fixture
def runner(estate: Sim, tmp_path: Path) -> Iterator[Runner]:
    settings = settings_for(tmp_path)
    store = Store(settings.db_path)
    yield make_runner(settings=settings, store=store, access=estate.access(), publisher=None)
    store.close()


def test_triage_reads_what_security_hub_and_the_store_name_and_nothing_else(
    estate: Sim, runner: Runner
) -> None:
    fleet = estate.fleet
    old, new = Scope(ACCOUNTS[1], "eu-west-1"), Scope(ACCOUNTS[2], "us-east-1")
    old_failure = healthy(fleet, old)
    break_one(fleet, old_failure)
    assert runner.sweep("cli").coverage == "full"  # asked for: everything
    assert failing_scopes(runner.store) == {old}

    break_one(fleet, healthy(fleet, new))  # Security Hub will report it (Config records)
    fleet.reset_calls()
    assert runner.triage_due("schedule")
    summary = runner.sweep("schedule")
    assert summary.coverage == "triage"
    assert reads(fleet) == {old, new}, "the store's failing scope and Security Hub's new one"
    assert fleet.call_count("GetFindings") == 1
    assert failing_scopes(runner.store) == {old, new}
    check = runner.store.sweeps.security_hub_check(summary.sweep_id)
    assert check is not None
    assert check.agrees
    assert runner.store.sweeps.last() == summary

    # The old failure is fixed: Security Hub no longer names its scope, the store still does,
    # so triage reads it and sees the failure end.
    fleet.run_association(old_failure.association_id, at=datetime.now(UTC) + timedelta(seconds=2))
    fleet.reset_calls()
    runner.sweep("schedule")
    assert reads(fleet) == {old, new}
    assert failing_scopes(runner.store) == {new}
    assert len(runner.store.sweeps.scope_states()) == 6, "unread scopes keep their last read"


def test_what_triage_trusts_a_failure_security_hub_has_not_seen_waits_for_the_full_sweep(
    estate: Sim, runner: Runner
) -> None:
    fleet = estate.fleet
    runner.sweep("cli")
    lagging = Scope(ACCOUNTS[0], "us-east-1")
    fleet.refresh_findings()
    fleet.findings_frozen = True  # Config has not evaluated the new failure yet
    break_one(fleet, healthy(fleet, lagging))
    fleet.reset_calls()
    triage = runner.sweep("schedule")
    assert triage.coverage == "triage"
    assert reads(fleet) == set(), "no finding names it, and the store knew it clean"
    assert failing_scopes(runner.store) == set()
    # The full reconciling sweep (SSM3_FULL_SWEEP_SCHEDULE) reads it, and its cross-check
    # names the instance Security Hub does not fail yet.
    full = runner.sweep("full-schedule")
    assert full.coverage == "full"
    assert failing_scopes(runner.store) == {lagging}
    check = runner.store.sweeps.security_hub_check(full.sweep_id)
    assert check is not None
    assert [k.region for k in check.sweep_only] == ["us-east-1"]
    assert build_digest(runner.store, datetime.now(UTC)).security_hub_disagrees


def test_an_account_region_never_read_or_last_unreadable_is_read_by_triage(
    estate: Sim, runner: Runner
) -> None:
    fleet = estate.fleet
    unreadable = Scope(ACCOUNTS[2], "eu-west-1")
    fleet.inject(
        Fault(
            "AccessDeniedException",
            "no",
            operation="ListAssociations",
            account_id=unreadable.account_id,
            region=unreadable.region,
            times=1,
        )
    )
    first = runner.sweep("cli")
    assert first.scopes_failed == 1
    fleet.reset_calls()
    runner.sweep("schedule")
    assert reads(fleet) == {unreadable}, "a clean verdict is trusted only where the bot read clean"
    assert all(s.ok for s in runner.store.sweeps.scope_states())


def test_security_hub_unreadable_means_a_full_sweep(estate: Sim, runner: Runner) -> None:
    runner.sweep("cli")
    estate.fleet.inject(Fault("AccessDeniedException", "denied", operation="GetFindings"))
    estate.fleet.reset_calls()
    summary = runner.sweep("schedule")
    assert summary.coverage == "full"
    assert len(reads(estate.fleet)) == 6


def test_a_triage_that_finds_nothing_to_read_is_a_healthy_sweep(
    estate: Sim, runner: Runner
) -> None:
    runner.sweep("cli")
    summary = runner.sweep("schedule")
    assert (summary.coverage, summary.scopes) == ("triage", 0)
    verdict = assess(
        last_sweep=runner.store.sweeps.last(), period=timedelta(hours=1), now=datetime.now(UTC)
    )
    assert verdict.healthy


def test_a_full_sweep_owed_since_its_slot_is_made_up_by_the_next_scheduled_sweep(
    estate: Sim, tmp_path: Path
) -> None:
    clock = FakeClock(datetime(2026, 11, 30, 10, 30, tzinfo=UTC))
    settings = settings_for(tmp_path, full_sweep_schedule="0 */6 * * *")
    runner = make_runner(
        settings=settings,
        store=Store(settings.db_path),
        access=estate.access(),
        publisher=None,
        clock=clock,
    )
    assert runner.full_sweep_owed(), "never swept in full"
    assert runner.sweep("startup").coverage == "full"
    clock.now = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
    assert runner.sweep("schedule").coverage == "triage"
    assert not runner.full_sweep_owed()
    assert runner.full_sweep_job() is None, "the 06:00 slot's full sweep ran (at 10:30)"
    clock.now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # the 12:00 full slot has come
    assert runner.full_sweep_owed()
    assert runner.sweep("schedule").coverage == "full", "the hourly sweep makes it up"
    assert runner.full_sweep_job() is None, "already done since the slot"
