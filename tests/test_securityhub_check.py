"""The Security Hub cross-check (SSM3_SECURITYHUB=check): SSM.3's ACTIVE, FAILED findings beside the
sweep's NON_COMPLIANT instances, through unmodified boto3 against the simulator's GetFindings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.app.digests import build_digest
from bot.aws.securityhub import cross_check, instance_of
from bot.core.digest import DigestView
from bot.models import InstanceKey, Scope
from bot.render.text import render_digest
from bot.settings.config import Settings
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from tests.support.sim import Sim

REGIONS = ("eu-west-1", "us-east-1")


@pytest.fixture
def hub(make_sim: Callable[..., Sim]) -> Sim:
    """Two accounts x two regions, AUTO failures only, Security Hub's home in eu-west-1."""
    return make_sim(seed=11, accounts=2, regions=REGIONS, instances=30)


def _failed_in_sim(sim: Sim) -> set[InstanceKey]:
    """FAILED findings in the caller's account: the one the `settings` fixture sweeps."""
    sim.fleet.refresh_findings()
    return {
        InstanceKey(f.account_id, f.region, f.instance_id)
        for f in sim.fleet.findings.values()
        if f.compliance_status == "FAILED"
        and f.record_state == "ACTIVE"
        and f.account_id == sim.fleet.caller_account
    }


def test_security_hub_and_the_sweep_agree_on_a_fleet_config_records(
    hub: Sim, settings: Settings, store: Store
) -> None:
    summary = run_sweep(settings=settings, access=hub.access(), store=store)
    check = store.sweeps.security_hub_check(summary.sweep_id)
    assert check is not None
    assert check.error is None
    assert check.region == "eu-west-1"
    assert check.failed_instances == summary.noncompliant_instances == len(_failed_in_sim(hub)) > 0
    assert check.explained == check.failed_instances
    assert (check.unexplained, check.sweep_only) == ((), ())
    assert hub.fleet.call_count("GetFindings") == 1
    # Read with the bot's own credentials (the Security Hub administrator), in its home region.
    assert hub.fleet.call_count("GetFindings", account_id=hub.fleet.caller_account) == 1
    assert hub.fleet.call_count("GetFindings", region="eu-west-1") == 1
    assert not any(
        "Security Hub" in line
        for line in render_digest(DigestView(build_digest(store, datetime.now(UTC)))).splitlines()
    )


def test_config_lag_shows_as_instances_security_hub_still_fails(
    hub: Sim, settings: Settings, store: Store
) -> None:
    access = hub.access()
    run_sweep(settings=settings, access=access, store=store)
    failing = store.associations.tracked(failing_only=True)[0]
    hub.fleet.findings_frozen = True  # Config has not re-evaluated since
    hub.fleet.run_association(failing.key.association_id, failures={})  # fixed
    summary = run_sweep(settings=settings, access=access, store=store)

    check = store.sweeps.security_hub_check(summary.sweep_id)
    assert check is not None
    fixed = {
        InstanceKey(failing.key.account_id, failing.key.region, i)
        for i in failing.association.noncompliant_instances
    }
    still_noncompliant = store.associations.noncompliant_instances()
    assert set(check.unexplained) == fixed - still_noncompliant
    assert check.unexplained
    assert check.explained == check.failed_instances - len(check.unexplained)
    text = render_digest(DigestView(build_digest(store, datetime.now(UTC))))
    assert (
        f"Security Hub fails {len(check.unexplained)} instance(s) the sweep finds compliant" in text
    )


def test_a_region_config_does_not_record_shows_as_failures_security_hub_misses(
    hub: Sim, settings: Settings, store: Store
) -> None:
    for (account, region), scope in hub.fleet.scopes.items():
        if (account, region) == (hub.fleet.caller_account, "us-east-1"):
            scope.config_resource_types = frozenset({"AWS::EC2::Instance"})
    summary = run_sweep(settings=settings, access=hub.access(), store=store)
    check = store.sweeps.security_hub_check(summary.sweep_id)
    assert check is not None
    missed = {
        k
        for k in store.associations.noncompliant_instances()
        if (k.account_id, k.region) == (hub.fleet.caller_account, "us-east-1")
    }
    assert missed
    assert set(check.sweep_only) == missed
    assert check.unexplained == ()
    text = render_digest(DigestView(build_digest(store, datetime.now(UTC))))
    assert f"The sweep finds {len(missed)} instance(s) NON_COMPLIANT that Security Hub" in text


