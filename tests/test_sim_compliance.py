"""The simulator's SSM compliance, timed-out targets, Organizations State and Config recorders,
through unmodified boto3 (every answer is shape-checked at teardown)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.sim.fleet import Fleet, SimAssociation, SimExecution, SimInstance, timed_out
from tests.support.sim import Sim

ACCOUNT = "111111111111"
REGION = "eu-west-1"
ASSOCIATION_NONCOMPLIANT = [
    {"Key": "ComplianceType", "Values": ["Association"], "Type": "EQUAL"},
    {"Key": "Status", "Values": ["NON_COMPLIANT"], "Type": "EQUAL"},
]


def _ssm(sim: Sim, region: str = REGION) -> Any:
    return sim.session(region).client("ssm", endpoint_url=sim.endpoint_url)


def _all_summaries(ssm: Any, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    pages = ssm.get_paginator("list_resource_compliance_summaries").paginate(Filters=filters)
    return [item for page in pages for item in page["ResourceComplianceSummaryItems"]]


def _expected_noncompliant(fleet: Fleet, account: str, region: str) -> set[str]:
    scope = fleet.scope(account, region)
    return {
        resource_id
        for resource_id, kinds in scope.compliance_by_resource().items()
        if any(i.status == "NON_COMPLIANT" for i in kinds.get("Association", []))
    }


def test_summaries_list_exactly_the_association_noncompliant_instances(
    make_sim: Callable[..., Sim],
) -> None:
    sim = make_sim(seed=5, manual=1, patch_noise=True, timed_out=1)
    ssm = _ssm(sim)
    listed = _all_summaries(ssm, ASSOCIATION_NONCOMPLIANT)
    ids = {item["ResourceId"] for item in listed}
    scope = sim.fleet.scope(ACCOUNT, REGION)
    failing = {
        instance_id
        for association in scope.associations.values()
        if association.latest
        for instance_id in association.latest.failures
    }
    manual = next(a for a in scope.associations.values() if a.sync_compliance == "MANUAL")
    reported = {
        i
        for i in manual.instance_ids
        if any(
            item["Status"] == "NON_COMPLIANT" and item["Id"] == manual.association_id
            for item in sim.fleet.compliance_items(ACCOUNT, REGION, i)
        )
    }
    assert reported, "the MANUAL association reports some instances NON_COMPLIANT"
    assert ids == failing | reported
    assert len(ids) == len(listed), "one summary per instance and type"
    assert all(item["ComplianceType"] == "Association" for item in listed)
    patched = {
        (item["ResourceId"])
        for item in _all_summaries(
            ssm, [{"Key": "ComplianceType", "Values": ["Patch"], "Type": "EQUAL"}]
        )
    }
    assert patched
    assert all(
        s["Status"] == "NON_COMPLIANT"
        for s in _all_summaries(
            ssm, [{"Key": "ComplianceType", "Values": ["Patch"], "Type": "EQUAL"}]
        )
    )
    # Unfiltered, Patch and Custom summaries mix in: one per instance and compliance type.
    everything = _all_summaries(ssm, [])
    assert {s["ComplianceType"] for s in everything} == {
        "Association",
        "Patch",
        "Custom:DiskEncryption",
    }
    not_association = _all_summaries(
        ssm, [{"Key": "ComplianceType", "Values": ["Association"], "Type": "NOT_EQUAL"}]
    )
    assert {s["ComplianceType"] for s in not_association} == {"Patch", "Custom:DiskEncryption"}


def test_a_summary_counts_items_by_status_and_severity(make_sim: Callable[..., Sim]) -> None:
    fleet = Fleet(caller_account=ACCOUNT)
    scope = fleet.scope(ACCOUNT, REGION)
    scope.instances["i-0aaaaaaaaaaaaaaa1"] = SimInstance("i-0aaaaaaaaaaaaaaa1")
    at = datetime(2025, 5, 1, tzinfo=UTC)
    fleet.put_compliance(
        ACCOUNT,
        REGION,
        "i-0aaaaaaaaaaaaaaa1",
        "Patch",
        [("KB1", "one", "NON_COMPLIANT"), ("KB2", "two", "COMPLIANT"), ("KB3", "3", "COMPLIANT")],
        at=at,
    )
    sim = make_sim(fleet)
    (summary,) = _ssm(sim).list_resource_compliance_summaries()["ResourceComplianceSummaryItems"]
    assert summary["Status"] == "NON_COMPLIANT"
    assert summary["OverallSeverity"] == "MEDIUM"
    assert summary["ExecutionSummary"]["ExecutionTime"] == at
    assert summary["CompliantSummary"]["CompliantCount"] == 2
    assert summary["NonCompliantSummary"]["NonCompliantCount"] == 1
    assert summary["NonCompliantSummary"]["SeveritySummary"]["MediumCount"] == 1


def test_summaries_come_50_a_page(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(seed=3, accounts=1, regions=(REGION,), instances=130, associations=3)
    ssm = _ssm(sim)
    first = ssm.list_resource_compliance_summaries()
    assert len(first["ResourceComplianceSummaryItems"]) == 50
    assert "NextToken" in first
    everything = _all_summaries(ssm, [])
    expected = len(sim.fleet.scope(ACCOUNT, REGION).compliance_by_resource())
    assert len(everything) == expected > 50
    with pytest.raises(ClientError):
        ssm.list_resource_compliance_summaries(MaxResults=51)


def test_list_compliance_items_takes_exactly_one_resource_id(sim: Sim) -> None:
    ssm = _ssm(sim)
    first, second = list(sim.fleet.scope(ACCOUNT, REGION).instances)[:2]
    with pytest.raises(ClientError) as raised:
        ssm.list_compliance_items(ResourceIds=[first, second], ResourceTypes=["ManagedInstance"])
    assert raised.value.response["Error"]["Code"] == "InvalidResourceId"
    assert "only specify one resource ID" in raised.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as wrong_type:
        ssm.list_compliance_items(ResourceIds=[first], ResourceTypes=["EC2Instance"])
    assert wrong_type.value.response["Error"]["Code"] == "InvalidResourceType"


def test_list_compliance_items_filters_and_pages(sim: Sim) -> None:
    ssm = _ssm(sim)
    instance_id = next(
        i for i in sim.fleet.scope(ACCOUNT, REGION).instances if len(_items(sim, i)) > 3
    )
    pages = ssm.get_paginator("list_compliance_items").paginate(
        ResourceIds=[instance_id],
        ResourceTypes=["ManagedInstance"],
        PaginationConfig={"PageSize": 2},
    )
    seen = [item for page in pages for item in page["ComplianceItems"]]
    assert len(seen) == len(_items(sim, instance_id))
    some = seen[0]["Id"]
    only = ssm.list_compliance_items(
        ResourceIds=[instance_id],
        Filters=[
            {"Key": "ComplianceType", "Values": ["Association"], "Type": "EQUAL"},
            {"Key": "Id", "Values": [some], "Type": "EQUAL"},
        ],
    )["ComplianceItems"]
    assert [i["Id"] for i in only] == [some]
    item = only[0]
    association = sim.fleet.scope(ACCOUNT, REGION).associations[some]
    assert association.latest is not None
    assert item["Title"] == ""  # what AWS shows for association items
    assert item["Details"] == {"DocumentName": association.document, "DocumentVersion": "1"}
    assert item["ExecutionSummary"]["ExecutionId"] == association.latest.execution_id
    assert item["ExecutionSummary"]["ExecutionType"] == "Command"


def _items(sim: Sim, instance_id: str) -> list[dict[str, Any]]:
    return sim.fleet.compliance_items(ACCOUNT, REGION, instance_id)


def test_manual_items_come_from_report_compliance_only(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(seed=9, accounts=1, regions=(REGION,), manual=1, manual_noncompliant=(2, 2))
    scope = sim.fleet.scope(ACCOUNT, REGION)
    manual = next(a for a in scope.associations.values() if a.sync_compliance == "MANUAL")
    assert manual.document == "AWS-RunPatchBaselineAssociation"
    assert manual.status == "Success"
    noncompliant = _expected_noncompliant(sim.fleet, ACCOUNT, REGION)
    reported = [
        i
        for i in manual.instance_ids
        if any(
            x["Id"] == manual.association_id and x["Status"] == "NON_COMPLIANT"
            for x in _items(sim, i)
        )
    ]
    assert len(reported) == 2
    assert set(reported) <= noncompliant
    # A new run of a MANUAL association derives nothing: the reported items stay as they are.
    sim.fleet.run_association(manual.association_id)
    assert _expected_noncompliant(sim.fleet, ACCOUNT, REGION) == noncompliant
    # The document reports the instance fixed.
    sim.fleet.report_compliance(manual.association_id, {reported[0]: "COMPLIANT"}, title="scan")
    (item,) = [x for x in _items(sim, reported[0]) if x["Id"] == manual.association_id]
    assert (item["Status"], item["Title"]) == ("COMPLIANT", "scan")
    listed = {s["ResourceId"] for s in _all_summaries(_ssm(sim), ASSOCIATION_NONCOMPLIANT)}
    assert reported[0] not in listed
    assert reported[1] in listed


def test_put_compliance_items_complete_and_partial(sim: Sim) -> None:
    ssm = _ssm(sim)
    instance_id = next(iter(sim.fleet.scope(ACCOUNT, REGION).instances))
    at = datetime(2025, 6, 1, 12, tzinfo=UTC)

    def put(upload: str, *items: tuple[str, str]) -> None:
        ssm.put_compliance_items(
            ResourceId=instance_id,
            ResourceType="ManagedInstance",
            ComplianceType="Custom:Antivirus",
            ExecutionSummary={"ExecutionTime": at, "ExecutionId": "run-1"},
            Items=[
                {"Id": item_id, "Title": item_id, "Severity": "HIGH", "Status": status}
                for item_id, status in items
            ],
            UploadType=upload,
        )

    def custom() -> dict[str, str]:
        return {
            x["Id"]: x["Status"]
            for x in _items(sim, instance_id)
            if x["ComplianceType"] == "Custom:Antivirus"
        }

    put("COMPLETE", ("defs", "NON_COMPLIANT"), ("engine", "COMPLIANT"))
    assert custom() == {"defs": "NON_COMPLIANT", "engine": "COMPLIANT"}
    put("PARTIAL", ("defs", "COMPLIANT"), ("scan", "NON_COMPLIANT"))
    assert custom() == {"defs": "COMPLIANT", "engine": "COMPLIANT", "scan": "NON_COMPLIANT"}
    put("COMPLETE", ("engine", "COMPLIANT"))
    assert custom() == {"engine": "COMPLIANT"}
    # A MANUAL association's document writing Association compliance through the API.
    manual = next(iter(sim.fleet.scope(ACCOUNT, REGION).associations.values()))
    manual.sync_compliance = "MANUAL"
    ssm.put_compliance_items(
        ResourceId=instance_id,
        ResourceType="ManagedInstance",
        ComplianceType="Association",
        ExecutionSummary={"ExecutionTime": at},
        Items=[{"Id": manual.association_id, "Severity": "UNSPECIFIED", "Status": "NON_COMPLIANT"}],
        UploadType="PARTIAL",
    )
    listed = {s["ResourceId"] for s in _all_summaries(ssm, ASSOCIATION_NONCOMPLIANT)}
    assert instance_id in listed
    with pytest.raises(ClientError) as raised:
        ssm.put_compliance_items(
            ResourceId="i-00000000000000000",
            ResourceType="ManagedInstance",
            ComplianceType="Patch",
            ExecutionSummary={"ExecutionTime": at},
            Items=[],
        )
    assert raised.value.response["Error"]["Code"] == "InvalidResourceId"


def test_a_deleted_association_can_leave_orphan_items(sim: Sim) -> None:
    fleet = sim.fleet
    scope = fleet.scope(ACCOUNT, REGION)
    failing = next(a for a in scope.associations.values() if a.status == "Failed")
    assert failing.latest is not None
    bad = sorted(failing.latest.failures)
    fleet.delete_association(failing.association_id, keep_compliance=True)
    ssm = _ssm(sim)
    listed = ssm.list_associations()["Associations"]
    assert failing.association_id not in {a["AssociationId"] for a in listed}
    with pytest.raises(ClientError) as raised:
        ssm.describe_association(AssociationId=failing.association_id)
    assert raised.value.response["Error"]["Code"] == "AssociationDoesNotExist"
    noncompliant = {s["ResourceId"] for s in _all_summaries(ssm, ASSOCIATION_NONCOMPLIANT)}
    assert set(bad) <= noncompliant
    orphan = ssm.list_compliance_items(
        ResourceIds=[bad[0]],
        Filters=[{"Key": "Id", "Values": [failing.association_id], "Type": "EQUAL"}],
    )["ComplianceItems"]
    assert [i["Status"] for i in orphan] == ["NON_COMPLIANT"]

    other = next(a for a in scope.associations.values() if a.status == "Failed")
    assert other.latest is not None
    gone = sorted(other.latest.failures)[0]
    fleet.delete_association(other.association_id, keep_compliance=False)
    assert all(x.get("Id") != other.association_id for x in _items(sim, gone))


def _timed_out_fleet() -> tuple[Fleet, SimAssociation]:
    fleet = Fleet(caller_account=ACCOUNT)
    scope = fleet.scope(ACCOUNT, REGION)
    ids = [f"i-0{n:016x}" for n in range(1, 5)]
    for instance_id in ids:
        scope.instances[instance_id] = SimInstance(instance_id)
    association = SimAssociation(
        "a1b2c3d4-0000-4000-8000-000000000001", "backup", "AWS-RunShellScript", "rate(1 day)", ids
    )
    scope.associations[association.association_id] = association
    association.executions.append(
        SimExecution(
            "e0000000-0000-4000-8000-000000000001",
            datetime.now(UTC) - timedelta(minutes=5),
            ids,
            {ids[0]: timed_out("AWS-RunShellScript")},
            "c0000000-0000-4000-8000-000000000001",
        )
    )
    return fleet, association


def test_timed_out_targets_in_every_api(make_sim: Callable[..., Sim]) -> None:
    fleet, association = _timed_out_fleet()
    sim = make_sim(fleet)
    ssm = _ssm(sim)
    (listed,) = ssm.list_associations()["Associations"]
    assert listed["Overview"]["Status"] == "Failed"
    assert listed["Overview"]["DetailedStatus"] == "TimedOut"
    assert listed["Overview"]["AssociationStatusAggregatedCount"] == {"Success": 3, "TimedOut": 1}
    executions = ssm.describe_association_executions(AssociationId=association.association_id)
    (execution,) = executions["AssociationExecutions"]
    assert execution["Status"] == "TimedOut"
    assert execution["ResourceCountByStatus"] == "{Success=3,TimedOut=1}"
    by_status = ssm.describe_association_executions(
        AssociationId=association.association_id,
        Filters=[{"Key": "Status", "Value": "TimedOut", "Type": "EQUAL"}],
    )["AssociationExecutions"]
    assert len(by_status) == 1
    targets = ssm.describe_association_execution_targets(
        AssociationId=association.association_id,
        ExecutionId=execution["ExecutionId"],
        Filters=[{"Key": "Status", "Value": "TimedOut"}],
    )["AssociationExecutionTargets"]
    assert [(t["ResourceId"], t["Status"]) for t in targets] == [
        (association.instance_ids[0], "TimedOut")
    ]
    failed_only = ssm.describe_association_execution_targets(
        AssociationId=association.association_id,
        ExecutionId=execution["ExecutionId"],
        Filters=[{"Key": "Status", "Value": "Failed"}],
    )["AssociationExecutionTargets"]
    assert failed_only == []
    (info,) = ssm.describe_instance_associations_status(InstanceId=association.instance_ids[0])[
        "InstanceAssociationStatusInfos"
    ]
    assert info["Status"] == "TimedOut"
    assert "ErrorCode" not in info
    failed_filter = ssm.list_associations(
        AssociationFilterList=[{"key": "AssociationStatusName", "value": "Failed"}]
    )["Associations"]
    assert len(failed_filter) == 1
    noncompliant = {s["ResourceId"] for s in _all_summaries(ssm, ASSOCIATION_NONCOMPLIANT)}
    assert noncompliant == {association.instance_ids[0]}


def test_generated_timed_out_associations(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(seed=4, accounts=1, regions=(REGION,), timed_out=2, failing=0)
    scope = sim.fleet.scope(ACCOUNT, REGION)
    slow = [a for a in scope.associations.values() if a.status == "TimedOut"]
    assert len(slow) == 2
    for association in slow:
        assert association.latest is not None
        assert 1 <= len(association.latest.failures) <= 2
        assert {f.status for f in association.latest.failures.values()} == {"TimedOut"}


def test_list_accounts_sends_state_not_status(sim: Sim) -> None:
    sim.fleet.accounts["222222222222"].state = "PENDING_CLOSURE"
    org = sim.session("us-east-1").client("organizations", endpoint_url=sim.endpoint_url)
    accounts = org.list_accounts()["Accounts"]
    assert all("Status" not in a for a in accounts)
    assert {a["Id"]: a["State"] for a in accounts} == {
        "111111111111": "ACTIVE",
        "222222222222": "PENDING_CLOSURE",
    }


def test_describe_configuration_recorders(sim: Sim) -> None:
    config = sim.session().client("config", endpoint_url=sim.endpoint_url)
    (recorder,) = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert recorder["recordingGroup"]["allSupported"] is True
    assert recorder["recordingGroup"]["recordingStrategy"]["useOnly"] == (
        "ALL_SUPPORTED_RESOURCE_TYPES"
    )
    scope = sim.fleet.scope(ACCOUNT, REGION)
    scope.config_resource_types = frozenset({"AWS::EC2::Instance"})
    (recorder,) = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert recorder["recordingGroup"]["allSupported"] is False
    assert recorder["recordingGroup"]["resourceTypes"] == ["AWS::EC2::Instance"]
    assert not scope.records_association_compliance
    with pytest.raises(ClientError) as raised:
        config.describe_configuration_recorders(ConfigurationRecorderNames=["other"])
    assert raised.value.response["Error"]["Code"] == "NoSuchConfigurationRecorderException"
    scope.config_recording = None
    assert config.describe_configuration_recorders()["ConfigurationRecorders"] == []
