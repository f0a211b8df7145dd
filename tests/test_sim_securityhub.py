"""The simulator's Security Hub SSM.3 findings through unmodified boto3 (shape-checked)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.sim.fleet import Fleet, SimAssociation, SimInstance, UpdateRejection
from tests.support.sim import Sim

ADMIN, MEMBER = "111111111111", "222222222222"
HOME, OTHER = "eu-west-1", "us-east-1"
SSM3_FAILED = {
    "ComplianceSecurityControlId": [{"Value": "SSM.3", "Comparison": "EQUALS"}],
    "ComplianceStatus": [{"Value": "FAILED", "Comparison": "EQUALS"}],
    "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
}


def _hub(sim: Sim, region: str = HOME, account: str | None = None) -> Any:
    if account is None or account == sim.fleet.caller_account:
        session = sim.session(region)
    else:
        import boto3

        credentials = sim.fleet.assume_role(
            sim.fleet.caller_credentials,
            f"arn:aws:iam::{account}:role/{sim.fleet.role_name}",
            "test",
        )
        session = boto3.Session(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
            region_name=region,
        )
    return session.client("securityhub", endpoint_url=sim.endpoint_url)


def _all(hub: Any, filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    pages = hub.get_paginator("get_findings").paginate(Filters=filters or {})
    return [finding for page in pages for finding in page["Findings"]]


def _noncompliant(fleet: Fleet) -> set[tuple[str, str, str]]:
    found = set()
    for (account, region), scope in fleet.scopes.items():
        for resource_id, kinds in scope.compliance_by_resource().items():
            if any(i.status == "NON_COMPLIANT" for i in kinds.get("Association", [])):
                found.add((account, region, resource_id))
    return found


def _key(finding: dict[str, Any]) -> tuple[str, str, str]:
    instance = re.search(r"(?:i|mi)-[0-9a-f]+$", finding["Resources"][0]["Id"])
    assert instance is not None
    return finding["AwsAccountId"], finding["Region"], instance.group(0)


def test_failed_findings_are_the_association_noncompliant_instances(
    make_sim: Callable[..., Sim],
) -> None:
    sim = make_sim(seed=11, manual=1, patch_noise=True, timed_out=1)
    findings = _all(_hub(sim), SSM3_FAILED)
    assert {_key(f) for f in findings} == _noncompliant(sim.fleet)
    assert len(findings) == len({_key(f) for f in findings})
    finding = findings[0]
    assert finding["GeneratorId"] == "security-control/SSM.3"
    assert finding["Compliance"]["SecurityControlId"] == "SSM.3"
    assert finding["ProductArn"].endswith("::product/aws/securityhub")
    assert finding["Title"].startswith("Amazon EC2 instances managed by Systems Manager")
    assert (finding["Workflow"]["Status"], finding["WorkflowState"]) == ("NEW", "NEW")
    arns = {f["Resources"][0]["Id"].split(":")[2] for f in findings}
    assert arns == {"ec2", "ssm"}, "both resource ARN forms occur"
    passed = _all(_hub(sim), {"ComplianceStatus": [{"Value": "PASSED", "Comparison": "EQUALS"}]})
    assert passed
    assert all(f["Workflow"]["Status"] == "RESOLVED" for f in passed)
    assert not {_key(f) for f in passed} & _noncompliant(sim.fleet)


def test_filters_or_within_a_key_and_across_keys(sim: Sim) -> None:
    hub = _hub(sim)
    everything = _all(hub)
    both = _all(
        hub,
        {
            "AwsAccountId": [
                {"Value": ADMIN, "Comparison": "EQUALS"},
                {"Value": MEMBER, "Comparison": "EQUALS"},
            ]
        },
    )
    assert len(both) == len(everything)
    member_home = _all(
        hub,
        {
            "AwsAccountId": [{"Value": MEMBER, "Comparison": "EQUALS"}],
            "Region": [{"Value": HOME, "Comparison": "EQUALS"}],
        },
    )
    assert member_home
    assert all((f["AwsAccountId"], f["Region"]) == (MEMBER, HOME) for f in member_home)
    not_member = _all(hub, {"AwsAccountId": [{"Value": MEMBER, "Comparison": "NOT_EQUALS"}]})
    assert {f["AwsAccountId"] for f in not_member} == {ADMIN}
    by_id = _all(hub, {"Id": [{"Value": everything[3]["Id"], "Comparison": "EQUALS"}]})
    assert [f["Id"] for f in by_id] == [everything[3]["Id"]]
    assert _all(hub, {"GeneratorId": [{"Value": "nope", "Comparison": "EQUALS"}]}) == []
    new = _all(hub, {"WorkflowStatus": [{"Value": "NEW", "Comparison": "EQUALS"}]})
    assert {f["Compliance"]["Status"] for f in new} == {"FAILED"}


def test_findings_come_100_a_page(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(seed=2, accounts=2, regions=(HOME, OTHER), instances=40)
    hub = _hub(sim)
    first = hub.get_findings()
    assert len(first["Findings"]) == 100
    assert "NextToken" in first
    small = hub.get_findings(MaxResults=7)
    assert len(small["Findings"]) == 7
    everything = _all(hub)
    assert len(everything) == len({f["Id"] for f in everything}) > 100
    with pytest.raises(ClientError):
        hub.get_findings(MaxResults=101)


def test_who_sees_which_findings(sim: Sim) -> None:
    everything = _all(_hub(sim))
    assert {(f["AwsAccountId"], f["Region"]) for f in everything} == {
        (a, r) for a in (ADMIN, MEMBER) for r in (HOME, OTHER)
    }
    other_region = _all(_hub(sim, OTHER))
    assert {(f["AwsAccountId"], f["Region"]) for f in other_region} == {
        (ADMIN, OTHER),
        (MEMBER, OTHER),
    }
    member = _all(_hub(sim, OTHER, MEMBER))
    assert {(f["AwsAccountId"], f["Region"]) for f in member} == {(MEMBER, OTHER)}
    sim.fleet.scope(ADMIN, OTHER).ssm3_control = None
    with pytest.raises(ClientError) as raised:
        _hub(sim, OTHER).get_findings()
    assert raised.value.response["Error"]["Code"] == "InvalidAccessException"


def test_workflow_follows_compliance(sim: Sim) -> None:
    fleet = sim.fleet
    scope = fleet.scope(ADMIN, HOME)
    association = next(a for a in scope.associations.values() if a.status == "Failed")
    assert association.latest is not None
    failures = dict(association.latest.failures)
    instance_id = next(
        i
        for i in association.latest.failures
        if sum(1 for a in scope.associations_of(i) if a.latest and i in a.latest.failures) == 1
    )
    hub = _hub(sim)
    hub.get_findings()
    finding = fleet.finding_for(ADMIN, HOME, instance_id)
    assert finding is not None
    assert (finding.compliance_status, finding.workflow_status) == ("FAILED", "NEW")
    created = finding.updated_at

    finding.workflow_status = "NOTIFIED"  # as BatchUpdateFindings would
    fleet.run_association(association.association_id)  # now it succeeds everywhere
    hub.get_findings()
    assert (finding.compliance_status, finding.workflow_status) == ("PASSED", "RESOLVED")
    assert finding.updated_at > created

    fleet.run_association(association.association_id, failures=failures)
    hub.get_findings()
    assert (finding.compliance_status, finding.workflow_status) == ("FAILED", "NEW")

    finding.workflow_status = "SUPPRESSED"
    fleet.run_association(association.association_id)
    hub.get_findings()
    fleet.run_association(association.association_id, failures=failures)
    hub.get_findings()
    assert (finding.compliance_status, finding.workflow_status) == ("FAILED", "SUPPRESSED")


def test_frozen_findings_lag_behind_compliance(sim: Sim) -> None:
    fleet = sim.fleet
    scope = fleet.scope(ADMIN, HOME)
    association = next(a for a in scope.associations.values() if a.status == "Failed")
    assert association.latest is not None
    bad = set(association.latest.failures)
    hub = _hub(sim)
    before = {_key(f) for f in _all(hub, SSM3_FAILED)}
    fleet.findings_frozen = True
    fleet.run_association(association.association_id)
    assert {_key(f) for f in _all(hub, SSM3_FAILED)} == before
    fleet.findings_frozen = False
    after = {_key(f) for f in _all(hub, SSM3_FAILED)}
    assert after == _noncompliant(fleet)
    assert {(ADMIN, HOME, i) for i in bad} - after == {
        (ADMIN, HOME, i) for i in bad
    } - _noncompliant(fleet)


def test_an_instance_without_items_is_archived(sim: Sim) -> None:
    fleet = sim.fleet
    scope = fleet.scope(ADMIN, HOME)
    hub = _hub(sim)
    hub.get_findings()
    lonely = "i-0123456789abcdef0"
    scope.instances[lonely] = SimInstance(lonely)
    association = SimAssociation(
        "0b5e0000-0000-4000-8000-000000000001",
        "one-off",
        "AWS-RunShellScript",
        "rate(1 day)",
        [lonely],
    )
    scope.associations[association.association_id] = association
    fleet.run_association(association.association_id)
    assert (ADMIN, HOME, lonely) in {_key(f) for f in _all(hub)}
    fleet.delete_association(association.association_id, keep_compliance=False)
    archived = _all(hub, {"RecordState": [{"Value": "ARCHIVED", "Comparison": "EQUALS"}]})
    assert (ADMIN, HOME, lonely) in {_key(f) for f in archived}


def test_no_findings_where_config_does_not_record_association_compliance(
    make_sim: Callable[..., Sim],
) -> None:
    sim = make_sim(seed=11, accounts=2, regions=(HOME, OTHER))
    sim.fleet.scope(MEMBER, OTHER).config_resource_types = frozenset({"AWS::EC2::Instance"})
    sim.fleet.scope(MEMBER, HOME).config_recording = False
    sim.fleet.scope(ADMIN, OTHER).ssm3_control = "DISABLED"
    scopes = {(f["AwsAccountId"], f["Region"]) for f in _all(_hub(sim))}
    assert scopes == {(ADMIN, HOME)}


# -- BatchUpdateFindings -------------------------------------------------------------------------
def _ids(findings: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"Id": f["Id"], "ProductArn": f["ProductArn"]} for f in findings]


def test_batch_update_findings_updates_notes_workflow_and_fields_and_emits_events(
    sim: Sim,
) -> None:
    hub = _hub(sim)
    member_other = _all(
        hub,
        {
            **SSM3_FAILED,
            "AwsAccountId": [{"Value": MEMBER, "Comparison": "EQUALS"}],
            "Region": [{"Value": OTHER, "Comparison": "EQUALS"}],
        },
    )[:3]
    reply = hub.batch_update_findings(
        FindingIdentifiers=_ids(member_other),
        Workflow={"Status": "SUPPRESSED"},
        Note={"Text": "known: OPS-1", "UpdatedBy": "ssm3-bot"},
        UserDefinedFields={"ssm3bot:association": "a-1", "ssm3bot:until": "none"},
    )
    # The administrator, in the aggregation home region, updates a member's linked region.
    assert reply["ProcessedFindings"] == _ids(member_other)
    assert reply["UnprocessedFindings"] == []
    mine = _all(hub, {"NoteUpdatedBy": [{"Value": "ssm3-bot", "Comparison": "EQUALS"}]})
    assert {f["Id"] for f in mine} == {f["Id"] for f in member_other}
    assert {f["Workflow"]["Status"] for f in mine} == {"SUPPRESSED"}
    assert mine[0]["Note"]["Text"] == "known: OPS-1"
    assert mine[0]["UserDefinedFields"] == {"ssm3bot:association": "a-1", "ssm3bot:until": "none"}
    events = sim.fleet.imported_events
    assert [e["detail-type"] for e in events] == ["Security Hub Findings - Imported"] * 3
    assert [e["resources"] for e in events] == [[f["Id"]] for f in member_other]
    assert {(e["account"], e["region"], e["source"]) for e in events} == {
        (ADMIN, HOME, "aws.securityhub")
    }
    assert events[0]["detail"]["findings"][0]["AwsAccountId"] == MEMBER
    assert events[0]["detail"]["findings"][0]["Workflow"] == {"Status": "SUPPRESSED"}

    # Outside the home region only that region's findings can be updated; a member only its own.
    elsewhere = _hub(sim, OTHER, MEMBER).batch_update_findings(
        FindingIdentifiers=[*_ids(member_other[:1]), _ids(member_other)[0]],
        Workflow={"Status": "NEW"},
    )
    assert [u["ErrorCode"] for u in elsewhere["UnprocessedFindings"]] == [
        "DuplicatedFindingIdentifier"
    ]
    other_admin = _all(hub, {"AwsAccountId": [{"Value": ADMIN, "Comparison": "EQUALS"}]})[:1]
    refused = _hub(sim, OTHER, MEMBER).batch_update_findings(
        FindingIdentifiers=_ids(other_admin), Workflow={"Status": "NEW"}
    )
    assert [u["ErrorCode"] for u in refused["UnprocessedFindings"]] == ["FindingNotFound"]


def test_batch_update_findings_limits_and_injected_partial_failures(sim: Sim) -> None:
    hub = _hub(sim)
    failed = _all(hub, SSM3_FAILED)
    many = _all(hub)[:101]
    assert len(many) == 101
    with pytest.raises(ClientError) as raised:
        hub.batch_update_findings(FindingIdentifiers=_ids(many), Workflow={"Status": "NOTIFIED"})
    assert raised.value.response["Error"]["Code"] == "InvalidInputException"
    hub.batch_update_findings(FindingIdentifiers=_ids(many[:100]), Workflow={"Status": "NOTIFIED"})
    with pytest.raises(ClientError) as long_note:
        hub.batch_update_findings(
            FindingIdentifiers=_ids(failed[:1]), Note={"Text": "x" * 513, "UpdatedBy": "ssm3-bot"}
        )
    assert long_note.value.response["Error"]["Code"] == "InvalidInputException"

    target = failed[0]["Id"]
    sim.fleet.reject_updates(UpdateRejection(finding_ids=frozenset({target}), times=1))
    first = hub.batch_update_findings(
        FindingIdentifiers=_ids(failed[:2]), Workflow={"Status": "NEW"}
    )
    assert first["UnprocessedFindings"] == [
        {
            "FindingIdentifier": _ids(failed[:1])[0],
            "ErrorCode": "ConcurrentUpdateError",
            "ErrorMessage": "Concurrent finding updates detected",
        }
    ]
    again = hub.batch_update_findings(
        FindingIdentifiers=_ids(failed[:1]), Workflow={"Status": "NEW"}
    )
    assert again["UnprocessedFindings"] == []
    assert sim.fleet.violations == []


def test_a_finding_coming_back_from_archived_resets_notified(sim: Sim) -> None:
    fleet = sim.fleet
    scope = fleet.scope(ADMIN, HOME)
    instance_id = next(iter(scope.instances))
    hub = _hub(sim)
    hub.get_findings()
    finding = fleet.finding_for(ADMIN, HOME, instance_id)
    assert finding is not None
    finding.workflow_status, finding.record_state = "NOTIFIED", "ARCHIVED"
    hub.get_findings()
    assert (finding.record_state, finding.workflow_status) == ("ACTIVE", "NEW")
