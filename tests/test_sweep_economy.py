"""Sweep economy: the exact AWS calls of a first sweep, of a second sweep of an unchanged fleet
(in the same process, in a fresh one, after the credentials lapsed), and a sweep that never
holds more than a few scopes' results in memory. Counts come from the simulator."""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import bot.sweeping.sweep
from bot.models import ScopeResult
from bot.settings.config import Settings
from bot.sim.fleet import Fleet
from bot.store import Store
from bot.sweeping.sweep import IN_FLIGHT_PER_WORKER, run_sweep
from tests.support.raw_db import raw_database
from tests.support.sim import Sim

ACCOUNTS = tuple(str(n) * 12 for n in range(1, 7))  # the first is the caller's
REGIONS = ("eu-west-1", "us-east-1")
ASSOCIATIONS = 60  # two ListAssociations pages a scope


@pytest.fixture
def org(make_sim: Callable[..., Sim]) -> Sim:
    """Six accounts x two regions: 60 associations a scope, 3 failing on 1 to 5 instances."""
    return make_sim(
        seed=5,
        accounts=ACCOUNTS,
        regions=REGIONS,
        associations=ASSOCIATIONS,
        failing=3,
        instances=60,
        failed_instances=(1, 5),
    )


@pytest.fixture
def org_settings(settings: Settings) -> Settings:
    return settings.with_changes(accounts_from_org=True, regions=REGIONS, concurrency=4)


def _ssm_calls(fleet: Fleet) -> dict[str, int]:
    operations = {call.operation for call in fleet.calls}
    return {op: fleet.call_count(op) for op in sorted(operations)}


def _drilldown_cost(fleet: Fleet) -> dict[str, int]:
    """What the drill-down must cost on this fleet: per failing association one
    DescribeAssociationExecutions and one page of targets; per distinct failed instance of a
    scope one DescribeInstanceAssociationsStatus (each association has at most 5, the cap)."""
    failing = instances = 0
    for scope in fleet.scopes.values():
        failed_here: set[str] = set()
        for association in scope.associations.values():
            latest = association.latest
            if latest is not None and latest.failures:
                failing += 1
                assert len(latest.failures) <= 5
                failed_here |= set(latest.failures)
        instances += len(failed_here)
    return {
        "DescribeAssociationExecutions": failing,
        "DescribeAssociationExecutionTargets": failing,
        "DescribeInstanceAssociationsStatus": instances,
        "DescribeAssociation": failing,  # SyncCompliance, once per failing association
    }


def _listing_cost(fleet: Fleet) -> dict[str, int]:
    """What every sweep costs beyond ListAssociations: one page of SSM.3's NON_COMPLIANT
    instances a scope (fewer than 50 here), which Security Hubs are on (one call each; the new
    hub is off here), and Security Hub CSPM's FAILED findings, 100 a page."""
    failed = [
        f
        for f in fleet.findings.values()
        if f.compliance_status == "FAILED" and f.record_state == "ACTIVE"
    ]
    return {
        "ListResourceComplianceSummaries": len(fleet.scopes),
        "DescribeHub": 1,
        "DescribeSecurityHubV2": 1,
        "GetFindings": max(1, math.ceil(len(failed) / 100)),
    }


def test_first_sweep_lists_every_scope_and_drills_into_failures_only(
    org: Sim, org_settings: Settings, store: Store
) -> None:
    summary = run_sweep(settings=org_settings, access=org.access(), store=store)

    scopes = len(ACCOUNTS) * len(REGIONS)
    pages = scopes * math.ceil(ASSOCIATIONS / 50)
    assert summary.scopes == scopes
    assert summary.scopes_failed == 0
    assert summary.failing == scopes * 3
    assert _ssm_calls(org.fleet) == {
        "GetCallerIdentity": 1,
        "ListAccounts": 1,
        "AssumeRole": len(ACCOUNTS) - 1,  # once per account, shared by its two regions
        "ListAssociations": pages,
        **_listing_cost(org.fleet),
        **_drilldown_cost(org.fleet),
    }
    # The sweep's own accounting agrees with the simulator's, scope by scope.
    with raw_database(store) as db:
        [stored] = db.rows(
            "SELECT sum(aws_calls) AS n FROM sweep_scopes WHERE sweep_id = ?", [summary.sweep_id]
        )
    stored_calls = stored["n"]
    assert stored_calls == summary.aws_calls == org.fleet.call_count(service="ssm")
    assert _listing_cost(org.fleet)["GetFindings"] == 2, "the findings span two pages"


def test_second_sweep_in_the_same_process_costs_only_the_listing_pages(
    org: Sim, org_settings: Settings, store: Store
) -> None:
    access = org.access()
    first = run_sweep(settings=org_settings, access=access, store=store)
    drilled = {
        t.key: t.association.failed_targets for t in store.associations.tracked(failing_only=True)
    }
    org.fleet.reset_calls()

    second = run_sweep(settings=org_settings, access=access, store=store)

    scopes = len(ACCOUNTS) * len(REGIONS)
    assert _ssm_calls(org.fleet) == {
        # The account list is kept for ORG_ACCOUNTS_TTL: Organizations is rate-limited hard.
        "ListAssociations": scopes * math.ceil(ASSOCIATIONS / 50),
        **_listing_cost(org.fleet),
    }
    assert second.failing == first.failing
    with raw_database(store) as db:
        [row] = db.rows(
            "SELECT sum(reused_drilldowns) AS n FROM sweep_scopes WHERE sweep_id = ?",
            [second.sweep_id],
        )
    reused = row["n"]
    assert reused == first.failing
    reused_targets = {
        t.key: t.association.failed_targets
        for t in store.associations.tracked(sweep_id=second.sweep_id, failing_only=True)
    }
    assert reused_targets == drilled
    assert all(targets for targets in drilled.values())


