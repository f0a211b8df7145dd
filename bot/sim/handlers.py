"""The simulated operations: each turns request parameters into a response dict for one API.

Responses are plain dicts shaped like botocore's output shapes (datetimes stay datetimes;
the server serialises them per protocol). Errors are raised as `ApiError`.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.sim.agent import stderr_of
from bot.sim.envelope import envelope
from bot.sim.fleet import (
    LATEST_AGENT_VERSION,
    SEVERITIES,
    SSM3_TITLE,
    ComplianceItem,
    Credential,
    Fleet,
    SimAssociation,
    SimExecution,
    SimFinding,
    SimScope,
)
from bot.sim.remedies import SimCommand
from bot.sim.runs import start_run

WORKFLOW_STATUSES = ("NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED")

T = TypeVar("T")


class ApiError(Exception):
    """An error answer: code and message as AWS sends them."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Caller:
    credential: Credential
    region: str

    @property
    def account_id(self) -> str:
        return self.credential.account_id


Handler = Callable[[Fleet, Caller, Mapping[str, Any]], dict[str, Any]]


def _page(
    items: Sequence[T], params: Mapping[str, Any], default: int, maximum: int
) -> tuple[list[T], str | None]:
    """Slice one page and an opaque NextToken, as every List/Describe call does."""
    size = int(params.get("MaxResults") or default)
    if not 1 <= size <= maximum:
        raise ApiError("ValidationException", f"MaxResults must be between 1 and {maximum}")
    token = params.get("NextToken")
    start = 0
    if token:
        try:
            start = int(json.loads(base64.b64decode(token))["offset"])
        except (ValueError, KeyError, TypeError):
            raise ApiError("InvalidNextToken", "The specified token isn't valid.") from None
    chunk = list(items[start : start + size])
    more = start + size < len(items)
    next_token = (
        base64.b64encode(json.dumps({"offset": start + size}).encode()).decode() if more else None
    )
    return chunk, next_token


def _with_token(body: dict[str, Any], token: str | None) -> dict[str, Any]:
    if token:
        body["NextToken"] = token
    return body


def _scope(fleet: Fleet, caller: Caller) -> SimScope:
    return fleet.scope(caller.account_id, caller.region)


def _association(fleet: Fleet, caller: Caller, association_id: str | None) -> SimAssociation:
    scope = _scope(fleet, caller)
    if not association_id or association_id not in scope.associations:
        raise ApiError("AssociationDoesNotExist", f"Association {association_id} does not exist.")
    return scope.associations[association_id]


def _execution(association: SimAssociation, execution_id: str | None) -> SimExecution:
    for execution in association.executions:
        if execution.execution_id == execution_id:
            return execution
    raise ApiError("AssociationExecutionDoesNotExist", f"Execution {execution_id} does not exist.")


def _resource_count(execution: SimExecution) -> str:
    # The real API sends a Java map's toString(): {Failed=1, Success=2} (sorted keys here).
    return "{" + ",".join(f"{k}={v}" for k, v in sorted(execution.counts().items())) + "}"


def _overview(association: SimAssociation) -> dict[str, Any]:
    newest = association.newest
    if newest is not None and not newest.finished:
        return {
            "Status": "Pending",
            "DetailedStatus": "InProgress",
            "AssociationStatusAggregatedCount": newest.counts(),
        }
    latest = association.latest
    if latest is None:
        return {
            "Status": "Pending",
            "DetailedStatus": "Associated",
            "AssociationStatusAggregatedCount": {},
        }
    return {
        "Status": association.overview_status,  # Pending, Success or Failed (TimedOut: Failed)
        "DetailedStatus": latest.status,
        "AssociationStatusAggregatedCount": latest.counts(),
    }


def _association_item(association: SimAssociation) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Name": association.document,
        "AssociationId": association.association_id,
        "AssociationVersion": str(association.version),
        "DocumentVersion": association.document_version,
        "Targets": [{"Key": association.target_key, "Values": [association.target_value]}]
        if association.target_key
        else [],
        "Overview": _overview(association),
    }
    if association.schedule:
        item["ScheduleExpression"] = association.schedule
    if association.name:
        item["AssociationName"] = association.name
    if association.newest:
        item["LastExecutionDate"] = association.newest.created_at
    return item


# -- SSM -------------------------------------------------------------------------------------------


