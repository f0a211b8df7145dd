"""SSM.3 as Security Hub judges it: a simulated fleet mixing every kind of failure, swept through
unmodified boto3, must yield the instances and associations SSM.3 fails, and no others, at the
call counts the reader promises."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.models import InstanceKey, Scope
from bot.render.documents import sweep_document
from bot.settings.config import Settings
from bot.sim.fleet import Fleet, SimAssociation, SimExecution, failure_for, timed_out
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from bot.util.clock import utcnow
from tests.support.sim import Sim

ACCOUNT, REGION = "111111111111", "eu-west-1"
SCOPE = Scope(ACCOUNT, REGION)
NOW = datetime.now(UTC)


def _add(
    fleet: Fleet, name: str, document: str, instances: list[str], **options: Any
) -> SimAssociation:
    """An association with one successful run on `instances`."""
    scope = fleet.scope(ACCOUNT, REGION)
    association = SimAssociation(
        association_id=str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        name=name,
        document=document,
        schedule="rate(1 day)",
        instance_ids=tuple(instances),
        created_at=NOW - timedelta(days=30),
        **options,
    )
    association.executions.append(
        SimExecution(
            execution_id=f"e-{association.association_id}",
            created_at=NOW - timedelta(hours=2),
            instance_ids=tuple(instances),
            failures={},
            command_id=f"c-{association.association_id}",
        )
    )
    scope.associations[association.association_id] = association
    return association


class Mixed:
    """One account-region holding every kind: the IDs tests assert on."""

    def __init__(self, fleet: Fleet) -> None:
        scope = fleet.scope(ACCOUNT, REGION)
        ids = list(scope.instances)
        self.instances = ids
        rng_failure = failure_for("permissions", "AWS-RunShellScript", random.Random(1))
        # AUTO, failed on two instances: a re-run can fix it.
        self.auto = _add(fleet, "agent-config", "AWS-RunShellScript", ids[0:6])
        fleet.run_association(
            self.auto.association_id, failures={ids[0]: rng_failure, ids[1]: rng_failure}
        )
        # AUTO, timed out on one instance: a failure of its run too.
        self.slow = _add(fleet, "nightly-backup", "AWS-RunShellScript", ids[6:10])
        fleet.run_association(
            self.slow.association_id, failures={ids[6]: timed_out("AWS-RunShellScript")}
        )
        # MANUAL patch scanning: every run succeeds, three instances miss patches.
        self.patch = _add(
            fleet,
            "patch-scan-quicksetup",
            "AWS-RunPatchBaselineAssociation",
            ids[10:20],
            sync_compliance="MANUAL",
        )
        self.patch_bad = ids[10:13]
        fleet.report_compliance(
            self.patch.association_id,
            {i: "NON_COMPLIANT" if i in self.patch_bad else "COMPLIANT" for i in ids[10:20]},
        )
        # Patch and Custom noise on compliant instances: never counts for SSM.3.
        self.noise = ids[20:22]
        for instance in self.noise:
            fleet.put_compliance(
                ACCOUNT, REGION, instance, "Patch", [("KB1", "patch", "NON_COMPLIANT")]
            )
            fleet.put_compliance(
                ACCOUNT, REGION, instance, "Custom:Disk", [("root", "root", "NON_COMPLIANT")]
            )
        # An orphan: an association that failed on an instance, then was deleted.
        gone = _add(fleet, "retired-hardening", "AWS-ApplyAnsiblePlaybooks", ids[22:25])
        fleet.run_association(gone.association_id, failures={ids[22]: rng_failure})
        fleet.delete_association(gone.association_id, keep_compliance=True)
        self.orphan = (gone.association_id, ids[22])
        # Healthy ones.
        self.healthy = [
            _add(fleet, f"healthy-{n}", "AWS-GatherSoftwareInventory", ids[25 + n : 30 + n])
            for n in range(3)
        ]


@pytest.fixture
def mixed(make_sim: Callable[..., Sim]) -> tuple[Sim, Mixed]:
    sim = make_sim(seed=2, accounts=1, regions=(REGION,), associations=0, failing=0, instances=40)
    return sim, Mixed(sim.fleet)


@pytest.fixture
def one_region(settings: Settings) -> Settings:
    return settings.with_changes(regions=(REGION,))


def _sim_noncompliant(fleet: Fleet) -> set[str]:
    """The truth: instances with a NON_COMPLIANT item of type Association."""
    scope = fleet.scope(ACCOUNT, REGION)
    found = set()
    for instance in fleet.scope(ACCOUNT, REGION).instances:
        items = fleet.compliance_items(ACCOUNT, REGION, instance)
        if any(
            i["ComplianceType"] == "Association" and i["Status"] == "NON_COMPLIANT" for i in items
        ):
            found.add(instance)
    assert scope.instances
    return found


def test_the_sweep_fails_exactly_the_instances_and_associations_ssm3_fails(
    mixed: tuple[Sim, Mixed], one_region: Settings, store: Store
) -> None:
    sim, fleet = mixed
    summary = run_sweep(settings=one_region, access=sim.access(), store=store)

    truth = _sim_noncompliant(sim.fleet)
    assert truth == {
        fleet.instances[0],
        fleet.instances[1],
        fleet.instances[6],
        *fleet.patch_bad,
        fleet.orphan[1],
    }
    assert summary.noncompliant_instances == len(truth)
    assert store.associations.noncompliant_instances() == {
        InstanceKey(ACCOUNT, REGION, i) for i in truth
    }

    by_id = {t.key.association_id: t.association for t in store.associations.tracked()}
    auto, slow, patch = (by_id[a.association_id] for a in (fleet.auto, fleet.slow, fleet.patch))
    assert (auto.failing, auto.failure_kind, auto.sync_compliance) == (True, "execution", "AUTO")
    assert set(auto.noncompliant_instances) == set(fleet.instances[0:2])
    assert (slow.failing, slow.failure_kind) == (True, "execution")
    assert slow.noncompliant_instances == (fleet.instances[6],)
    assert [t.instance_id for t in slow.failed_targets] == [fleet.instances[6]]
    assert slow.failed_targets[0].detailed_status == "TimedOut"
    assert (patch.failing, patch.failure_kind, patch.sync_compliance) == (
        True,
        "reported",
        "MANUAL",
    )
    assert patch.status == "Success", "its runs succeed: the Overview alone would call it healthy"
    assert set(patch.noncompliant_instances) == set(fleet.patch_bad)
    for healthy in fleet.healthy:
        got = by_id[healthy.association_id]
        assert (got.failing, got.failure_kind, got.noncompliant_instances) == (False, None, ())
    assert summary.failing == 3
    assert not set(fleet.noise) & truth

    (orphan,) = store.associations.orphans()
    assert (orphan.association_id, orphan.instance_id) == fleet.orphan

    document = sweep_document(
        summary,
        store.sweeps.sweep_scopes(summary.sweep_id),
        store.associations.tracked(sweep_id=summary.sweep_id),
        orphans=store.associations.orphans(),
        security_hub=store.sweeps.security_hub_check(summary.sweep_id),
    )
    assert document["summary"]["noncompliant_instances"] == len(truth)
    rows = {a["association_id"]: a for a in document["associations"]}
    assert rows[fleet.patch.association_id]["failure_kind"] == "reported"
    assert rows[fleet.patch.association_id]["sync_compliance"] == "MANUAL"
    assert rows[fleet.healthy[0].association_id]["failure_kind"] is None
    assert document["orphans"] == [
        {
            "account_id": ACCOUNT,
            "region": REGION,
            "association_id": fleet.orphan[0],
            "instance_id": fleet.orphan[1],
            "title": orphan.title,
        }
    ]


def test_reported_compliance_turning_compliant_clears_the_failure_next_sweep(
    mixed: tuple[Sim, Mixed], one_region: Settings, store: Store
) -> None:
    sim, fleet = mixed
    access = sim.access()
    run_sweep(settings=one_region, access=access, store=store)
    sim.fleet.report_compliance(
        fleet.patch.association_id,
        dict.fromkeys(fleet.patch_bad, "COMPLIANT"),
        at=datetime.now(UTC),
    )
    summary = run_sweep(settings=one_region, access=access, store=store)
    (patch,) = store.associations.find(fleet.patch.association_id, now=utcnow())
    assert (patch.association.failing, patch.association.failure_kind) == (False, None)
    assert patch.failing_since is None
    assert summary.failing == 2
    assert summary.noncompliant_instances == 4  # the two AUTO, the timed-out one, the orphan


def test_each_call_is_the_one_the_reader_promises(
    mixed: tuple[Sim, Mixed], one_region: Settings, store: Store
) -> None:
    sim, fleet = mixed
    access = sim.access()
    run_sweep(settings=one_region, access=access, store=store)
    ssm = {op: sim.fleet.call_count(op, service="ssm") for op in _ops(sim.fleet, "ssm")}
    assert ssm == {
        "ListAssociations": 1,
        "ListResourceComplianceSummaries": 1,  # one page of NON_COMPLIANT instances
        # Per association whose latest run failed: its executions, one target page per
        # unsuccessful status, and the detail of at most 5 Failed targets (the two AUTO ones;
        # the timed-out target's status is its detail).
        "DescribeAssociationExecutions": 2,
        "DescribeAssociationExecutionTargets": 2,
        "DescribeInstanceAssociationsStatus": 2,
        # One per failing association: only it carries SyncCompliance.
        "DescribeAssociation": 3,
        # One per NON_COMPLIANT instance no failed run explains: 3 patch ones and the orphan.
        "ListComplianceItems": len(fleet.patch_bad) + 1,
    }
    assert sim.fleet.call_count("GetFindings") == 1

    sim.fleet.reset_calls()
    run_sweep(settings=one_region, access=access, store=store)
    ssm = {op: sim.fleet.call_count(op, service="ssm") for op in _ops(sim.fleet, "ssm")}
    assert ssm == {"ListAssociations": 1, "ListResourceComplianceSummaries": 1}
    assert sim.fleet.call_count("GetFindings") == 1


def _ops(fleet: Fleet, service: str) -> set[str]:
    return {call.operation for call in fleet.calls if call.service == service}


def test_noncompliant_instances_page_at_fifty(
    make_sim: Callable[..., Sim], store: Store, one_region: Settings
) -> None:
    sim = make_sim(seed=4, accounts=1, regions=(REGION,), associations=0, failing=0, instances=130)
    ids = list(sim.fleet.scope(ACCOUNT, REGION).instances)
    patch = _add(
        sim.fleet, "patch-scan", "AWS-RunPatchBaselineAssociation", ids, sync_compliance="MANUAL"
    )
    sim.fleet.report_compliance(patch.association_id, dict.fromkeys(ids[:120], "NON_COMPLIANT"))
    summary = run_sweep(settings=one_region, access=sim.access(), store=store)
    assert summary.noncompliant_instances == 120
    assert sim.fleet.call_count("ListResourceComplianceSummaries") == math.ceil(120 / 50)
    (tracked,) = store.associations.find(patch.association_id, now=utcnow())
    assert len(tracked.association.noncompliant_instances) == 120


def test_org_mode_sweeps_every_active_account_when_list_accounts_sends_only_state(
    make_sim: Callable[..., Sim], settings: Settings, store: Store
) -> None:
    sim = make_sim(seed=6, accounts=4, regions=(REGION,))
    suspended = list(sim.fleet.accounts)[2]
    sim.fleet.accounts[suspended].state = "SUSPENDED"
    org = sim.session().client("organizations", endpoint_url=sim.endpoint_url)
    sent = org.list_accounts()["Accounts"]
    assert all("State" in a and "Status" not in a for a in sent)

    summary = run_sweep(
        settings=settings.with_changes(accounts_from_org=True, regions=(REGION,)),
        access=sim.access(),
        store=store,
    )
    swept = {s.scope.account_id for s in store.sweeps.sweep_scopes(summary.sweep_id)}
    assert swept == set(sim.fleet.accounts) - {suspended}
    assert summary.scopes_failed == 0