def test_findings_outside_the_swept_account_regions_are_not_counted(
    hub: Sim, settings: Settings, store: Store
) -> None:
    only_ireland = settings.with_changes(regions=("eu-west-1",))
    summary = run_sweep(settings=only_ireland, access=hub.access(), store=store)
    check = store.sweeps.security_hub_check(summary.sweep_id)
    assert check is not None
    in_ireland = {k for k in _failed_in_sim(hub) if k.region == "eu-west-1"}
    assert len(in_ireland) < len(_failed_in_sim(hub)), "us-east-1 has failures too"
    assert check.failed_instances == len(in_ireland) == check.explained


def test_an_unreadable_security_hub_is_reported_once_and_never_fails_the_sweep(
    hub: Sim, settings: Settings, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    hub.fleet.scope(hub.fleet.caller_account, "eu-west-1").ssm3_control = None  # Security Hub off
    access = hub.access()
    with caplog.at_level(logging.DEBUG, logger="bot.sweeping"):
        first = run_sweep(settings=settings, access=access, store=store)
        second = run_sweep(settings=settings, access=access, store=store)
    assert first.scopes_failed == second.scopes_failed == 0
    assert first.failing > 0
    check = store.sweeps.security_hub_check(second.sweep_id)
    assert check is not None
    assert check.error is not None
    assert "InvalidAccessException" in check.error
    warnings = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and "Security Hub" in r.getMessage()
    ]
    assert len(warnings) == 1, "once per streak of failed checks"
    text = render_digest(DigestView(build_digest(store, datetime.now(UTC))))
    assert "Security Hub (eu-west-1) could not be read: Security Hub CSPM is not enabled" in text


def test_off_makes_no_security_hub_call(hub: Sim, settings: Settings, store: Store) -> None:
    summary = run_sweep(
        settings=settings.with_changes(securityhub="off"), access=hub.access(), store=store
    )
    assert hub.fleet.call_count(service="securityhub") == 0
    assert store.sweeps.security_hub_check(summary.sweep_id) is None
    assert build_digest(store, datetime.now(UTC)).security_hub is None


def test_the_configured_region_is_the_one_read(hub: Sim, settings: Settings, store: Store) -> None:
    run_sweep(
        settings=settings.with_changes(securityhub_region="us-east-1"),
        access=hub.access(),
        store=store,
    )
    assert hub.fleet.call_count("GetFindings", region="us-east-1") == 1
    assert hub.fleet.call_count("GetFindings", region="eu-west-1") == 0


@pytest.mark.parametrize(
    ("resource_id", "instance"),
    [
        ("arn:aws:ec2:eu-west-1:111111111111:instance/i-0123456789abcdef0", "i-0123456789abcdef0"),
        (
            "arn:aws:ssm:eu-west-1:111111111111:managed-instance/mi-0123456789abcdef0",
            "mi-0123456789abcdef0",
        ),
        ("AWS::EC2::Instance/i-0abc1234", "i-0abc1234"),
        ("i-0123456789abcdef0", "i-0123456789abcdef0"),
    ],
)
def test_the_instance_is_read_from_the_end_of_the_resource_id(
    resource_id: str, instance: str
) -> None:
    finding = {
        "AwsAccountId": "111111111111",
        "Region": "eu-west-1",
        "Resources": [{"Id": resource_id}],
    }
    assert instance_of(finding) == InstanceKey("111111111111", "eu-west-1", instance)


@pytest.mark.parametrize(
    "resource_id", ["arn:aws:ec2:eu-west-1:111111111111:security-group/sg-0123", "", "i-XYZ"]
)
def test_a_finding_about_no_instance_is_skipped(resource_id: str) -> None:
    finding = {
        "AwsAccountId": "111111111111",
        "Region": "eu-west-1",
        "Resources": [{"Id": resource_id}],
    }
    assert instance_of(finding) is None


def test_cross_check_counts_distinct_instances() -> None:
    scope = Scope("111111111111", "eu-west-1")
    finding = {
        "AwsAccountId": scope.account_id,
        "Region": scope.region,
        "Resources": [{"Id": "arn:aws:ec2:eu-west-1:111111111111:instance/i-0000000000000000a"}],
    }
    ours = InstanceKey(scope.account_id, scope.region, "i-0000000000000000b")
    check = cross_check(
        [finding, finding],
        region="eu-west-1",
        swept=[scope],
        noncompliant=[ours],
        now=datetime.now(UTC),
    )
    assert (check.failed_instances, check.explained) == (1, 0)
    assert [k.instance_id for k in check.unexplained] == ["i-0000000000000000a"]
    assert check.sweep_only == (ours,)
