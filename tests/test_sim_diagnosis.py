"""The simulator's side of diagnosing and fixing, through unmodified boto3 (every answer is
checked against botocore's output shapes at teardown): documents and their versions,
UpdateAssociation's version check, what the agent prints on stderr, alarms, change calendars,
Run Command, Automation, runs that stay InProgress, and Patch items by severity."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from bot.sim.documents import SimCalendar
from bot.sim.fleet import LATEST_AGENT_VERSION, Fleet, generate_fleet
from bot.sim.showcase import ALARM, CALENDAR, PLAYBOOKS, ROLE, Showcase, add_showcase
from tests.support.sim import Sim

ACCOUNT = "111111111111"
REGION = "eu-west-1"


def _fleet() -> tuple[Fleet, Showcase]:
    fleet = generate_fleet(seed=3, accounts=1, regions=(REGION,), associations=2, failing=0)
    return fleet, add_showcase(fleet, ACCOUNT, REGION)


@pytest.fixture
def showcase(make_sim: Callable[..., Sim]) -> tuple[Sim, Showcase]:
    fleet, shown = _fleet()
    return make_sim(fleet), shown


def _ssm(sim: Sim) -> Any:
    return sim.session(REGION).client("ssm", endpoint_url=sim.endpoint_url)


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# -- documents -------------------------------------------------------------------------------------


def test_get_document_gives_the_declared_parameters_in_json_or_yaml(
    showcase: tuple[Sim, Showcase],
) -> None:
    sim, _ = showcase
    ssm = _ssm(sim)
    as_json = ssm.get_document(Name="AWS-RunPatchBaseline", DocumentFormat="JSON")
    as_yaml = ssm.get_document(Name="AWS-RunPatchBaseline", DocumentFormat="YAML")
    assert (as_json["DocumentFormat"], as_yaml["DocumentFormat"]) == ("JSON", "YAML")
    declared = json.loads(as_json["Content"])["parameters"]
    assert declared == yaml.safe_load(as_yaml["Content"])["parameters"]
    assert declared["Operation"]["allowedValues"] == ["Scan", "Install"]
    assert declared["SnapshotId"]["allowedPattern"].startswith("(^$)")
    assert as_json["DocumentVersion"] == "1"
    described = ssm.describe_document(Name="AWS-RunPatchBaseline")["Document"]
    operation = next(p for p in described["Parameters"] if p["Name"] == "Operation")
    # DescribeDocument names types and defaults, never the allowed values.
    assert operation == {
        "Name": "Operation",
        "Type": "String",
        "Description": operation["Description"],
        "DefaultValue": "Scan",
    }


def test_document_versions_default_latest_and_numbered(showcase: tuple[Sim, Showcase]) -> None:
    sim, _ = showcase
    document = sim.fleet.documents["AWS-RunPatchBaseline"]
    newer = json.loads(json.dumps(document.content(1)))
    newer["parameters"]["Operation"]["allowedValues"] = ["Scan", "Install", "Verify"]
    document.add_version(newer)
    ssm = _ssm(sim)

    def allowed(version: str) -> list[str]:
        found = ssm.get_document(Name="AWS-RunPatchBaseline", DocumentVersion=version)
        return list(json.loads(found["Content"])["parameters"]["Operation"]["allowedValues"])

    assert allowed("$DEFAULT") == allowed("1") == ["Scan", "Install"]
    assert allowed("$LATEST") == allowed("2") == ["Scan", "Install", "Verify"]
    with pytest.raises(ClientError) as bad:
        ssm.get_document(Name="AWS-RunPatchBaseline", DocumentVersion="9")
    assert _code(bad) == "InvalidDocumentVersion"
    with pytest.raises(ClientError) as missing:
        ssm.get_document(Name="No-Such-Document")
    assert _code(missing) == "InvalidDocument"


# -- associations: what they carry, and UpdateAssociation ------------------------------------------


def test_describe_association_carries_parameters_version_calendars_and_dispatch_role(
    showcase: tuple[Sim, Showcase],
) -> None:
    sim, shown = showcase
    ssm = _ssm(sim)
    frozen = ssm.describe_association(AssociationId=shown.associations["calendar_closed"])[
        "AssociationDescription"
    ]
    assert frozen["Parameters"] == {"Operation": ["Install"]}
    assert frozen["CalendarNames"] == [CALENDAR]
    assert frozen["AssociationVersion"] == "1"
    assert frozen["DocumentVersion"] == "$DEFAULT"
    assert frozen["AssociationDispatchAssumeRole"].endswith(":role/ssm-association-dispatch")
    bare = ssm.describe_association(AssociationId=shown.associations["unknown"])[
        "AssociationDescription"
    ]
    assert "AssociationDispatchAssumeRole" not in bare


def _update_all(ssm: Any, described: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """An UpdateAssociation that sends every member it read (as AWS asks) with `changes`."""
    members = ("Name", "DocumentVersion", "Parameters", "Targets", "ScheduleExpression")
    sent = {k: described[k] for k in (*members, "AssociationName") if k in described}
    updated: dict[str, Any] = ssm.update_association(
        AssociationId=described["AssociationId"], **{**sent, **changes}
    )["AssociationDescription"]
    return updated


def test_update_association_checks_the_version_and_replaces_parameters_whole(
    showcase: tuple[Sim, Showcase],
) -> None:
    sim, shown = showcase
    ssm = _ssm(sim)
    association_id = shown.associations["bad_parameter"]
    read = ssm.describe_association(AssociationId=association_id)["AssociationDescription"]
    fixed = _update_all(
        ssm,
        read,
        Parameters={"Operation": ["Install"]},
        AssociationVersion=read["AssociationVersion"],
    )
    assert fixed["AssociationVersion"] == "2"
    assert fixed["Parameters"] == {"Operation": ["Install"]}  # RebootOption is gone: replaced whole
    assert fixed["ScheduleExpression"] == read["ScheduleExpression"]
    with pytest.raises(ClientError) as stale:  # a second editor still holding version 1
        _update_all(ssm, read, AssociationVersion="1")
    assert _code(stale) == "InvalidAssociationVersion"
    with pytest.raises(ClientError) as refused:
        _update_all(ssm, fixed, Parameters={"Operation": ["Patch"]})
    assert _code(refused) == "InvalidParameters"
    assert "allowed values" in str(refused.value)


def test_update_association_resets_what_it_is_not_sent_and_runs_at_once(
    showcase: tuple[Sim, Showcase],
) -> None:
    sim, shown = showcase
    ssm = _ssm(sim)
    association_id = shown.associations["bad_parameter"]
    _, association = sim.fleet.find_association(association_id)
    runs_before = len(association.executions)
    updated = ssm.update_association(
        AssociationId=association_id, Parameters={"Operation": ["Scan"]}
    )["AssociationDescription"]
    assert "ScheduleExpression" not in updated  # not sent: overwritten with null, as AWS does
    assert "AssociationName" not in updated
    assert len(association.executions) == runs_before + 1
    # The new run no longer fails on the parameter it was refused.
    assert association.latest is not None
    assert association.latest.failures == {}


def test_apply_only_at_cron_interval_leaves_the_run_to_the_schedule(
    showcase: tuple[Sim, Showcase],
) -> None:
    sim, shown = showcase
    ssm = _ssm(sim)
    association_id = shown.associations["bad_parameter"]
    _, association = sim.fleet.find_association(association_id)
    read = ssm.describe_association(AssociationId=association_id)["AssociationDescription"]
    runs = len(association.executions)
    _update_all(ssm, read, Parameters={"Operation": ["Scan"]}, ApplyOnlyAtCronInterval=True)
    assert len(association.executions) == runs


# -- instances and stderr --------------------------------------------------------------------------


def test_instance_information_says_ping_agent_latest_and_role(
    showcase: tuple[Sim, Showcase],
) -> None:
    sim, shown = showcase
    scope = sim.fleet.scope(ACCOUNT, REGION)
    hybrid = scope.instances[shown.instances["agent_outdated"][0]]
    hybrid.iam_role = "SSMServiceRole"
    wanted = [*shown.instances["unreachable"], *shown.instances["agent_outdated"]]
    found = _ssm(sim).describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": wanted}], MaxResults=50
    )["InstanceInformationList"]
    by_id = {i["InstanceId"]: i for i in found}
    assert set(by_id) == set(wanted)
    lost = by_id[shown.instances["unreachable"][0]]
    assert lost["PingStatus"] == "ConnectionLost"
    assert lost["IsLatestVersion"] is True
    old = by_id[hybrid.instance_id]
    assert (old["IsLatestVersion"], old["IamRole"]) == (False, "SSMServiceRole")
    assert old["AgentVersion"] != LATEST_AGENT_VERSION


def _stderr(sim: Sim, cause: str, shown: Showcase) -> str:
    ssm = _ssm(sim)
    _, association = sim.fleet.find_association(shown.associations[cause])
    assert association.latest is not None
    instance_id = shown.instances[cause][0]  # type: ignore[index]
    return str(
        ssm.get_command_invocation(CommandId=association.latest.command_id, InstanceId=instance_id)[
            "StandardErrorContent"
        ]
    )


def test_access_denied_stderr_names_the_role_action_and_resource_as_the_cli_prints_it(
    showcase: tuple[Sim, Showcase],
) -> None:
    sim, shown = showcase
    stderr = _stderr(sim, "permissions", shown)
    instance_id = shown.instances["permissions"][0]
    assert (
        "An error occurred (AccessDenied) when calling the GetObject operation: User: "
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/{instance_id} is not authorized to perform: "
        f's3:GetObject on resource: "{PLAYBOOKS}" because no identity-based policy allows the '
        "s3:GetObject action"
    ) in stderr


def test_agent_too_old_stderr_is_the_agents_own_words(showcase: tuple[Sim, Showcase]) -> None:
    sim, shown = showcase
    assert "is not supported by this version of ssm agent, please update to latest version" in (
        _stderr(sim, "agent_outdated", shown)
    )


# -- alarms, calendars, runs that take a while -----------------------------------------------------


def test_an_alarm_in_alarm_stops_the_run_and_the_execution_names_it(
    showcase: tuple[Sim, Showcase],
) -> None:
    sim, shown = showcase
    ssm = _ssm(sim)
    association_id = shown.associations["stopped_by_alarm"]
    ssm.start_associations_once(AssociationIds=[association_id])
    latest = ssm.describe_association_executions(AssociationId=association_id, MaxResults=1)[
        "AssociationExecutions"
    ][0]
    assert latest["TriggeredAlarms"] == [{"Name": ALARM, "State": "ALARM"}]
    assert latest["Status"] == "Failed"
    sim.fleet.scope(ACCOUNT, REGION).alarms[ALARM] = "OK"
    ssm.start_associations_once(AssociationIds=[association_id])
    after = ssm.describe_association_executions(AssociationId=association_id, MaxResults=1)[
        "AssociationExecutions"
    ][0]
    assert "TriggeredAlarms" not in after
    assert after["Status"] == "Success"


def test_a_closed_calendar_holds_the_run_and_says_when_it_opens(
    showcase: tuple[Sim, Showcase],
) -> None:
    sim, shown = showcase
    ssm = _ssm(sim)
    state = ssm.get_calendar_state(CalendarNames=[CALENDAR])
    assert state["State"] == "CLOSED"
    assert state["NextTransitionTime"].endswith("Z")
    association_id = shown.associations["calendar_closed"]
    _, association = sim.fleet.find_association(association_id)
    runs = len(association.executions)
    ssm.start_associations_once(AssociationIds=[association_id])
    assert len(association.executions) == runs
    scope = sim.fleet.scope(ACCOUNT, REGION)
    scope.calendars["open-hours"] = SimCalendar("open-hours", "OPEN")
    assert ssm.get_calendar_state(CalendarNames=["open-hours"])["State"] == "OPEN"
    assert ssm.get_calendar_state(CalendarNames=["open-hours", CALENDAR])["State"] == "CLOSED"
    with pytest.raises(ClientError) as missing:
        ssm.get_calendar_state(CalendarNames=["no-such-calendar"])
    assert _code(missing) == "InvalidDocument"


def test_a_run_stays_in_progress_for_a_while_and_compliance_waits_for_it(
    showcase: tuple[Sim, Showcase],
) -> None:
    sim, shown = showcase
    sim.fleet.run_seconds = 600
    ssm = _ssm(sim)
    association_id = shown.associations["agent_outdated"]
    instance_id = shown.instances["agent_outdated"][0]
    sim.fleet.scope(ACCOUNT, REGION).instances[instance_id].agent_version = LATEST_AGENT_VERSION
    ssm.start_associations_once(AssociationIds=[association_id])

    def newest() -> dict[str, Any]:
        found: dict[str, Any] = ssm.describe_association_executions(
            AssociationId=association_id, MaxResults=1
        )["AssociationExecutions"][0]
        return found

    def item() -> str:
        items = ssm.list_compliance_items(
            ResourceIds=[instance_id],
            ResourceTypes=["ManagedInstance"],
            Filters=[{"Key": "ComplianceType", "Values": ["Association"], "Type": "EQUAL"}],
        )["ComplianceItems"]
        return str(next(i["Status"] for i in items if i["Id"] == association_id))

    running = newest()
    assert (running["Status"], running["ResourceCountByStatus"]) == ("InProgress", "{InProgress=4}")
    assert item() == "NON_COMPLIANT"  # still the last finished run's
    sim.fleet.clock_offset += timedelta(minutes=11)
    assert newest()["Status"] == "Failed"  # the other two agents are still too old
    assert item() == "COMPLIANT"


# -- Run Command and Automation --------------------------------------------------------------------


def test_update_ssm_agent_updates_exactly_the_instances_sent(
    showcase: tuple[Sim, Showcase],
) -> None:
    sim, shown = showcase
    ssm = _ssm(sim)
    old = list(shown.instances["agent_outdated"])
    lost = shown.instances["unreachable"][0]
    command = ssm.send_command(DocumentName="AWS-UpdateSSMAgent", InstanceIds=[old[0], lost])[
        "Command"
    ]
    invocations = ssm.list_command_invocations(CommandId=command["CommandId"], Details=True)[
        "CommandInvocations"
    ]
    statuses = {i["InstanceId"]: (i["Status"], i["StatusDetails"]) for i in invocations}
    assert statuses == {old[0]: ("Success", "Success"), lost: ("TimedOut", "DeliveryTimedOut")}
    agents = {i: sim.fleet.scope(ACCOUNT, REGION).instances[i].agent_version for i in old}
    assert agents[old[0]] == LATEST_AGENT_VERSION
    assert all(agents[i] != LATEST_AGENT_VERSION for i in old[1:])
    with pytest.raises(ClientError) as unknown:
        ssm.send_command(DocumentName="AWS-UpdateSSMAgent", InstanceIds=["i-0000000000000dead"])
    assert _code(unknown) == "InvalidInstanceId"


def test_troubleshooting_runbook_reports_why_an_instance_is_unreachable(
    showcase: tuple[Sim, Showcase],
) -> None:
    sim, shown = showcase
    sim.fleet.command_seconds = 120
    ssm = _ssm(sim)

    def run(instance_id: str) -> str:
        started = ssm.start_automation_execution(
            DocumentName="AWSSupport-TroubleshootManagedInstance",
            Parameters={"InstanceId": [instance_id]},
        )
        return str(started["AutomationExecutionId"])

    lost, fine = run(shown.instances["unreachable"][0]), run(shown.instances["permissions"][0])
    assert (
        ssm.get_automation_execution(AutomationExecutionId=lost)["AutomationExecution"][
            "AutomationExecutionStatus"
        ]
        == "InProgress"
    )
    sim.fleet.clock_offset += timedelta(minutes=3)
    failed = ssm.get_automation_execution(AutomationExecutionId=lost)["AutomationExecution"]
    assert failed["AutomationExecutionStatus"] == "Failed"
    assert "stopped" in failed["FailureMessage"]
    passed = ssm.get_automation_execution(AutomationExecutionId=fine)["AutomationExecution"]
    assert passed["AutomationExecutionStatus"] == "Success"
    with pytest.raises(ClientError) as bad:
        ssm.start_automation_execution(
            DocumentName="AWSSupport-TroubleshootManagedInstance",
            Parameters={"InstanceId": ["not-an-instance"]},
        )
    assert _code(bad) == "InvalidAutomationExecutionParametersException"


# -- Patch items -----------------------------------------------------------------------------------


def test_patch_summaries_count_missing_patches_by_severity(showcase: tuple[Sim, Showcase]) -> None:
    sim, shown = showcase
    instance_id = shown.instances["missing_patches"][2]
    summary = _ssm(sim).list_resource_compliance_summaries(
        Filters=[
            {"Key": "ComplianceType", "Values": ["Patch"], "Type": "EQUAL"},
            {"Key": "ResourceId", "Values": [instance_id], "Type": "EQUAL"},
        ]
    )["ResourceComplianceSummaryItems"]
    (patch,) = summary
    counts = patch["NonCompliantSummary"]["SeveritySummary"]
    assert patch["NonCompliantSummary"]["NonCompliantCount"] == 4
    assert (counts["CriticalCount"], counts["HighCount"], counts["MediumCount"]) == (1, 2, 1)


def test_a_manual_patch_scan_run_reports_the_same_missing_patches_again(
    showcase: tuple[Sim, Showcase],
) -> None:
    sim, shown = showcase
    ssm = _ssm(sim)
    association_id = shown.associations["missing_patches"]
    ssm.start_associations_once(AssociationIds=[association_id])
    _, association = sim.fleet.find_association(association_id)
    assert association.latest is not None
    items = sim.fleet.compliance_items(ACCOUNT, REGION, shown.instances["missing_patches"][0])
    mine = next(i for i in items if i.get("Id") == association_id)
    assert mine["Status"] == "NON_COMPLIANT"
    assert mine["ExecutionSummary"]["ExecutionId"] == association.latest.execution_id