def list_associations(fleet: Fleet, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
    with fleet.lock:
        associations = list(_scope(fleet, caller).associations.values())
        for flt in params.get("AssociationFilterList") or []:
            key, value = flt["key"], flt["value"]
            if key == "AssociationId":
                associations = [a for a in associations if a.association_id == value]
            elif key == "Name":
                associations = [a for a in associations if a.document == value]
            elif key == "AssociationName":
                associations = [a for a in associations if a.name == value]
            elif key == "AssociationStatusName":
                associations = [a for a in associations if a.overview_status == value]
        page, token = _page(associations, params, 50, 50)
        return _with_token({"Associations": [_association_item(a) for a in page]}, token)


def describe_association(fleet: Fleet, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
    with fleet.lock:
        association = _association(fleet, caller, params.get("AssociationId"))
        item = _association_item(association)
        item.pop("Overview")
        description: dict[str, Any] = {
            **item,
            "Date": association.created_at,
            "LastUpdateAssociationDate": association.updated_at or association.created_at,
            "Overview": _overview(association),
            "SyncCompliance": association.sync_compliance,
            "ApplyOnlyAtCronInterval": association.apply_only_at_cron,
            "ComplianceSeverity": association.compliance_severity,
        }
        description.update(_description_extras(association))
        if association.latest and not association.latest.failures:
            description["LastSuccessfulExecutionDate"] = association.latest.created_at
        return {"AssociationDescription": description}


def _description_extras(association: SimAssociation) -> dict[str, Any]:
    """The members DescribeAssociation has only when they are set."""
    extras: dict[str, Any] = {}
    if association.parameters:
        extras["Parameters"] = {k: list(v) for k, v in association.parameters.items()}
    if association.calendar_names:
        extras["CalendarNames"] = list(association.calendar_names)
    if association.alarm_names:
        extras["AlarmConfiguration"] = {
            "IgnorePollAlarmFailure": False,
            "Alarms": [{"Name": name} for name in association.alarm_names[:1]],
        }
    if association.dispatch_role:
        extras["AssociationDispatchAssumeRole"] = association.dispatch_role
    if association.output_bucket:
        extras["OutputLocation"] = {"S3Location": {"OutputS3BucketName": association.output_bucket}}
    if association.max_concurrency:
        extras["MaxConcurrency"] = association.max_concurrency
    if association.max_errors:
        extras["MaxErrors"] = association.max_errors
    return extras


def describe_association_executions(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    with fleet.lock:
        association = _association(fleet, caller, params.get("AssociationId"))
        executions = list(association.executions)
        for flt in params.get("Filters") or []:
            if flt["Key"] == "Status" and flt["Type"] == "EQUAL":
                executions = [e for e in executions if e.status == flt["Value"]]
            elif flt["Key"] == "ExecutionId":
                executions = [e for e in executions if e.execution_id == flt["Value"]]
            elif flt["Key"] == "CreatedTime":
                executions = _created(executions, flt["Type"], flt["Value"])
        page, token = _page(executions, params, 50, 50)
        items = [_execution_item(association, e) for e in page]
        return _with_token({"AssociationExecutions": items}, token)


def _created(executions: list[SimExecution], kind: str, value: str) -> list[SimExecution]:
    """The CreatedTime filter: its value is an ISO-8601 time (e.g. 2019-06-13T16:59:14Z)."""
    moment = _timestamp(value)
    if kind == "GREATER_THAN":
        return [e for e in executions if e.created_at > moment]
    if kind == "LESS_THAN":
        return [e for e in executions if e.created_at < moment]
    return [e for e in executions if e.created_at == moment]


def _execution_item(association: SimAssociation, e: SimExecution) -> dict[str, Any]:
    item: dict[str, Any] = {
        "AssociationId": association.association_id,
        "AssociationVersion": e.association_version,
        "ExecutionId": e.execution_id,
        "Status": e.status,
        "DetailedStatus": e.status,
        "CreatedTime": e.created_at,
        "LastExecutionDate": e.created_at,
        "ResourceCountByStatus": _resource_count(e),
    }
    if association.alarm_names:
        item["AlarmConfiguration"] = {
            "IgnorePollAlarmFailure": False,
            "Alarms": [{"Name": name} for name in association.alarm_names[:1]],
        }
    if e.triggered_alarms and e.finished:
        item["TriggeredAlarms"] = [{"Name": e.triggered_alarms[0], "State": "ALARM"}]
    return item


def describe_association_execution_targets(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    with fleet.lock:
        association = _association(fleet, caller, params.get("AssociationId"))
        execution = _execution(association, params.get("ExecutionId"))
        rows: list[tuple[str, str, str]] = []
        for instance_id in execution.instance_ids:
            failure = execution.failures.get(instance_id) if execution.finished else None
            status = execution.target_status(instance_id)
            rows.append((instance_id, status, failure.detailed_status if failure else status))
        for flt in params.get("Filters") or []:
            if flt["Key"] == "Status":
                rows = [r for r in rows if r[1] == flt["Value"]]
            elif flt["Key"] == "ResourceId":
                rows = [r for r in rows if r[0] == flt["Value"]]
        page, token = _page(rows, params, 50, 50)
        items = [
            {
                "AssociationId": association.association_id,
                "AssociationVersion": execution.association_version,
                "ExecutionId": execution.execution_id,
                "ResourceId": instance_id,
                "ResourceType": "ManagedInstance",
                "Status": status,
                "DetailedStatus": detailed,
                "LastExecutionDate": execution.created_at,
                "OutputSource": {
                    "OutputSourceId": execution.command_id,
                    "OutputSourceType": "RunCommand",
                },
            }
            for instance_id, status, detailed in page
        ]
        return _with_token({"AssociationExecutionTargets": items}, token)


def describe_instance_associations_status(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    with fleet.lock:
        scope = _scope(fleet, caller)
        instance_id = params.get("InstanceId")
        if instance_id not in scope.instances:
            raise ApiError("InvalidInstanceId", "The following supplied instance ids are not valid")
        infos: list[dict[str, Any]] = []
        for association in scope.associations_of(instance_id):
            latest = association.latest
            if latest is None:
                continue
            failure = latest.failures.get(instance_id)
            info: dict[str, Any] = {
                "AssociationId": association.association_id,
                "Name": association.document,
                "DocumentVersion": association.document_version,
                "AssociationVersion": latest.association_version,
                "InstanceId": instance_id,
                "ExecutionDate": latest.created_at,
                "Status": failure.status if failure else "Success",
                "DetailedStatus": failure.detailed_status if failure else "Success",
                "ExecutionSummary": failure.summary
                if failure
                else "1 out of 1 plugin processed, 1 success, 0 failed, 0 timedout, 0 skipped. ",
                "OutputUrl": {
                    "S3OutputUrl": {
                        "OutputUrl": f"https://s3.{caller.region}.amazonaws.com/ssm-output-{scope.account_id}/"
                        f"{latest.command_id}/{instance_id}/awsrunShellScript/0.awsrunShellScript/stderr"
                    }
                },
            }
            if failure and failure.error_code:
                info["ErrorCode"] = failure.error_code
            if association.name:
                info["AssociationName"] = association.name
            infos.append(info)
        page, token = _page(infos, params, 50, 50)
        return _with_token({"InstanceAssociationStatusInfos": page}, token)


def describe_instance_information(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    with fleet.lock:
        scope = _scope(fleet, caller)
        wanted: set[str] | None = None
        for flt in params.get("InstanceInformationFilterList") or []:
            if flt["key"] == "InstanceIds":
                wanted = set(flt["valueSet"])
        for flt in params.get("Filters") or []:
            if flt["Key"] == "InstanceIds":
                wanted = set(flt["Values"])
        instances = [
            i for i in scope.instances.values() if wanted is None or i.instance_id in wanted
        ]
        page, token = _page(instances, params, 10, 50)
        items = []
        for instance in page:
            statuses = [
                "Failed" if a.latest and instance.instance_id in a.latest.failures else "Success"
                for a in scope.associations_of(instance.instance_id)
            ]
            items.append(
                {
                    "InstanceId": instance.instance_id,
                    "PingStatus": instance.ping_status,
                    "LastPingDateTime": instance.last_ping,
                    "AgentVersion": instance.agent_version,
                    "IsLatestVersion": instance.agent_version == LATEST_AGENT_VERSION,
                    "PlatformType": instance.platform,
                    "PlatformName": instance.platform_name,
                    "ResourceType": "EC2Instance",
                    "ComputerName": instance.computer_name,
                    "AssociationStatus": "Failed" if "Failed" in statuses else "Success",
                    "SourceId": instance.instance_id,
                    "SourceType": "AWS::EC2::Instance",
                    **({"IamRole": instance.iam_role} if instance.iam_role else {}),
                }
            )
        return _with_token({"InstanceInformationList": items}, token)


def get_command_invocation(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    with fleet.lock:
        scope = _scope(fleet, caller)
        command_id, instance_id = str(params.get("CommandId")), str(params.get("InstanceId"))
        command = scope.commands.get(command_id)
        if command is not None and instance_id in command.instance_ids:
            return _sent_invocation(command, instance_id)
        for association in scope.associations.values():
            for execution in association.executions:
                if execution.command_id == command_id and instance_id in execution.instance_ids:
                    failure = execution.failures.get(instance_id) if execution.finished else None
                    status = execution.target_status(instance_id)
                    stderr = (
                        stderr_of(failure, scope.account_id, scope.instances.get(instance_id))
                        if failure
                        else ""
                    )
                    return {
                        "CommandId": command_id,
                        "InstanceId": instance_id,
                        "DocumentName": association.document,
                        "DocumentVersion": "1",
                        "PluginName": "runShellScript",
                        "ResponseCode": 0 if failure is None else _exit_code(failure.error_code),
                        "ExecutionStartDateTime": execution.created_at.strftime(
                            "%Y-%m-%dT%H:%M:%SZ"
                        ),
                        "Status": status,
                        "StatusDetails": failure.detailed_status if failure else status,
                        "StandardOutputContent": "",
                        "StandardErrorContent": stderr[:8000],  # AWS keeps the first 8,000
                    }
        raise ApiError("InvocationDoesNotExist", "An error occurred (InvocationDoesNotExist)")


def _sent_invocation(command: SimCommand, instance_id: str) -> dict[str, Any]:
    result = command.result(instance_id)
    return {
        "CommandId": command.command_id,
        "InstanceId": instance_id,
        "Comment": command.comment,
        "DocumentName": command.document,
        "DocumentVersion": "1",
        "PluginName": "aws:runShellScript",
        "ResponseCode": result.response_code,
        "ExecutionStartDateTime": command.requested_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Status": result.status,
        "StatusDetails": result.status_details,
        "StandardOutputContent": result.stdout[:24000],
        "StandardErrorContent": result.stderr[:8000],
    }


def _exit_code(code: str) -> int:
    try:
        return int(code)
    except ValueError:
        return -1


_SUMMARY_FILTER_KEYS = frozenset(
    {"ComplianceType", "Status", "ResourceId", "ResourceType", "OverallSeverity"}
)
_ITEM_FILTER_KEYS = frozenset({"ComplianceType", "Status", "Severity", "Id", "ExecutionId"})


def _matcher(
    filters: Sequence[Mapping[str, Any]], keys: frozenset[str]
) -> Callable[[Mapping[str, Any]], bool]:
    """ComplianceStringFilters, ANDed: EQUAL (any value), NOT_EQUAL (no value), BEGIN_WITH."""
    checks: list[tuple[str, str, list[str]]] = []
    for flt in filters:
        key, kind = str(flt.get("Key", "")), str(flt.get("Type") or "EQUAL")
        values = [str(v) for v in flt.get("Values") or []]
        if key not in keys:
            raise ApiError("InvalidFilter", f"The filter key {key!r} is not valid here.")
        if kind not in {"EQUAL", "NOT_EQUAL", "BEGIN_WITH"}:
            raise ApiError("InvalidFilter", f"The simulator does not support filter type {kind}.")
        if not values:
            raise ApiError("InvalidFilter", f"The filter {key} has no values.")
        checks.append((key, kind, values))

    def matches(row: Mapping[str, Any]) -> bool:
        for key, kind, values in checks:
            value = str(row.get(key, ""))
            if kind == "EQUAL" and value not in values:
                return False
            if kind == "NOT_EQUAL" and value in values:
                return False
            if kind == "BEGIN_WITH" and not any(value.startswith(v) for v in values):
                return False
        return True

    return matches


def _severity_counts(items: Sequence[ComplianceItem]) -> dict[str, int]:
    counts = Counter(item.severity for item in items)
    return {f"{severity.title()}Count": counts.get(severity, 0) for severity in SEVERITIES}


def _summary(resource_id: str, kind: str, items: Sequence[ComplianceItem]) -> dict[str, Any]:
    bad = [item for item in items if item.status == "NON_COMPLIANT"]
    good = [item for item in items if item.status == "COMPLIANT"]
    worst = min((SEVERITIES.index(item.severity) for item in bad), default=len(SEVERITIES) - 1)
    return {
        "ComplianceType": kind,
        "ResourceType": items[0].resource_type,
        "ResourceId": resource_id,
        "Status": "NON_COMPLIANT" if bad else "COMPLIANT",
        "OverallSeverity": SEVERITIES[worst],
        "ExecutionSummary": {"ExecutionTime": max(item.execution_time for item in items)},
        "CompliantSummary": {
            "CompliantCount": len(good),
            "SeveritySummary": _severity_counts(good),
        },
        "NonCompliantSummary": {
            "NonCompliantCount": len(bad),
            "SeveritySummary": _severity_counts(bad),
        },
    }


def list_resource_compliance_summaries(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    """One summary per resource and compliance type that has items (derived and explicit)."""
    matches = _matcher(params.get("Filters") or [], _SUMMARY_FILTER_KEYS)
    with fleet.lock:
        summaries = [
            _summary(resource_id, kind, items)
            for resource_id, kinds in _scope(fleet, caller).compliance_by_resource().items()
            for kind, items in kinds.items()
        ]
    page, token = _page([s for s in summaries if matches(s)], params, 50, 50)
    return _with_token({"ResourceComplianceSummaryItems": page}, token)


def list_compliance_items(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    resource_ids = list(params.get("ResourceIds") or [])
    if len(resource_ids) != 1:
        raise ApiError(
            "InvalidResourceId",
            f"ResourceIds holds {len(resource_ids)} IDs: currently, you can only specify one "
            "resource ID.",
        )
    resource_types = list(params.get("ResourceTypes") or ["ManagedInstance"])
    if resource_types != ["ManagedInstance"]:
        raise ApiError(
            "InvalidResourceType", "The only supported resource type is ManagedInstance."
        )
    matches = _matcher(params.get("Filters") or [], _ITEM_FILTER_KEYS)
    with fleet.lock:
        kinds = _scope(fleet, caller).compliance_by_resource().get(resource_ids[0], {})
        items = [item.to_api() for found in kinds.values() for item in found]
    rows = [
        item
        for item in items
        if matches({**item, "ExecutionId": item["ExecutionSummary"].get("ExecutionId", "")})
    ]
    page, token = _page(rows, params, 10, 50)
    return _with_token({"ComplianceItems": page}, token)


def _timestamp(value: Any) -> datetime:
    """A timestamp as boto3 sends it over JSON 1.1 (epoch seconds), or ISO-8601."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ApiError("ValidationException", f"Invalid timestamp {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def put_compliance_items(fleet: Fleet, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
    if params.get("ResourceType") != "ManagedInstance":
        raise ApiError(
            "InvalidResourceType", "The only supported resource type is ManagedInstance."
        )
    resource_id = str(params.get("ResourceId") or "")
    compliance_type = str(params.get("ComplianceType") or "")
    if not _COMPLIANCE_TYPE.fullmatch(compliance_type):
        raise ApiError("ValidationException", f"Invalid ComplianceType {compliance_type!r}")
    summary = params.get("ExecutionSummary") or {}
    if "ExecutionTime" not in summary:
        raise ApiError("ValidationException", "ExecutionSummary.ExecutionTime is required")
    when = _timestamp(summary["ExecutionTime"])
    upload = params.get("UploadType") or "COMPLETE"
    entries = list(params.get("Items") or [])
    if len(entries) > 10000:
        raise ApiError("ItemSizeLimitExceededException", "At most 10,000 items per call.")
    items: list[ComplianceItem] = []
    for entry in entries:
        severity, status = entry.get("Severity"), entry.get("Status")
        if severity not in SEVERITIES or status not in ("COMPLIANT", "NON_COMPLIANT"):
            raise ApiError("InvalidItemContentException", "Each item needs Severity and Status.")
        if upload == "PARTIAL" and not entry.get("Id"):
            raise ApiError("InvalidItemContentException", "PARTIAL uploads need an Id per item.")
        items.append(
            ComplianceItem(
                resource_id=resource_id,
                compliance_type=compliance_type,
                item_id=str(entry.get("Id") or ""),
                title=str(entry.get("Title") or ""),
                status=status,
                severity=severity,
                execution_time=when,
                execution_id=summary.get("ExecutionId"),
                execution_type=summary.get("ExecutionType"),
                details={str(k): str(v) for k, v in (entry.get("Details") or {}).items()},
            )
        )
    with fleet.lock:
        scope = _scope(fleet, caller)
        if resource_id not in scope.instances:
            raise ApiError(
                "InvalidResourceId",
                "The resource ID is not valid. Verify that you entered the correct ID and try "
                "again.",
            )
        scope.put_items(
            resource_id,
            compliance_type,
            items,
            upload_type="PARTIAL" if upload == "PARTIAL" else "COMPLETE",
        )
    return {}


_COMPLIANCE_TYPE = re.compile(r"([A-Za-z0-9_\-]\w+|Custom:[a-zA-Z0-9_\-]\w+)")


def start_associations_once(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    ids = list(params.get("AssociationIds") or [])
    if not 1 <= len(ids) <= 10:
        raise ApiError("ValidationException", "AssociationIds must hold 1 to 10 IDs")
    with fleet.lock:
        for association_id in ids:
            _association(fleet, caller, association_id)
        scope = _scope(fleet, caller)
        for association_id in ids:  # see bot.sim.runs: what a new run repeats or clears
            start_run(fleet, scope, scope.associations[association_id])
    return {}


# -- STS -------------------------------------------------------------------------------------------


def get_caller_identity(fleet: Fleet, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "UserId": caller.credential.access_key_id,
        "Account": caller.account_id,
        "Arn": caller.credential.arn,
    }


def assume_role(fleet: Fleet, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
    role_arn = str(params.get("RoleArn", ""))
    session_name = str(params.get("RoleSessionName", "session"))
    try:
        issued = fleet.assume_role(caller.credential, role_arn, session_name)
    except PermissionError as exc:
        raise ApiError("AccessDenied", str(exc), 403) from None
    assert issued.session_token is not None
    assert issued.expires_at is not None
    return {
        "Credentials": {
            "AccessKeyId": issued.access_key_id,
            "SecretAccessKey": issued.secret_access_key,
            "SessionToken": issued.session_token,
            "Expiration": issued.expires_at,
        },
        "AssumedRoleUser": {
            "AssumedRoleId": f"AROA{issued.access_key_id[4:]}:{session_name}",
            "Arn": issued.arn,
        },
        "PackedPolicySize": 0,
    }


# -- Organizations ---------------------------------------------------------------------------------


def list_accounts(fleet: Fleet, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
    if caller.account_id != fleet.caller_account:
        raise ApiError(
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        )
    with fleet.lock:
        accounts = list(fleet.accounts.values())
        page, token = _page(accounts, params, 20, 20)
        joined = datetime(2021, 3, 1, tzinfo=fleet.now().tzinfo)
        items = [
            {
                "Id": a.account_id,
                "Arn": f"arn:aws:organizations::{fleet.caller_account}:account/o-ssm3sim0001/{a.account_id}",
                "Email": f"aws+{a.name}@example.com",
                "Name": a.name,
                "State": a.state,  # Status was retired on 2026-09-09: State only
                "JoinedMethod": "CREATED",
                "JoinedTimestamp": joined,
            }
            for a in page
        ]
        return _with_token({"Accounts": items}, token)


# -- Security Hub and AWS Config (what `doctor` reads about SSM.3's evaluation) ----------------------

_FSBP = "standards/aws-foundational-security-best-practices/v/1.0.0"


def list_standards_control_associations(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    control = params.get("SecurityControlId")
    with fleet.lock:
        status = _scope(fleet, caller).ssm3_control
    if status is None:
        raise ApiError(
            "InvalidAccessException",
            f"Account {caller.account_id} is not subscribed to AWS Security Hub",
            401,
        )
    if control != "SSM.3":
        raise ApiError("InvalidInputException", f"Control {control} is not a security control.")
    region, account = caller.region, caller.account_id
    summaries = [
        {
            "StandardsArn": f"arn:aws:securityhub:{region}::{_FSBP}",
            "SecurityControlId": "SSM.3",
            "SecurityControlArn": f"arn:aws:securityhub:{region}:{account}:security-control/SSM.3",
            "AssociationStatus": status,
            "RelatedRequirements": [],
            "StandardsControlTitle": "Amazon EC2 instances managed by Systems Manager should "
            "have an association compliance status of COMPLIANT",
        }
    ]
    page, token = _page(summaries, params, 25, 100)
    return _with_token({"StandardsControlAssociationSummaries": page}, token)


def describe_configuration_recorder_status(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    with fleet.lock:
        recording = _scope(fleet, caller).config_recording
    if recording is None:
        return {"ConfigurationRecordersStatus": []}
    changed = fleet.now().replace(microsecond=0)
    return {
        "ConfigurationRecordersStatus": [
            {
                "arn": f"arn:aws:config:{caller.region}:{caller.account_id}:"
                "configuration-recorder/default/ssm3sim",
                "name": "default",
                "recording": recording,
                "lastStatus": "Success" if recording else "NotApplicable",
                "lastStartTime": changed,
                "lastStatusChangeTime": changed,
            }
        ]
    }


def describe_configuration_recorders(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    with fleet.lock:
        scope = _scope(fleet, caller)
        recording, types = scope.config_recording, scope.config_resource_types
    names = list(params.get("ConfigurationRecorderNames") or [])
    if recording is None or any(name != "default" for name in names):
        if names:
            missing = next(name for name in names if recording is None or name != "default")
            raise ApiError(
                "NoSuchConfigurationRecorderException",
                f"Cannot find configuration recorder with the specified name '{missing}'.",
            )
        return {"ConfigurationRecorders": []}
    group: dict[str, Any] = {
        "allSupported": types is None,
        "includeGlobalResourceTypes": False,
        "resourceTypes": [] if types is None else sorted(types),
        "exclusionByResourceTypes": {"resourceTypes": []},
        "recordingStrategy": {
            "useOnly": "ALL_SUPPORTED_RESOURCE_TYPES"
            if types is None
            else "INCLUSION_BY_RESOURCE_TYPES"
        },
    }
    return {
        "ConfigurationRecorders": [
            {
                "arn": f"arn:aws:config:{caller.region}:{caller.account_id}:"
                "configuration-recorder/default/ssm3sim",
                "name": "default",
                "roleARN": f"arn:aws:iam::{caller.account_id}:role/aws-service-role/"
                "config.amazonaws.com/AWSServiceRoleForConfig",
                "recordingGroup": group,
                "recordingMode": {"recordingFrequency": "CONTINUOUS", "recordingModeOverrides": []},
                "recordingScope": "PAID",
            }
        ]
    }


# -- Security Hub findings -------------------------------------------------------------------------

_WORKFLOW_STATE = {"NEW": "NEW", "NOTIFIED": "ASSIGNED", "SUPPRESSED": "DEFERRED"}
_FINDING_FIELDS: dict[str, Callable[[SimFinding], str]] = {
    "Id": lambda f: f.finding_id,
    "ProductArn": lambda f: _product_arn(f.region),
    "AwsAccountId": lambda f: f.account_id,
    "Region": lambda f: f.region,
    "GeneratorId": lambda f: "security-control/SSM.3",
    "Title": lambda f: SSM3_TITLE,
    "ComplianceSecurityControlId": lambda f: "SSM.3",
    "ComplianceStatus": lambda f: f.compliance_status,
    "RecordState": lambda f: f.record_state,
    "WorkflowStatus": lambda f: f.workflow_status,
    "NoteUpdatedBy": lambda f: str((f.note or {}).get("UpdatedBy", "")),
    "WorkflowState": lambda f: _WORKFLOW_STATE.get(f.workflow_status, "RESOLVED"),
    "ResourceId": lambda f: f.resource_arn,
    "ResourceType": lambda f: _resource_type(f.resource_arn),
    "SeverityLabel": lambda f: "LOW",
    "ProductName": lambda f: "Security Hub",
    "CompanyName": lambda f: "AWS",
}


def _product_arn(region: str) -> str:
    return f"arn:aws:securityhub:{region}::product/aws/securityhub"


def _resource_type(arn: str) -> str:
    return "AwsEc2Instance" if ":ec2:" in arn else "Other"


def _iso(value: datetime) -> str:
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def _finding_filter(filters: Mapping[str, Any]) -> Callable[[SimFinding], bool]:
    """StringFilters: EQUALS and PREFIX values of one key ORed, NOT_EQUALS and
    PREFIX_NOT_EQUALS ANDed with them; keys ANDed."""
    checks: list[tuple[Callable[[SimFinding], str], list[str], list[str], list[str], list[str]]]
    checks = []
    for key, entries in filters.items():
        if not entries:
            continue
        getter = _FINDING_FIELDS.get(key)
        if getter is None:
            raise ApiError("InvalidInputException", f"The simulator does not filter on {key}.")
        by: dict[str, list[str]] = {}
        for entry in entries:
            comparison = str(entry.get("Comparison") or "")
            if comparison not in {"EQUALS", "PREFIX", "NOT_EQUALS", "PREFIX_NOT_EQUALS"}:
                raise ApiError(
                    "InvalidInputException",
                    f"The simulator does not support Comparison {comparison!r} ({key}).",
                )
            by.setdefault(comparison, []).append(str(entry.get("Value", "")))
        checks.append(
            (
                getter,
                by.get("EQUALS", []),
                by.get("PREFIX", []),
                by.get("NOT_EQUALS", []),
                by.get("PREFIX_NOT_EQUALS", []),
            )
        )

    def matches(finding: SimFinding) -> bool:
        for getter, equals, prefixes, not_equals, not_prefixes in checks:
            value = getter(finding)
            if (equals or prefixes) and not (
                value in equals or any(value.startswith(p) for p in prefixes)
            ):
                return False
            if value in not_equals or any(value.startswith(p) for p in not_prefixes):
                return False
        return True

    return matches


def _finding(finding: SimFinding) -> dict[str, Any]:
    region, account = finding.region, finding.account_id
    passed = finding.compliance_status == "PASSED"
    types = ["Software and Configuration Checks/Industry and Regulatory Standards"]
    item: dict[str, Any] = {
        "SchemaVersion": "2018-10-08",
        "Id": finding.finding_id,
        "ProductArn": _product_arn(region),
        "ProductName": "Security Hub",
        "CompanyName": "AWS",
        "Region": region,
        "GeneratorId": "security-control/SSM.3",
        "AwsAccountId": account,
        "Types": types,
        "FirstObservedAt": _iso(finding.created_at),
        "LastObservedAt": _iso(finding.last_observed_at),
        "CreatedAt": _iso(finding.created_at),
        "UpdatedAt": _iso(finding.updated_at),
        "Severity": {"Label": "LOW", "Normalized": 1, "Original": "LOW"},
        "Title": SSM3_TITLE,
        "Description": "This control checks whether the compliance status of the AWS Systems "
        "Manager association compliance is COMPLIANT or NON_COMPLIANT after the association is "
        "run on an instance. The control fails if the association compliance status is "
        "NON_COMPLIANT.",
        "Remediation": {
            "Recommendation": {
                "Text": "For information on how to correct this issue, consult the AWS Security "
                "Hub controls documentation.",
                "Url": "https://docs.aws.amazon.com/console/securityhub/SSM.3/remediation",
            }
        },
        "ProductFields": {
            "RelatedAWSResources:0/name": "securityhub-ec2-managedinstance-association-"
            "compliance-status-check-ssm3sim",
            "RelatedAWSResources:0/type": "AWS::Config::ConfigRule",
            "aws/securityhub/ProductName": "Security Hub",
            "aws/securityhub/CompanyName": "AWS",
            "aws/securityhub/FindingId": finding.finding_id,
        },
        "Resources": [
            {
                "Type": _resource_type(finding.resource_arn),
                "Id": finding.resource_arn,
                "Partition": "aws",
                "Region": region,
            }
        ],
        "Compliance": {
            "Status": finding.compliance_status,
            "SecurityControlId": "SSM.3",
            "AssociatedStandards": [{"StandardsId": _FSBP}],
        },
        "WorkflowState": _WORKFLOW_STATE.get(finding.workflow_status, "RESOLVED"),
        "Workflow": {"Status": finding.workflow_status},
        "RecordState": finding.record_state,
        "FindingProviderFields": {"Severity": {"Label": "LOW", "Original": "LOW"}, "Types": types},
        "ProcessedAt": _iso(finding.updated_at),
    }
    if passed:
        item["Severity"] = {"Label": "INFORMATIONAL", "Normalized": 0, "Original": "LOW"}
    if finding.note:
        item["Note"] = dict(finding.note)
    if finding.user_defined_fields:
        item["UserDefinedFields"] = dict(finding.user_defined_fields)
    return item


def get_findings(fleet: Fleet, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
    """Security Hub's SSM.3 findings as the caller may see them: the administrator (the fleet's
    caller account) sees every account, and in the aggregation home region every region; any
    other account sees its own."""
    if params.get("SortCriteria"):
        raise ApiError("InvalidInputException", "The simulator does not sort findings.")
    matches = _finding_filter(params.get("Filters") or {})
    with fleet.lock:
        if _scope(fleet, caller).ssm3_control is None or not fleet.cspm_api:
            raise ApiError(
                "InvalidAccessException",
                f"Account {caller.account_id} is not subscribed to AWS Security Hub",
                401,
            )
        # A query's first page brings the findings up to date; its later pages read the same
        # state (rebuilding them per page cost seconds a page for a large organisation).
        if not fleet.findings_frozen and not params.get("NextToken"):
            fleet.refresh_findings()
        every_region = caller.region == fleet.securityhub_home
        administrator = caller.account_id == fleet.caller_account
        visible = [
            f
            for f in fleet.findings.values()
            if (administrator or f.account_id == caller.account_id)
            and (every_region or f.region == caller.region)
            and matches(f)
        ]
        page, token = _page(visible, params, 100, 100)
        return _with_token({"Findings": [_finding(f) for f in page]}, token)


MAX_FINDINGS_UPDATED = 100  # BatchUpdateFindings: "up to 100 findings at a time"
NOTE_TEXT_MAX = 512


def batch_update_findings(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Update the customer fields of up to 100 findings the caller may see (the administrator:
    every account's, in the aggregation home region every region's). Each finding it updates
    emits a "Security Hub Findings - Imported" event, recorded in `fleet.imported_events`;
    findings it cannot update come back in UnprocessedFindings, as AWS sends them."""
    identifiers = list(params.get("FindingIdentifiers") or [])
    if not 1 <= len(identifiers) <= MAX_FINDINGS_UPDATED:
        raise ApiError(
            "InvalidInputException",
            f"FindingIdentifiers holds {len(identifiers)} findings; a request may update 1 to "
            f"{MAX_FINDINGS_UPDATED}.",
        )
    note = params.get("Note")
    if note is not None and not 1 <= len(str(note.get("Text") or "")) <= NOTE_TEXT_MAX:
        raise ApiError(
            "InvalidInputException", f"Note.Text must be 1 to {NOTE_TEXT_MAX} characters."
        )
    status = (params.get("Workflow") or {}).get("Status")
    if status is not None and status not in WORKFLOW_STATUSES:
        raise ApiError("InvalidInputException", f"Workflow.Status {status!r} is not valid.")
    fields = {str(k): str(v) for k, v in (params.get("UserDefinedFields") or {}).items()}
    with fleet.lock:
        if _scope(fleet, caller).ssm3_control is None or not fleet.cspm_api:
            raise ApiError(
                "InvalidAccessException",
                f"Account {caller.account_id} is not subscribed to AWS Security Hub",
                401,
            )
        every_region = caller.region == fleet.securityhub_home
        administrator = caller.account_id == fleet.caller_account
        now = fleet.now()
        processed: list[dict[str, str]] = []
        unprocessed: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()

        def refuse(ident: dict[str, str], code: str, message: str) -> None:
            unprocessed.append(
                {"FindingIdentifier": ident, "ErrorCode": code, "ErrorMessage": message}
            )

        for entry in identifiers:
            ident = {"Id": str(entry.get("Id", "")), "ProductArn": str(entry.get("ProductArn", ""))}
            finding = fleet.findings.get(ident["Id"])
            if (ident["Id"], ident["ProductArn"]) in seen:
                refuse(ident, "DuplicatedFindingIdentifier", "Finding Identifier is duplicated")
                continue
            seen.add((ident["Id"], ident["ProductArn"]))
            if (
                finding is None
                or ident["ProductArn"] != _product_arn(finding.region)
                or not (administrator or finding.account_id == caller.account_id)
                or not (every_region or finding.region == caller.region)
            ):
                refuse(ident, "FindingNotFound", "Finding Not Found")
                continue
            rejection = fleet.take_rejection(finding.finding_id)
            if rejection is not None:
                refuse(ident, rejection.error_code, rejection.message)
                continue
            if status is not None:
                finding.workflow_status = status
            if note is not None:
                finding.note = {
                    "Text": str(note["Text"]),
                    "UpdatedBy": str(note.get("UpdatedBy", "")),
                    "UpdatedAt": _iso(now),
                }
            finding.user_defined_fields.update(fields)
            processed.append(ident)
            fleet.imported_events.append(_imported_event(finding, caller, now))
        return {"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}


def _imported_event(finding: SimFinding, caller: Caller, now: datetime) -> dict[str, Any]:
    """EventBridge's envelope of one "Security Hub Findings - Imported" event, where the update
    was made (the finding's own account and region are in the finding)."""
    return envelope(
        "Security Hub Findings - Imported",
        source="aws.securityhub",
        account=caller.account_id,
        region=caller.region,
        resources=[finding.finding_id],
        detail={"findings": [_finding(finding)]},
        at=now,
    )


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ssm", "ListAssociations"): list_associations,
    ("ssm", "DescribeAssociation"): describe_association,
    ("ssm", "DescribeAssociationExecutions"): describe_association_executions,
    ("ssm", "DescribeAssociationExecutionTargets"): describe_association_execution_targets,
    ("ssm", "DescribeInstanceAssociationsStatus"): describe_instance_associations_status,
    ("ssm", "DescribeInstanceInformation"): describe_instance_information,
    ("ssm", "GetCommandInvocation"): get_command_invocation,
    ("ssm", "ListResourceComplianceSummaries"): list_resource_compliance_summaries,
    ("ssm", "ListComplianceItems"): list_compliance_items,
    ("ssm", "PutComplianceItems"): put_compliance_items,
    ("ssm", "StartAssociationsOnce"): start_associations_once,
    ("sts", "GetCallerIdentity"): get_caller_identity,
    ("sts", "AssumeRole"): assume_role,
    ("organizations", "ListAccounts"): list_accounts,
    ("securityhub", "ListStandardsControlAssociations"): list_standards_control_associations,
    ("config", "DescribeConfigurationRecorderStatus"): describe_configuration_recorder_status,
    ("config", "DescribeConfigurationRecorders"): describe_configuration_recorders,
    ("securityhub", "GetFindings"): get_findings,
    ("securityhub", "BatchUpdateFindings"): batch_update_findings,
}
