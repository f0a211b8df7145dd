"""The simulator cannot drift from AWS: every response it sends is checked against botocore's
output shapes, and each operation it implements is exercised here through unmodified boto3."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from bot.sim.handlers import HANDLERS
from bot.sim.shapes import check_output, known_operations
from tests.support.sim import Sim


def test_every_simulated_operation_exists_in_botocore() -> None:
    for service, operation in HANDLERS:
        assert operation in known_operations(service), f"{service}:{operation}"


def test_checker_rejects_what_aws_would_never_send() -> None:
    problems = check_output(
        "ssm",
        "ListAssociations",
        {
            "Associations": [
                {
                    "Name": "AWS-RunPatchBaseline",
                    "Overview": {
                        "Status": "Failed",
                        "AssociationStatusAggregatedCount": {"Failed": "2"},
                    },
                    "LastExecutionDate": "2026-01-01",
                    "Colour": "red",
                    "ScheduleOffset": 9,
                }
            ]
        },
    )
    assert any("Colour: not a member" in p for p in problems)
    assert any("AssociationStatusAggregatedCount[Failed]: expected integer" in p for p in problems)
    assert any("LastExecutionDate: expected an aware datetime" in p for p in problems)
    assert any("ScheduleOffset: 9 above maximum 6" in p for p in problems)


def test_checker_requires_required_members_and_enums() -> None:
    problems = check_output(
        "sts",
        "AssumeRole",
        {"Credentials": {"AccessKeyId": "ASIAXXXXXXXXXXXXXXXX", "SecretAccessKey": "s"}},
    )
    assert any("SessionToken: required member missing" in p for p in problems)
    problems = check_output(
        "ssm",
        "DescribeInstanceInformation",
        {
            "InstanceInformationList": [
                {"InstanceId": "i-0123456789abcdef0", "PingStatus": "Sleepy"}
            ]
        },
    )
    assert any("'Sleepy' is not one of" in p for p in problems)


def test_each_operation_through_boto3_conforms(sim: Sim) -> None:
    session = sim.session()
    ssm = session.client("ssm", endpoint_url=sim.endpoint_url)
    sts = session.client("sts", endpoint_url=sim.endpoint_url)
    org = session.client("organizations", endpoint_url=sim.endpoint_url, region_name="us-east-1")

    identity = sts.get_caller_identity()
    assert identity["Account"] == sim.fleet.caller_account
    assumed = sts.assume_role(
        RoleArn="arn:aws:iam::222222222222:role/SSM3ReadOnly", RoleSessionName="t1"
    )
    assert assumed["Credentials"]["Expiration"] > datetime.now(UTC)
    assert [a["Id"] for a in org.list_accounts()["Accounts"]] == ["111111111111", "222222222222"]

    listed = ssm.list_associations(MaxResults=50)["Associations"]
    failed = next(a for a in listed if a["Overview"]["Status"] == "Failed")
    association_id = failed["AssociationId"]
    executions = ssm.describe_association_executions(AssociationId=association_id)[
        "AssociationExecutions"
    ]
    targets = ssm.describe_association_execution_targets(
        AssociationId=association_id,
        ExecutionId=executions[0]["ExecutionId"],
        Filters=[{"Key": "Status", "Value": "Failed"}],
    )["AssociationExecutionTargets"]
    instance_id = targets[0]["ResourceId"]
    statuses = ssm.describe_instance_associations_status(InstanceId=instance_id)
    assert any(
        s["AssociationId"] == association_id for s in statuses["InstanceAssociationStatusInfos"]
    )
    info = ssm.describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": [instance_id]}]
    )
    assert info["InstanceInformationList"][0]["InstanceId"] == instance_id
    invocation = ssm.get_command_invocation(
        CommandId=targets[0]["OutputSource"]["OutputSourceId"], InstanceId=instance_id
    )
    assert invocation["Status"] == "Failed"
    compliance = ssm.list_resource_compliance_summaries(
        Filters=[
            {"Key": "ComplianceType", "Values": ["Association"]},
            {"Key": "Status", "Values": ["NON_COMPLIANT"]},
        ]
    )["ResourceComplianceSummaryItems"]
    assert instance_id in {item["ResourceId"] for item in compliance}
    description = ssm.describe_association(AssociationId=association_id)["AssociationDescription"]
    assert description["SyncCompliance"] in {"AUTO", "MANUAL"}
    ssm.start_associations_once(AssociationIds=[association_id])

    hub = session.client("securityhub", endpoint_url=sim.endpoint_url)
    controls = hub.list_standards_control_associations(SecurityControlId="SSM.3", MaxResults=1)
    assert [c["AssociationStatus"] for c in controls["StandardsControlAssociationSummaries"]] == [
        "ENABLED"
    ]
    config = session.client("config", endpoint_url=sim.endpoint_url)
    recorders = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert [r["recording"] for r in recorders] == [True]
    settings = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert settings[0]["recordingGroup"]["allSupported"] is True
    ssm.put_compliance_items(
        ResourceId=instance_id,
        ResourceType="ManagedInstance",
        ComplianceType="Custom:Antivirus",
        ExecutionSummary={"ExecutionTime": datetime.now(UTC)},
        Items=[{"Id": "defs", "Title": "Signatures", "Severity": "LOW", "Status": "COMPLIANT"}],
    )
    items = ssm.list_compliance_items(ResourceIds=[instance_id], ResourceTypes=["ManagedInstance"])
    assert "Custom:Antivirus" in {i["ComplianceType"] for i in items["ComplianceItems"]}
    findings = hub.get_findings(MaxResults=1)["Findings"]
    assert findings[0]["Compliance"]["SecurityControlId"] == "SSM.3"
    updated = hub.batch_update_findings(
        FindingIdentifiers=[{"Id": findings[0]["Id"], "ProductArn": findings[0]["ProductArn"]}],
        Workflow={"Status": "SUPPRESSED"},
        Note={"Text": "known", "UpdatedBy": "ssm3-bot"},
        UserDefinedFields={"ssm3bot:until": "none"},
    )
    assert [f["Id"] for f in updated["ProcessedFindings"]] == [findings[0]["Id"]]
    again = hub.get_findings(Filters={"Id": [{"Value": findings[0]["Id"], "Comparison": "EQUALS"}]})
    assert again["Findings"][0]["Note"]["UpdatedBy"] == "ssm3-bot"

    exercised = {(call.service, call.operation) for call in sim.fleet.calls}
    assert exercised == set(HANDLERS), "every simulated operation is exercised here"
    assert sim.fleet.violations == []


def test_errors_come_back_as_botocore_client_errors(sim: Sim) -> None:
    ssm = sim.session().client("ssm", endpoint_url=sim.endpoint_url)
    with pytest.raises(ClientError) as raised:
        ssm.start_associations_once(AssociationIds=["00000000-0000-4000-8000-000000000000"])
    assert raised.value.response["Error"]["Code"] == "AssociationDoesNotExist"
    sts = sim.session().client("sts", endpoint_url=sim.endpoint_url)
    with pytest.raises(ClientError) as denied:
        sts.assume_role(
            RoleArn="arn:aws:iam::222222222222:role/SomethingElse", RoleSessionName="t1"
        )
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_unknown_credentials_are_refused(sim: Sim) -> None:
    import boto3

    stranger = boto3.Session(
        aws_access_key_id="AKIANOTKNOWN00000000", aws_secret_access_key="x", region_name="eu-west-1"
    )
    with pytest.raises(ClientError) as raised:
        stranger.client("ssm", endpoint_url=sim.endpoint_url).list_associations()
    assert raised.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_security_hub_and_config_answer_like_aws_when_off(sim: Sim) -> None:
    """Security Hub is rest-json (routed by path), Config JSON 1.1; both say 'off' as AWS does."""
    scope = sim.fleet.scope(sim.fleet.caller_account, "eu-west-1")
    scope.ssm3_control, scope.config_recording = None, None
    hub = sim.session().client("securityhub", endpoint_url=sim.endpoint_url)
    with pytest.raises(ClientError) as off:
        hub.list_standards_control_associations(SecurityControlId="SSM.3")
    assert off.value.response["Error"]["Code"] == "InvalidAccessException"
    assert off.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    with pytest.raises(ClientError) as unknown:
        hub.get_insights()  # routed to its operation, which the simulator does not implement
    assert unknown.value.response["Error"]["Code"] == "InvalidAction"
    assert "securityhub:GetInsights" in unknown.value.response["Error"]["Message"]
    config = sim.session().client("config", endpoint_url=sim.endpoint_url)
    assert config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"] == []
