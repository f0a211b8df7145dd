"""The simulated operations: each turns request parameters into a response dict for one API.

Responses are plain dicts shaped like botocore's output shapes (datetimes stay datetimes;
the server serialises them per protocol). Errors are raised as `ApiError`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from bot.sim.fleet import Credential, Fleet, SimAssociation, SimExecution, SimScope

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
    latest = association.latest
    if latest is None:
        return {
            "Status": "Pending",
            "DetailedStatus": "Associated",
            "AssociationStatusAggregatedCount": {},
        }
    return {
        "Status": latest.status,
        "DetailedStatus": latest.status,
        "AssociationStatusAggregatedCount": latest.counts(),
    }


def _association_item(association: SimAssociation) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Name": association.document,
        "AssociationId": association.association_id,
        "AssociationVersion": "1",
        "DocumentVersion": "$DEFAULT",
        "Targets": [{"Key": association.target_key, "Values": [association.target_value]}],
        "Overview": _overview(association),
        "ScheduleExpression": association.schedule,
    }
    if association.name:
        item["AssociationName"] = association.name
    if association.latest:
        item["LastExecutionDate"] = association.latest.created_at
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
                associations = [a for a in associations if a.status == value]
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
            "LastUpdateAssociationDate": association.created_at,
            "Overview": _overview(association),
            "SyncCompliance": association.sync_compliance,
            "ApplyOnlyAtCronInterval": False,
        }
        if association.latest and not association.latest.failures:
            description["LastSuccessfulExecutionDate"] = association.latest.created_at
        return {"AssociationDescription": description}


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
        page, token = _page(executions, params, 50, 50)
        items = [
            {
                "AssociationId": association.association_id,
                "AssociationVersion": e.association_version,
                "ExecutionId": e.execution_id,
                "Status": e.status,
                "DetailedStatus": e.status,
                "CreatedTime": e.created_at,
                "LastExecutionDate": e.created_at,
                "ResourceCountByStatus": _resource_count(e),
            }
            for e in page
        ]
        return _with_token({"AssociationExecutions": items}, token)


def describe_association_execution_targets(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    with fleet.lock:
        association = _association(fleet, caller, params.get("AssociationId"))
        execution = _execution(association, params.get("ExecutionId"))
        rows: list[tuple[str, str, str]] = []
        for instance_id in execution.instance_ids:
            failure = execution.failures.get(instance_id)
            status = "Failed" if failure else "Success"
            rows.append((instance_id, status, failure.detailed_status if failure else "Success"))
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
                "DocumentVersion": "$DEFAULT",
                "AssociationVersion": "1",
                "InstanceId": instance_id,
                "ExecutionDate": latest.created_at,
                "Status": "Failed" if failure else "Success",
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
                    "IsLatestVersion": instance.agent_version == "3.3.1345.0",
                    "PlatformType": instance.platform,
                    "PlatformName": instance.platform_name,
                    "ResourceType": "EC2Instance",
                    "ComputerName": instance.computer_name,
                    "AssociationStatus": "Failed" if "Failed" in statuses else "Success",
                    "SourceId": instance.instance_id,
                    "SourceType": "AWS::EC2::Instance",
                }
            )
        return _with_token({"InstanceInformationList": items}, token)


def get_command_invocation(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    with fleet.lock:
        scope = _scope(fleet, caller)
        command_id, instance_id = str(params.get("CommandId")), str(params.get("InstanceId"))
        for association in scope.associations.values():
            for execution in association.executions:
                if execution.command_id == command_id and instance_id in execution.instance_ids:
                    failure = execution.failures.get(instance_id)
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
                        "Status": "Failed" if failure else "Success",
                        "StatusDetails": failure.detailed_status if failure else "Success",
                        "StandardOutputContent": "",
                        "StandardErrorContent": failure.stderr if failure else "",
                    }
        raise ApiError("InvocationDoesNotExist", "An error occurred (InvocationDoesNotExist)")


def _exit_code(code: str) -> int:
    try:
        return int(code)
    except ValueError:
        return -1


def list_resource_compliance_summaries(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    with fleet.lock:
        scope = _scope(fleet, caller)
        wanted_status = None
        for flt in params.get("Filters") or []:
            if flt["Key"] == "Status":
                wanted_status = flt["Values"][0]
        items = []
        for instance in scope.instances.values():
            associations = [a for a in scope.associations_of(instance.instance_id) if a.latest]
            if not associations:
                continue
            failed = sum(
                1 for a in associations if a.latest and instance.instance_id in a.latest.failures
            )
            status = "NON_COMPLIANT" if failed else "COMPLIANT"
            if wanted_status and status != wanted_status:
                continue
            latest_at = max(a.latest.created_at for a in associations if a.latest)
            items.append(
                {
                    "ComplianceType": "Association",
                    "ResourceType": "ManagedInstance",
                    "ResourceId": instance.instance_id,
                    "Status": status,
                    "OverallSeverity": "UNSPECIFIED",
                    "ExecutionSummary": {"ExecutionTime": latest_at},
                    "CompliantSummary": {"CompliantCount": len(associations) - failed},
                    "NonCompliantSummary": {"NonCompliantCount": failed},
                }
            )
        page, token = _page(items, params, 50, 50)
        return _with_token({"ResourceComplianceSummaryItems": page}, token)


def start_associations_once(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    ids = list(params.get("AssociationIds") or [])
    if not 1 <= len(ids) <= 10:
        raise ApiError("ValidationException", "AssociationIds must hold 1 to 10 IDs")
    with fleet.lock:
        for association_id in ids:
            _association(fleet, caller, association_id)
        for association_id in ids:
            fleet.rerun(association_id)
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
                "Status": a.status,
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


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ssm", "ListAssociations"): list_associations,
    ("ssm", "DescribeAssociation"): describe_association,
    ("ssm", "DescribeAssociationExecutions"): describe_association_executions,
    ("ssm", "DescribeAssociationExecutionTargets"): describe_association_execution_targets,
    ("ssm", "DescribeInstanceAssociationsStatus"): describe_instance_associations_status,
    ("ssm", "DescribeInstanceInformation"): describe_instance_information,
    ("ssm", "GetCommandInvocation"): get_command_invocation,
    ("ssm", "ListResourceComplianceSummaries"): list_resource_compliance_summaries,
    ("ssm", "StartAssociationsOnce"): start_associations_once,
    ("sts", "GetCallerIdentity"): get_caller_identity,
    ("sts", "AssumeRole"): assume_role,
    ("organizations", "ListAccounts"): list_accounts,
    ("securityhub", "ListStandardsControlAssociations"): list_standards_control_associations,
    ("config", "DescribeConfigurationRecorderStatus"): describe_configuration_recorder_status,
}
