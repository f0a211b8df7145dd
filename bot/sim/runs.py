"""What a new run of an association does in the simulator, and what the remedies (Run Command,
Automation) change on the instances.

A new run (StartAssociationsOnce, an UpdateAssociation, a test) repeats the latest finished
run's failures unless their cause is gone:
- unreachable: the instance is Online again and has pinged since that run;
- agent_outdated: the instance's agent is now the latest version;
- bad_parameter: the association was updated since, and its parameters are now accepted;
- timeout: its `step_seconds` now fits in the `executionTimeout` it runs with;
- stopped_by_alarm: none of its alarms is in ALARM any more;
- anything else (permissions, a script error) stays, unless `fix_on_rerun`.
A run while one of its change calendars is CLOSED does not start; a run while one of its alarms
is in ALARM is stopped (TriggeredAlarms) and fails on every target. A MANUAL patch association
reports again: NON_COMPLIANT where the instance still misses patches.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.sim.documents import first_violation
from bot.sim.fleet import (
    LATEST_AGENT_VERSION,
    ComplianceStatus,
    Failure,
    Fleet,
    SimAssociation,
    SimExecution,
    SimInstance,
    SimScope,
)
from bot.sim.remedies import AutomationStep, InvocationResult, SimAutomation, SimCommand

PATCH_DOCUMENTS = ("AWS-RunPatchBaseline", "AWS-RunPatchBaselineAssociation")


def calendar_closed(scope: SimScope, association: SimAssociation) -> bool:
    return any(
        (calendar := scope.calendars.get(name.rsplit("/", 1)[-1])) is not None
        and calendar.state == "CLOSED"
        for name in association.calendar_names
    )


def alarms_firing(scope: SimScope, association: SimAssociation) -> tuple[str, ...]:
    return tuple(name for name in association.alarm_names if scope.alarms.get(name) == "ALARM")


def start_run(
    fleet: Fleet, scope: SimScope, association: SimAssociation, *, at: datetime | None = None
) -> SimExecution | None:
    """Start a run now (None: a closed change calendar holds it)."""
    if calendar_closed(scope, association):
        return None
    seconds = fleet.run_seconds if association.run_seconds is None else association.run_seconds
    firing = alarms_firing(scope, association)
    if firing:
        stopped = _stopped(firing)
        failures = dict.fromkeys(association.instance_ids, stopped)
    else:
        latest = association.latest
        failures = {
            instance_id: failure
            for instance_id, failure in (latest.failures.items() if latest else ())
            if not association.fix_on_rerun
            and _still_fails(
                fleet, scope, association, latest, instance_id=instance_id, failure=failure
            )
        }
    execution = fleet.run_association(
        association.association_id,
        failures=failures,
        at=at,
        seconds=seconds,
        triggered_alarms=firing[:1],  # AWS names one (AlarmStateInformationList max 1)
    )
    if association.sync_compliance == "MANUAL" and association.document in PATCH_DOCUMENTS:
        _report_patch_compliance(fleet, scope, association, execution)
    return execution


def _stopped(alarms: tuple[str, ...]) -> Failure:
    return Failure(
        "stopped_by_alarm",
        "Cancelled",
        "",
        f"The association run was stopped: CloudWatch alarm {alarms[0]} is in ALARM.",
        "",
    )


def _still_fails(
    fleet: Fleet,
    scope: SimScope,
    association: SimAssociation,
    run: SimExecution | None,
    *,
    instance_id: str,
    failure: Failure,
) -> bool:
    instance = scope.instances.get(instance_id)
    if failure.cause == "unreachable":
        return not (
            instance is not None
            and instance.ping_status == "Online"
            and (run is None or instance.last_ping > run.created_at)
        )
    if failure.cause == "agent_outdated":
        return instance is None or instance.agent_version != LATEST_AGENT_VERSION
    if failure.cause == "bad_parameter":
        updated = run is None or str(association.version) != run.association_version
        return not updated or _parameters_refused(fleet, scope, association)
    if failure.cause == "timeout":
        return association.step_seconds is None or association.step_seconds > _timeout_of(
            fleet, scope, association
        )
    if failure.cause == "stopped_by_alarm":
        return bool(alarms_firing(scope, association))
    return True


def _declared(
    fleet: Fleet, scope: SimScope, association: SimAssociation
) -> Mapping[str, Mapping[str, object]]:
    document = fleet.find_document(scope, association.document)
    number = document.resolve(association.document_version) if document else None
    return document.declared(number) if document and number else {}


def _parameters_refused(fleet: Fleet, scope: SimScope, association: SimAssociation) -> bool:
    declared = _declared(fleet, scope, association)
    return bool(declared) and first_violation(declared, association.parameters) is not None


def _timeout_of(fleet: Fleet, scope: SimScope, association: SimAssociation) -> int:
    given = association.parameters.get("executionTimeout")
    declared = _declared(fleet, scope, association).get("executionTimeout") or {}
    value = given[0] if given else str(declared.get("default", "3600"))
    return int(value) if value.isdigit() else 3600


def _report_patch_compliance(
    fleet: Fleet, scope: SimScope, association: SimAssociation, execution: SimExecution
) -> None:
    """The scan reports again: NON_COMPLIANT where the instance has NON_COMPLIANT Patch items,
    COMPLIANT where its Patch items are all compliant (instances without Patch items keep
    what they had)."""
    statuses: dict[str, ComplianceStatus] = {}
    for instance_id in association.instance_ids:
        patches = scope.compliance.get((instance_id, "Patch"))
        if patches:
            missing = any(item.status == "NON_COMPLIANT" for item in patches)
            statuses[instance_id] = "NON_COMPLIANT" if missing else "COMPLIANT"
    if statuses:
        fleet.report_compliance(
            association.association_id, statuses, at=execution.created_at, execution=execution
        )


# -- Run Command (AWS-UpdateSSMAgent) and Automation (AWSSupport-TroubleshootManagedInstance) -------


def send_command(
    fleet: Fleet,
    scope: SimScope,
    document: str,
    instance_ids: tuple[str, ...],
    *,
    parameters: Mapping[str, list[str]],
    comment: str = "",
) -> SimCommand:
    """Start a command on exactly these instances. AWS-UpdateSSMAgent brings an Online
    instance's agent to the latest version; an instance that is not Online never gets it."""
    now = fleet.now()
    results: dict[str, InvocationResult] = {}
    for instance_id in instance_ids:
        instance = scope.instances[instance_id]
        if instance.ping_status != "Online":
            results[instance_id] = InvocationResult("TimedOut", "DeliveryTimedOut", -1)
            continue
        if document == "AWS-UpdateSSMAgent":
            before = instance.agent_version
            instance.agent_version = LATEST_AGENT_VERSION
            results[instance_id] = InvocationResult(
                "Success",
                "Success",
                stdout=f"Updating amazon-ssm-agent from {before} to {LATEST_AGENT_VERSION}\n"
                f"Successfully updated amazon-ssm-agent to {LATEST_AGENT_VERSION}\n",
            )
        else:
            results[instance_id] = InvocationResult("Success", "Success")
    seconds = fleet.command_seconds
    command = SimCommand(
        command_id=str(uuid.uuid4()),
        document=document,
        parameters={k: list(v) for k, v in parameters.items()},
        instance_ids=instance_ids,
        requested_at=now,
        results=results,
        finishes_at=now + timedelta(seconds=seconds) if seconds > 0 else None,
        comment=comment,
        clock=fleet.now,
    )
    scope.commands[command.command_id] = command
    return command