def test_second_sweep_in_a_fresh_process_assumes_each_role_once_more(
    org: Sim, org_settings: Settings, store: Store
) -> None:
    run_sweep(settings=org_settings, access=org.access(), store=store)
    org.fleet.reset_calls()

    run_sweep(settings=org_settings, access=org.access(), store=store)  # a new AwsAccess: no cache

    assert _ssm_calls(org.fleet) == {
        "GetCallerIdentity": 1,
        "AssumeRole": len(ACCOUNTS) - 1,
        "ListAssociations": len(ACCOUNTS) * len(REGIONS) * math.ceil(ASSOCIATIONS / 50),
        **_listing_cost(org.fleet),
    }


def test_lapsed_credentials_are_renewed_once_per_account(
    org: Sim, org_settings: Settings, store: Store
) -> None:
    offset = timedelta()
    access = org.access(clock=lambda: datetime.now(UTC) + offset)
    run_sweep(settings=org_settings, access=access, store=store)
    org.fleet.reset_calls()

    # Two hours later for both sides: the one-hour role credentials have expired.
    offset = timedelta(hours=2)
    org.fleet.clock_offset = offset
    summary = run_sweep(settings=org_settings, access=access, store=store)

    assert summary.scopes_failed == 0
    assert _ssm_calls(org.fleet) == {
        "AssumeRole": len(ACCOUNTS) - 1,
        "ListAssociations": len(ACCOUNTS) * len(REGIONS) * math.ceil(ASSOCIATIONS / 50),
        **_listing_cost(org.fleet),
    }


def test_a_changed_association_is_drilled_into_again_and_nothing_else(
    org: Sim, org_settings: Settings, store: Store
) -> None:
    access = org.access()
    run_sweep(settings=org_settings, access=access, store=store)
    victim = store.associations.tracked(failing_only=True)[0]
    _, simulated = org.fleet.find_association(victim.key.association_id)
    assert simulated.latest is not None
    org.fleet.run_association(victim.key.association_id, failures=dict(simulated.latest.failures))
    org.fleet.reset_calls()

    run_sweep(settings=org_settings, access=access, store=store)

    calls = _ssm_calls(org.fleet)
    assert calls["DescribeAssociationExecutions"] == 1
    assert calls["DescribeAssociationExecutionTargets"] == 1
    assert calls["DescribeInstanceAssociationsStatus"] == len(simulated.latest.failures)
    assert "AssumeRole" not in calls


def test_the_sweep_holds_only_a_window_of_results_in_memory(
    org: Sim, org_settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each scope's result is dropped once stored: the organisation never sits in memory whole."""
    settings = org_settings.with_changes(concurrency=2)
    window = IN_FLIGHT_PER_WORKER * settings.concurrency
    results: list[weakref.ref[ScopeResult]] = []
    started = 0
    stored = 0
    most_alive = 0
    most_ahead = 0
    read_scope = bot.sweeping.sweep.read_scope

    def tracking_read_scope(*args: Any) -> ScopeResult:
        nonlocal started, most_ahead
        started += 1
        most_ahead = max(most_ahead, started - stored)
        result = read_scope(*args)
        results.append(weakref.ref(result))
        return result

    def progress(done: int, total: int, result: ScopeResult) -> None:
        nonlocal stored, most_alive
        stored = done
        most_alive = max(most_alive, sum(1 for ref in results if ref() is not None))

    monkeypatch.setattr(bot.sweeping.sweep, "read_scope", tracking_read_scope)
    summary = run_sweep(settings=settings, access=org.access(), store=store, progress=progress)

    assert summary.scopes == len(results) == 12 > window + 1
    assert most_alive <= window + 1  # the one being stored, and at most a window waiting
    assert most_ahead <= window + 1  # scopes are handed to the pool a window at a time
    assert all(ref() is None for ref in results)


def test_the_organisations_accounts_are_listed_again_once_the_list_is_old(
    org: Sim, org_settings: Settings, store: Store
) -> None:
    from bot.sweeping.sweep import ORG_ACCOUNTS_TTL

    start = datetime.now(UTC)
    access = org.access()
    run_sweep(settings=org_settings, access=access, store=store, now=lambda: start)
    assert org.fleet.call_count("ListAccounts") == 1
    soon = start + ORG_ACCOUNTS_TTL - timedelta(seconds=1)
    run_sweep(settings=org_settings, access=access, store=store, now=lambda: soon)
    assert org.fleet.call_count("ListAccounts") == 1
    later = start + ORG_ACCOUNTS_TTL + timedelta(seconds=1)
    run_sweep(settings=org_settings, access=access, store=store, now=lambda: later)
    assert org.fleet.call_count("ListAccounts") == 2
