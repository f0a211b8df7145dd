"""The simulated operations a diagnosis reads and a fix writes: documents (GetDocument,
DescribeDocument), change calendars (GetCalendarState), UpdateAssociation with its version
check, Run Command (SendCommand, ListCommandInvocations) and Automation
(StartAutomationExecution, GetAutomationExecution).

UpdateAssociation behaves as AWS documents it: the AssociationVersion sent must be the latest
(else InvalidAssociationVersion); every optional member left out is reset (Parameters are
replaced whole); the parameters are checked against the document (InvalidParameters); a new
association version results, and the association runs at once unless
ApplyOnlyAtCronInterval is set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.sim.documents import InvalidParameters, SimDocument, check_parameters
from bot.sim.fleet import Fleet, SimAssociation, SimScope
from bot.sim.handlers import (
    ApiError,
    Caller,
    Handler,
    _association,
    _association_item,
    _description_extras,
    _overview,
    _page,
    _scope,
    _with_token,
)
from bot.sim.runs import TROUBLESHOOT, send_command, start_run, start_troubleshooting


def _document(fleet: Fleet, scope: SimScope, name: Any) -> SimDocument:
    document = fleet.find_document(scope, str(name or ""))
    if document is None:
        raise ApiError("InvalidDocument", "The specified document does not exist.")
    return document


def _version(document: SimDocument, version: Any) -> int:
    number = document.resolve(str(version) if version else None)
    if number is None:
        raise ApiError(
            "InvalidDocumentVersion", "The document version is not valid or does not exist."
        )
    return number


def get_document(fleet: Fleet, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
    with fleet.lock:
        document = _document(fleet, _scope(fleet, caller), params.get("Name"))
        number = _version(document, params.get("DocumentVersion"))
        content, document_format = document.render(number, params.get("DocumentFormat"))
        return {
            "Name": document.name,
            "CreatedDate": document.created_at,
            "DocumentVersion": str(number),
            "Status": "Active",
            "Content": content,
            "DocumentType": document.document_type,
            "DocumentFormat": document_format,
        }


def describe_document(fleet: Fleet, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
    """Names, types and defaults of the parameters, not their allowed values (as AWS)."""
    with fleet.lock:
        document = _document(fleet, _scope(fleet, caller), params.get("Name"))
        number = _version(document, params.get("DocumentVersion"))
        content = document.content(number)
        text, _ = document.render(number, None)
        parameters = []
        for name, spec in document.declared(number).items():
            parameter = {
                "Name": name,
                "Type": spec.get("type", "String"),
                "Description": spec.get("description", ""),
            }
            if "default" in spec:
                parameter["DefaultValue"] = str(spec["default"])
            parameters.append(parameter)
        description: dict[str, Any] = {
            "Hash": hashlib.sha256(text.encode()).hexdigest(),
            "HashType": "Sha256",
            "Name": document.name,
            "Owner": document.owner,
            "CreatedDate": document.created_at,
            "Status": "Active",
            "DocumentVersion": str(number),
            "Description": str(content.get("description", "")),
            "PlatformTypes": list(document.platforms),
            "DocumentType": document.document_type,
            "LatestVersion": str(len(document.versions)),
            "DefaultVersion": str(document.default_version),
            "DocumentFormat": document.document_format,
        }
        if parameters:
            description["Parameters"] = parameters
        if "schemaVersion" in content:
            description["SchemaVersion"] = str(content["schemaVersion"])
        return {"Document": description}


def get_calendar_state(fleet: Fleet, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
    names = [str(n) for n in params.get("CalendarNames") or []]
    if not names:
        raise ApiError("ValidationException", "CalendarNames must name at least one calendar.")
    with fleet.lock:
        scope = _scope(fleet, caller)
        calendars = []
        for name in names:
            calendar = scope.calendars.get(name.rsplit("/", 1)[-1])
            if calendar is None:
                raise ApiError("InvalidDocument", f"The calendar {name} does not exist.")
            calendars.append(calendar)
        now = fleet.now()
    closed = [c for c in calendars if c.state == "CLOSED"]
    # Several calendars: OPEN only when all are; it opens when the last closed one does.
    moments = (
        [c.next_transition for c in closed]
        if closed
        else [c.next_transition for c in calendars if c.next_transition]
    )
    answer: dict[str, Any] = {"State": "CLOSED" if closed else "OPEN", "AtTime": _iso(now)}
    if moments and all(m is not None for m in moments):
        known = [m for m in moments if m is not None]
        answer["NextTransitionTime"] = _iso(max(known) if closed else min(known))
    return answer


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- UpdateAssociation -----------------------------------------------------------------------------


def update_association(fleet: Fleet, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
    with fleet.lock:
        scope = _scope(fleet, caller)
        association = _association(fleet, caller, params.get("AssociationId"))
        sent = params.get("AssociationVersion")
        if sent not in (None, "$LATEST") and str(sent) != str(association.version):
            raise ApiError(
                "InvalidAssociationVersion",
                f"The association version {sent} is not the latest version "
                f"({association.version}) of association {association.association_id}.",
            )
        name = params.get("Name") or association.document
        document = _document(fleet, scope, name)
        document_version = str(params.get("DocumentVersion") or "$DEFAULT")
        number = _version(document, document_version)
        parameters = {
            str(k): [str(v) for v in vs] for k, vs in (params.get("Parameters") or {}).items()
        }
        try:
            check_parameters(document.declared(number), parameters)
        except InvalidParameters as exc:
            raise ApiError("InvalidParameters", str(exc)) from None
        _apply(association, params, document.name, document_version, parameters)
        association.version += 1
        association.updated_at = fleet.now()
        if not association.apply_only_at_cron:  # "the association immediately runs"
            start_run(fleet, scope, association)
        item = _association_item(association)
        item.pop("Overview")
        description = {
            **item,
            "Date": association.created_at,
            "LastUpdateAssociationDate": association.updated_at,
            "Overview": _overview(association),
            "SyncCompliance": association.sync_compliance,
            "ApplyOnlyAtCronInterval": association.apply_only_at_cron,
            "ComplianceSeverity": association.compliance_severity,
            **_description_extras(association),
        }
        return {"AssociationDescription": description}


def _apply(
    association: SimAssociation,
    params: Mapping[str, Any],
    document: str,
    document_version: str,
    parameters: dict[str, list[str]],
) -> None:
    """Every optional member not sent is reset, as AWS documents ("overwrites the association
    with null values for those parameters")."""
    association.document = document
    association.document_version = document_version
    association.parameters = parameters
    targets = list(params.get("Targets") or [])
    if not targets:
        association.target_key, association.target_value = "", ""
        association.instance_ids = ()
    else:
        first = targets[0]
        values = list(first.get("Values") or [""])
        # The simulator keeps the instances it targets (it does not resolve tags again).
        association.target_key, association.target_value = str(first.get("Key", "")), str(values[0])
    association.schedule = str(params.get("ScheduleExpression") or "")
    association.name = params.get("AssociationName") or None
    association.calendar_names = tuple(str(c) for c in params.get("CalendarNames") or [])
    alarms = (params.get("AlarmConfiguration") or {}).get("Alarms") or []
    association.alarm_names = tuple(str(a.get("Name", "")) for a in alarms)
    association.dispatch_role = params.get("AssociationDispatchAssumeRole") or None
    association.sync_compliance = "MANUAL" if params.get("SyncCompliance") == "MANUAL" else "AUTO"
    association.compliance_severity = params.get("ComplianceSeverity") or "UNSPECIFIED"
    association.apply_only_at_cron = bool(params.get("ApplyOnlyAtCronInterval"))
    location = ((params.get("OutputLocation") or {}).get("S3Location")) or {}
    association.output_bucket = location.get("OutputS3BucketName") or None
    association.max_concurrency = params.get("MaxConcurrency") or None
    association.max_errors = params.get("MaxErrors") or None


# -- Run Command -----------------------------------------------------------------------------------


def send_command_(fleet: Fleet, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
    instance_ids = [str(i) for i in params.get("InstanceIds") or []]
    if params.get("Targets"):
        raise ApiError("InvalidParameters", "The simulator runs commands on InstanceIds only.")
    if not 1 <= len(instance_ids) <= 50:
        raise ApiError("ValidationException", "InstanceIds must hold 1 to 50 instance IDs.")
    if len(set(instance_ids)) != len(instance_ids):
        raise ApiError(
            "DuplicateInstanceId", "You cannot specify an instance ID in more than one association."
        )
    with fleet.lock:
        scope = _scope(fleet, caller)
        document = _document(fleet, scope, params.get("DocumentName"))
        if document.document_type != "Command":
            raise ApiError("InvalidDocument", f"{document.name} is not a Command document.")
        parameters = {
            str(k): [str(v) for v in vs] for k, vs in (params.get("Parameters") or {}).items()
        }
        try:
            check_parameters(document.declared(document.default_version), parameters)
        except InvalidParameters as exc:
            raise ApiError("InvalidParameters", str(exc)) from None
        unknown = [i for i in instance_ids if i not in scope.instances]
        if unknown:
            raise ApiError(
                "InvalidInstanceId",
                f"Instances [[{', '.join(unknown)}]] not in a valid state for account "
                f"{caller.account_id}",
            )
        command = send_command(
            fleet,
            scope,
            document.name,
            tuple(instance_ids),
            parameters=parameters,
            comment=str(params.get("Comment") or ""),
        )
        completed, errors, delivery = command.counts()
        return {
            "Command": {
                "CommandId": command.command_id,
                "DocumentName": command.document,
                "DocumentVersion": "$DEFAULT",
                "Comment": command.comment,
                "Parameters": dict(command.parameters),
                "InstanceIds": list(command.instance_ids),
                "Targets": [],
                "RequestedDateTime": command.requested_at,
                "Status": command.status if command.finished else "Pending",
                "StatusDetails": command.status if command.finished else "Pending",
                "MaxConcurrency": "50",
                "MaxErrors": "0",
                "TargetCount": len(command.instance_ids),
                "CompletedCount": completed,
                "ErrorCount": errors,
                "DeliveryTimedOutCount": delivery,
                "TimeoutSeconds": int(params.get("TimeoutSeconds") or 3600),
            }
        }


def list_command_invocations(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    command_id = str(params.get("CommandId") or "")
    with fleet.lock:
        command = _scope(fleet, caller).commands.get(command_id)
        if command is None:
            raise ApiError("InvalidCommandId", f"Command {command_id} does not exist.")
        wanted = params.get("InstanceId")
        instance_ids = [i for i in command.instance_ids if wanted in (None, i)]
        page, token = _page(instance_ids, params, 50, 50)
        rows = []
        for instance_id in page:
            result = command.result(instance_id)
            row: dict[str, Any] = {
                "CommandId": command.command_id,
                "InstanceId": instance_id,
                "Comment": command.comment,
                "DocumentName": command.document,
                "DocumentVersion": "1",
                "RequestedDateTime": command.requested_at,
                "Status": result.status,
                "StatusDetails": result.status_details,
            }
            if params.get("Details"):
                plugin: dict[str, Any] = {
                    "Name": "aws:updateSsmAgent"
                    if command.document == "AWS-UpdateSSMAgent"
                    else "aws:runShellScript",
                    "Status": result.status if result.status != "Delayed" else "Pending",
                    "StatusDetails": result.status_details,
                    "ResponseCode": result.response_code,
                    "Output": (result.stdout + result.stderr)[:2500],
                }
                row["CommandPlugins"] = [plugin]
            rows.append(row)
        return _with_token({"CommandInvocations": rows}, token)


# -- Automation ------------------------------------------------------------------------------------


def start_automation_execution(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    with fleet.lock:
        scope = _scope(fleet, caller)
        document = fleet.find_document(scope, str(params.get("DocumentName") or ""))
        if document is None or document.document_type != "Automation":
            raise ApiError(
                "AutomationDefinitionNotFoundException",
                f"Automation definition {params.get('DocumentName')} not found.",
            )
        parameters = {
            str(k): [str(v) for v in vs] for k, vs in (params.get("Parameters") or {}).items()
        }
        try:
            check_parameters(document.declared(document.default_version), parameters)
        except InvalidParameters as exc:
            raise ApiError("InvalidAutomationExecutionParametersException", str(exc)) from None
        if document.name != TROUBLESHOOT:
            raise ApiError("InvalidAction", f"The simulator does not run {document.name}.")
        automation = start_troubleshooting(fleet, scope, parameters, caller.credential.arn)
        return {"AutomationExecutionId": automation.execution_id}


def get_automation_execution(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    execution_id = str(params.get("AutomationExecutionId") or "")
    with fleet.lock:
        automation = _scope(fleet, caller).automations.get(execution_id)
        if automation is None:
            raise ApiError(
                "AutomationExecutionNotFoundException",
                f"Automation execution {execution_id} not found.",
            )
        return {"AutomationExecution": automation.to_api()}


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ssm", "GetDocument"): get_document,
    ("ssm", "DescribeDocument"): describe_document,
    ("ssm", "GetCalendarState"): get_calendar_state,
    ("ssm", "UpdateAssociation"): update_association,
    ("ssm", "SendCommand"): send_command_,
    ("ssm", "ListCommandInvocations"): list_command_invocations,
    ("ssm", "StartAutomationExecution"): start_automation_execution,
    ("ssm", "GetAutomationExecution"): get_automation_execution,
}