TROUBLESHOOT = "AWSSupport-TroubleshootManagedInstance"


def start_troubleshooting(
    fleet: Fleet, scope: SimScope, parameters: Mapping[str, list[str]], executed_by: str
) -> SimAutomation:
    """AWSSupport-TroubleshootManagedInstance for one instance: its checks pass for an Online
    instance; for one that is not, the check that explains it fails and says why. (The step
    names and outputs are the simulator's; the real runbook's report is richer.)"""
    now = fleet.now()
    instance_id = (parameters.get("InstanceId") or [""])[0]
    instance: SimInstance | None = scope.instances.get(instance_id)
    steps: tuple[AutomationStep, ...]
    if instance is None:
        steps = (
            AutomationStep(
                "getInstanceProperties",
                "aws:executeAwsApi",
                "Failed",
                f"The instance {instance_id} does not exist in this account and region.",
            ),
        )
        status, message, outputs = "Failed", steps[0].failure_message, {}
    elif instance.ping_status == "Online":
        steps = (
            AutomationStep("getInstanceProperties", "aws:executeAwsApi", "Success"),
            AutomationStep("checkManagedInstance", "aws:executeScript", "Success"),
        )
        status, message = "Success", ""
        outputs = {
            "checkManagedInstance.Result": [f"{instance_id} is a managed node: no issue found."]
        }
    else:
        steps = (
            AutomationStep("getInstanceProperties", "aws:executeAwsApi", "Success"),
            AutomationStep(
                "checkManagedInstance", "aws:executeScript", "Failed", instance.unreachable_reason
            ),
        )
        status, message = (
            "Failed",
            f"Step fails when it is Executing. {instance.unreachable_reason}",
        )
        outputs = {"checkManagedInstance.Result": [instance.unreachable_reason]}
    seconds = fleet.command_seconds
    automation = SimAutomation(
        execution_id=str(uuid.uuid4()),
        document=TROUBLESHOOT,
        document_version="1",
        parameters={k: list(v) for k, v in parameters.items()},
        started_at=now,
        status=status,
        steps=steps,
        outputs=outputs,
        failure_message=message,
        executed_by=executed_by,
        finishes_at=now + timedelta(seconds=seconds) if seconds > 0 else None,
        clock=fleet.now,
    )
    scope.automations[automation.execution_id] = automation
    return automation
