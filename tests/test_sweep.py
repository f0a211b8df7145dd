"""Sweeps over loopback HTTP: several accounts via AssumeRole, isolated failures, retries,
failing_since that survives restarts, and incremental drill-downs."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.models import Scope
from bot.settings.config import ConfigError, Settings
from bot.sim.fleet import Fault, failure_for
from bot.store import Store
from bot.sweeping.sweep import SweepError, resolve_scopes, run_sweep
from bot.util.clock import utcnow
from tests.support.sim import Sim

ACCOUNTS = ("111111111111", "222222222222", "333333333333")


def _three_accounts(make_sim: Callable[..., Sim], **kwargs: object) -> Sim:
    return make_sim(seed=21, accounts=ACCOUNTS, regions=("eu-west-1", "us-east-1"), **kwargs)


def test_sweeps_every_account_and_region_assuming_the_role_once_per_account(
    make_sim: Callable[..., Sim], settings: Settings, store: Store
) -> None:
    sim = _three_accounts(make_sim)
    access = sim.access()
    summary = run_sweep(
        settings=settings.with_changes(accounts=ACCOUNTS), access=access, store=store
    )

    assert summary.scopes == 6
    assert summary.scopes_failed == 0
    assert summary.associations == 6 * 12
    assert summary.failing == 6 * 3
    # The caller's own account needs no role; each other account is assumed once for both regions.
    assert sim.fleet.call_count("AssumeRole") == 2
    for account in ACCOUNTS:
        for region in ("eu-west-1", "us-east-1"):
            assert sim.fleet.call_count("ListAssociations", account_id=account, region=region) == 1
    swept = store.associations.tracked(sweep_id=summary.sweep_id)
    assert {(t.key.account_id, t.key.region) for t in swept} == {
        (a, r) for a in ACCOUNTS for r in ("eu-west-1", "us-east-1")
    }


def test_a_denied_account_is_isolated_and_reported(
    make_sim: Callable[..., Sim], settings: Settings, store: Store
) -> None:
    sim = _three_accounts(make_sim, deny_accounts=["333333333333"])
    summary = run_sweep(
        settings=settings.with_changes(accounts=ACCOUNTS), access=sim.access(), store=store
    )

    assert summary.scopes == 6
    assert summary.scopes_failed == 2
    assert summary.reached_any_scope
    scopes = {
        (s.scope.account_id, s.scope.region): s for s in store.sweeps.sweep_scopes(summary.sweep_id)
    }
    for region in ("eu-west-1", "us-east-1"):
        denied = scopes[("333333333333", region)]
        assert not denied.ok
        assert denied.error is not None
        assert "AssumeRole: AccessDenied" in denied.error
        assert scopes[("222222222222", region)].ok
    assert not any(t.key.account_id == "333333333333" for t in store.associations.tracked())
    assert summary.associations == 4 * 12


def test_organizations_lists_active_accounts(
    make_sim: Callable[..., Sim], settings: Settings
) -> None:
    sim = _three_accounts(make_sim)
    sim.fleet.accounts["333333333333"].state = "SUSPENDED"
    scopes = resolve_scopes(settings.with_changes(accounts_from_org=True), sim.access())
    assert scopes == [
        Scope(account, region) for account in ACCOUNTS[:2] for region in ("eu-west-1", "us-east-1")
    ]


def test_no_accounts_means_the_callers_own(sim: Sim, settings: Settings) -> None:
    assert resolve_scopes(settings, sim.access()) == [
        Scope("111111111111", "eu-west-1"),
        Scope("111111111111", "us-east-1"),
    ]


def test_no_region_anywhere_is_a_configuration_error(sim: Sim, settings: Settings) -> None:
    import boto3

    from bot.aws.session import AwsAccess

    credentials = sim.fleet.caller_credentials
    bare = boto3.Session(
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
    )
    if bare.region_name:
        pytest.skip("the environment configures a default region")
    with pytest.raises(ConfigError, match="SSM3_REGIONS"):
        resolve_scopes(
            settings.with_changes(regions=()),
            AwsAccess(session=bare, endpoint_url=sim.endpoint_url),
        )


def test_throttling_is_retried_and_recovered(sim: Sim, settings: Settings, store: Store) -> None:
    sim.fleet.inject(
        Fault(
            "ThrottlingException",
            "Rate exceeded",
            operation="ListAssociations",
            region="eu-west-1",
            times=2,
        )
    )
    summary = run_sweep(settings=settings, access=sim.access(), store=store)
    assert summary.scopes_failed == 0
    assert sim.fleet.call_count("ListAssociations", region="eu-west-1") == 3
    assert summary.associations == 2 * 12


def test_throttling_that_outlasts_retries_fails_only_that_scope(
    sim: Sim, settings: Settings, store: Store
) -> None:
    sim.fleet.inject(
        Fault(
            "ThrottlingException", "Rate exceeded", operation="ListAssociations", region="us-east-1"
        )
    )
    summary = run_sweep(settings=settings, access=sim.access(max_attempts=3), store=store)
    assert summary.scopes_failed == 1
    (failed,) = [s for s in store.sweeps.sweep_scopes(summary.sweep_id) if not s.ok]
    assert failed.scope.region == "us-east-1"
    assert failed.error is not None
    assert "ThrottlingException" in failed.error
    assert sim.fleet.call_count("ListAssociations", region="us-east-1") == 3
    assert summary.associations == 12


def test_an_endpoint_that_drops_connections_fails_the_scope_and_the_next_sweep_recovers(
    sim: Sim, settings: Settings, store: Store
) -> None:
    fault = sim.fleet.inject(Fault(operation="ListAssociations", region="eu-west-1", drop=True))
    access = sim.access(max_attempts=2)
    first = run_sweep(settings=settings, access=access, store=store)
    assert first.scopes_failed == 1
    (failed,) = [s for s in store.sweeps.sweep_scopes(first.sweep_id) if not s.ok]
    assert failed.error
    assert "Connection" in failed.error or "endpoint" in failed.error.lower()
    sim.fleet.faults.remove(fault)
    second = run_sweep(settings=settings, access=access, store=store)
    assert second.scopes_failed == 0


def test_a_scope_that_failed_keeps_its_last_known_failures(
    sim: Sim, settings: Settings, store: Store
) -> None:
    access = sim.access()
    first = run_sweep(settings=settings, access=access, store=store)
    before = {
        t.key for t in store.associations.tracked(failing_only=True) if t.key.region == "eu-west-1"
    }
    sim.fleet.inject(
        Fault("AccessDeniedException", "denied", operation="ListAssociations", region="eu-west-1")
    )
    second = run_sweep(settings=settings, access=access, store=store)
    assert second.scopes_failed == 1
    assert second.associations == first.associations // 2
    after = {
        t.key for t in store.associations.tracked(failing_only=True) if t.key.region == "eu-west-1"
    }
    assert after == before, "a scope we could not read must not look compliant"


def test_no_credentials_stop_the_sweep_with_a_clear_error(
    sim: Sim, settings: Settings, store: Store
) -> None:
    import boto3

    from bot.aws.session import AwsAccess

    stranger = boto3.Session(
        aws_access_key_id="AKIANOTKNOWN00000000", aws_secret_access_key="x", region_name="eu-west-1"
    )
    with pytest.raises(SweepError, match=r"UnrecognizedClientException|InvalidClientTokenId"):
        run_sweep(
            settings=settings,
            access=AwsAccess(session=stranger, endpoint_url=sim.endpoint_url),
            store=store,
        )


def test_failing_since_holds_across_sweeps_and_restarts(
    sim: Sim, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "persist.db"
    first_store = Store(path)
    access = sim.access()
    run_sweep(settings=settings, access=access, store=first_store)
    since = {t.key: t.failing_since for t in first_store.associations.tracked(failing_only=True)}
    assert since
    assert all(moment is not None and moment <= datetime.now(UTC) for moment in since.values())
    first_store.close()

    reopened = Store(path)  # a restart: a new process opens the same file
    run_sweep(settings=settings, access=access, store=reopened)
    assert {
        t.key: t.failing_since for t in reopened.associations.tracked(failing_only=True)
    } == since


def test_failing_since_starts_at_the_first_failed_run_of_the_streak(
    sim: Sim, settings: Settings, store: Store
) -> None:
    run_sweep(settings=settings, access=sim.access(), store=store)
    for tracked in store.associations.tracked(failing_only=True):
        _, simulated = sim.fleet.find_association(tracked.key.association_id)
        streak = []
        for execution in simulated.executions:
            if execution.status != "Failed":
                break
            streak.append(execution.created_at)
        assert tracked.failing_since is not None
        assert tracked.failing_since == min(streak).replace(microsecond=0)


def test_recovery_ends_the_streak_and_a_new_failure_starts_another(
    sim: Sim, settings: Settings, store: Store
) -> None:
    access = sim.access()
    run_sweep(settings=settings, access=access, store=store)
    victim = store.associations.tracked(failing_only=True)[0]
    association_id = victim.key.association_id
    sim.fleet.run_association(association_id, failures={})
    run_sweep(settings=settings, access=access, store=store)
    (recovered,) = store.associations.find(association_id, now=utcnow())
    assert recovered.association.status == "Success"
    assert recovered.failing_since is None

    _, simulated = sim.fleet.find_association(association_id)
    again = datetime.now(UTC)
    instance = simulated.instance_ids[0]
    sim.fleet.run_association(
        association_id,
        failures={instance: failure_for("permissions", simulated.document, random.Random(1))},
        at=again,
    )
    run_sweep(settings=settings, access=access, store=store)
    (failing_again,) = store.associations.find(association_id, now=utcnow())
    assert failing_again.association.failing
    assert failing_again.failing_since == again.replace(microsecond=0)
    statuses = [c["new_status"] for c in store.associations.status_history(victim.key)]
    assert statuses == ["Failed", "Success", "Failed"]


def test_an_unchanged_failure_reuses_its_drilldown(
    sim: Sim, settings: Settings, store: Store
) -> None:
    access = sim.access()
    first = run_sweep(settings=settings, access=access, store=store)
    sim.fleet.reset_calls()
    second = run_sweep(settings=settings, access=access, store=store)
    assert sim.fleet.call_count("DescribeAssociationExecutions") == 0
    # Only the listings: associations and SSM.3's NON_COMPLIANT instances, one page a scope.
    assert sim.fleet.call_count("ListAssociations") == 2
    assert sim.fleet.call_count("ListResourceComplianceSummaries") == 2
    assert sim.fleet.call_count(service="ssm") == 4
    assert second.failing == first.failing
    assert {
        t.key: t.association.failed_targets
        for t in store.associations.tracked(sweep_id=second.sweep_id, failing_only=True)
    }

    # A new run of one failing association is drilled into again, and only that one.
    victim = store.associations.tracked(failing_only=True)[0]
    _, simulated = sim.fleet.find_association(victim.key.association_id)
    assert simulated.latest is not None
    sim.fleet.run_association(victim.key.association_id, failures=dict(simulated.latest.failures))
    sim.fleet.reset_calls()
    run_sweep(settings=settings, access=access, store=store)
    assert sim.fleet.call_count("DescribeAssociationExecutions") == 1


def test_deleted_associations_leave_the_store(sim: Sim, settings: Settings, store: Store) -> None:
    access = sim.access()
    run_sweep(settings=settings, access=access, store=store)
    scope = sim.fleet.scope("111111111111", "eu-west-1")
    gone = next(iter(scope.associations))
    del scope.associations[gone]
    run_sweep(settings=settings, access=access, store=store)
    assert store.associations.find(gone, now=utcnow()) == []


def test_failing_since_traces_a_streak_longer_than_a_page_of_executions(
    make_sim: Callable[..., Sim], settings: Settings, store: Store
) -> None:
    """A daily association failing for months: failing_since is where the streak began, not
    where the first page of DescribeAssociationExecutions (50 runs) happened to end."""
    sim = make_sim(
        seed=7, accounts=1, regions=("eu-west-1",), associations=12, failing=12, history=120
    )
    run_sweep(
        settings=settings.with_changes(regions=("eu-west-1",)), access=sim.access(), store=store
    )
    scope = sim.fleet.scope(sim.fleet.caller_account, "eu-west-1")
    streaks = []
    for tracked in store.associations.tracked(failing_only=True):
        runs = scope.associations[tracked.key.association_id].executions  # newest first
        streak = next((n for n, run in enumerate(runs) if not run.failures), len(runs))
        streaks.append(streak)
        assert tracked.failing_since == runs[streak - 1].created_at.replace(microsecond=0)
    assert max(streaks) > 50, "the fleet must hold streaks longer than one page"
    pages = sum(math.ceil(min(streak + 1, 120) / 50) for streak in streaks)
    assert sim.fleet.call_count("DescribeAssociationExecutions") == pages


def test_account_regions_no_longer_configured_leave_the_digest(
    sim: Sim, settings: Settings, store: Store
) -> None:
    from bot.app.digests import build_digest

    access = sim.access()
    run_sweep(settings=settings.with_changes(accounts=ACCOUNTS[:2]), access=access, store=store)
    assert len(store.sweeps.scope_states()) == 4
    narrowed = settings.with_changes(accounts=ACCOUNTS[:1], regions=("us-east-1",))
    summary = run_sweep(settings=narrowed, access=access, store=store)
    digest = build_digest(store, datetime.now(UTC))
    assert [s.scope for s in store.sweeps.scope_states()] == [Scope(ACCOUNTS[0], "us-east-1")]
    assert {(t.key.account_id, t.key.region) for t in digest.failing} == {
        (ACCOUNTS[0], "us-east-1")
    }
    assert digest.totals.scopes == 1
    assert digest.totals.associations == summary.associations


def test_every_read_is_dated_by_the_sweeps_clock(
    make_sim: Callable[..., Sim], settings: Settings, store: Store
) -> None:
    """A sweep run on an injected clock dates each account-region's read with it (the evidence
    report dates coverage by these), never with the wall clock."""
    sim = _three_accounts(make_sim)
    then = datetime(2031, 5, 4, 3, 2, 1, tzinfo=UTC)
    summary = run_sweep(
        settings=settings.with_changes(accounts=ACCOUNTS),
        access=sim.access(),
        store=store,
        now=lambda: then,
    )
    reads = store.sweeps.sweep_scopes(summary.sweep_id)
    assert len(reads) == 6
    assert {read.swept_at for read in reads} == {then}
