"""The reader: triage by listing, drill down only into failures, with every failed target."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from bot.aws.reader import DETAIL_CAP, ScopeReader, parse_resource_counts
from bot.models import Scope
from bot.sim.fleet import failure_for
from tests.support.sim import Sim

SSM_READS = (
    "ListAssociations",
    "DescribeAssociationExecutions",
    "DescribeAssociationExecutionTargets",
    "DescribeInstanceAssociationsStatus",
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{Failed=1,Success=2}", {"Failed": 1, "Success": 2}),
        ("{Failed=1, Success=2}", {"Failed": 1, "Success": 2}),
        ("{Success=12}", {"Success": 12}),
        ("{TimedOut=3,Failed=0}", {"TimedOut": 3, "Failed": 0}),
        ("{}", {}),
        ("", {}),
        (None, {}),
    ],
)
def test_parse_resource_counts(text: str | None, expected: dict[str, int]) -> None:
    assert parse_resource_counts(text) == expected


@pytest.mark.parametrize(("associations", "failing"), [(12, 3), (51, 0), (120, 7), (50, 50)])
def test_calls_are_bounded_by_listing_pages_and_failures(
    make_sim: Callable[..., Sim], associations: int, failing: int
) -> None:
    sim = make_sim(
        seed=3,
        accounts=1,
        regions=("eu-west-1",),
        associations=associations,
        failing=failing,
        instances=60,
    )
    scope = Scope(sim.fleet.caller_account, "eu-west-1")
    result = ScopeReader(sim.access().ssm(scope), scope).read()

    assert result.ok
    assert len(result.associations) == associations
    assert sum(a.failing for a in result.associations) == failing
    ssm_calls = sim.fleet.call_count(service="ssm")
    noncompliant = len(result.noncompliant)
    compliance_pages = max(1, math.ceil(noncompliant / 50))
    assert sim.fleet.call_count("ListAssociations") == max(1, math.ceil(associations / 50))
    assert sim.fleet.call_count("ListResourceComplianceSummaries") == compliance_pages
    assert sim.fleet.call_count("DescribeAssociationExecutions") == failing
    # SyncCompliance is read once per failing association; every NON_COMPLIANT instance of
    # this all-AUTO fleet is explained by a failed run, so no compliance item is read.
    assert sim.fleet.call_count("DescribeAssociation") == failing
    assert sim.fleet.call_count("ListComplianceItems") == 0
    assert ssm_calls <= (
        math.ceil(associations / 50) + compliance_pages + failing * (3 + DETAIL_CAP)
    )
    assert result.aws_calls == ssm_calls


def test_failed_targets_carry_error_codes_summaries_and_output(sim: Sim) -> None:
    scope = Scope(sim.fleet.caller_account, "eu-west-1")
    result = ScopeReader(sim.access().ssm(scope), scope).read()
    failing = [a for a in result.associations if a.failing]
    assert failing
    for association in failing:
        simulated = sim.fleet.scope(scope.account_id, scope.region).associations[
            association.association_id
        ]
        assert simulated.latest is not None
        assert {t.instance_id for t in association.failed_targets} == set(simulated.latest.failures)
        assert association.failed_target_count == len(simulated.latest.failures)
        assert association.counts["Failed"] == len(simulated.latest.failures)
        for target in association.failed_targets:
            failure = simulated.latest.failures[target.instance_id]
            assert target.summary == failure.summary
            assert target.error_code == (failure.error_code or None)
            assert target.output_url
            assert target.instance_id in target.output_url
            assert target.detailed_status == failure.detailed_status
        assert association.failing_evidence_since is not None


def test_an_association_failing_on_sixty_instances_lists_all_and_details_a_few(
    make_sim: Callable[..., Sim],
) -> None:
    sim = make_sim(
        seed=5, accounts=1, regions=("eu-west-1",), associations=3, failing=0, instances=80
    )
    scope_sim = sim.fleet.scope(sim.fleet.caller_account, "eu-west-1")
    association = next(iter(scope_sim.associations.values()))
    import random

    rng = random.Random(1)
    association.instance_ids = tuple(scope_sim.instances)[:70]
    sim.fleet.run_association(
        association.association_id,
        failures={
            i: failure_for("script_error", association.document, rng)
            for i in association.instance_ids[:60]
        },
    )
    scope = Scope(sim.fleet.caller_account, "eu-west-1")
    result = ScopeReader(sim.access().ssm(scope), scope).read()

    read = next(a for a in result.associations if a.association_id == association.association_id)
    assert read.failed_target_count == 60
    assert len(read.failed_targets) == 60
    detailed = [t for t in read.failed_targets if t.summary]
    assert len(detailed) == DETAIL_CAP
    assert read.failed_targets[:DETAIL_CAP] == tuple(detailed)
    assert sim.fleet.call_count("DescribeAssociationExecutionTargets") == 2  # 50 a page
    assert sim.fleet.call_count("DescribeInstanceAssociationsStatus") == DETAIL_CAP


def test_an_instance_failing_two_associations_is_asked_about_once(
    make_sim: Callable[..., Sim],
) -> None:
    import random

    sim = make_sim(
        seed=8, accounts=1, regions=("eu-west-1",), associations=4, failing=0, instances=10
    )
    scope_sim = sim.fleet.scope(sim.fleet.caller_account, "eu-west-1")
    shared = next(iter(scope_sim.instances))
    rng = random.Random(2)
    for association in list(scope_sim.associations.values())[:2]:
        association.instance_ids = (shared,)
        sim.fleet.run_association(
            association.association_id,
            failures={shared: failure_for("permissions", association.document, rng)},
        )
    scope = Scope(sim.fleet.caller_account, "eu-west-1")
    result = ScopeReader(sim.access().ssm(scope), scope).read()
    assert sum(a.failing for a in result.associations) == 2
    assert sim.fleet.call_count("DescribeInstanceAssociationsStatus") == 1


def test_access_denied_on_listing_fails_the_scope_with_its_reason(sim: Sim) -> None:
    from bot.sim.fleet import Fault

    sim.fleet.inject(
        Fault(
            "AccessDeniedException",
            "User is not authorized to perform: ssm:ListAssociations",
            operation="ListAssociations",
        )
    )
    scope = Scope(sim.fleet.caller_account, "eu-west-1")
    result = ScopeReader(sim.access().ssm(scope), scope).read()
    assert not result.ok
    assert result.associations == ()
    assert result.error is not None
    assert "ListAssociations: AccessDeniedException" in result.error
    assert "ssm:ListAssociations" in result.error
