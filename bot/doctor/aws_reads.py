"""State Manager reads: try each read the sweep and history make once in one account-region,
as cheaply as the API allows (MaxResults=1, IDs taken from the listing), and judge what the
answers prove. An AccessDenied names the IAM action; any other answer from AWS, "not found"
included, proves the action is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.compliance import ASSOCIATION_NONCOMPLIANT
from bot.aws.errors import (
    DENIED,
    MEMBER_ROLE_STACK,
    NOT_ANSWERED,
    READONLY_POLICY,
    describe_error,
    error_code,
)
from bot.doctor.checks import WHERE, Finding

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

# Every State Manager read the sweep and history make, in the order doctor tries them.
SSM_READS = (
    "ListAssociations",
    "DescribeInstanceInformation",
    "DescribeAssociation",
    "DescribeAssociationExecutions",
    "DescribeAssociationExecutionTargets",
    "DescribeInstanceAssociationsStatus",
    "GetCommandInvocation",
    "ListResourceComplianceSummaries",
    "ListComplianceItems",
)
NEEDS_ASSOCIATION = (
    "DescribeAssociation",
    "DescribeAssociationExecutions",
    "DescribeAssociationExecutionTargets",
    "GetCommandInvocation",
)


class Unreachable(Exception):
    """The endpoint stopped answering: give up on this scope's remaining calls."""


@dataclass
class ReadProbe:
    """Which State Manager reads were allowed, denied or could not be tried in one scope."""

    allowed: list[str] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    unverifiable: dict[str, str] = field(default_factory=dict)
    unreachable: str | None = None

    def call(self, operation: str, make: Callable[[], Any]) -> Any:
        """The answer, or None when the call was refused (and record what that proves)."""
        try:
            answer = make()
        except ClientError as exc:
            code = error_code(exc)
            if code in DENIED:
                self.denied.append(operation)
            elif code in NOT_ANSWERED:
                self.failed[operation] = describe_error(exc)
            else:  # not found, invalid ID...: AWS checked the permission before the resource
                self.allowed.append(operation)
            return None
        except BotoCoreError as exc:
            self.unreachable = describe_error(exc)
            raise Unreachable from exc
        self.allowed.append(operation)
        return answer

    def cannot(self, operations: tuple[str, ...], reason: str) -> None:
        for operation in operations:
            self.unverifiable.setdefault(operation, reason)


def probe_state_manager(ssm: SSMClient, probe: ReadProbe) -> None:
    """Try each read once, feeding IDs from earlier answers into the calls that need them."""
    listing = probe.call("ListAssociations", lambda: ssm.list_associations(MaxResults=1))
    instances = probe.call(
        "DescribeInstanceInformation", lambda: ssm.describe_instance_information(MaxResults=5)
    )
    association_id = _first(listing, "Associations", "AssociationId")
    instance_id = _first(instances, "InstanceInformationList", "InstanceId")
    summaries = probe.call(
        "ListResourceComplianceSummaries",
        lambda: ssm.list_resource_compliance_summaries(
            Filters=ASSOCIATION_NONCOMPLIANT, MaxResults=1
        ),
    )
    if association_id is None:
        probe.cannot(NEEDS_ASSOCIATION, _why_missing(probe, "ListAssociations", "no associations"))
    else:
        probe.call(
            "DescribeAssociation", lambda: ssm.describe_association(AssociationId=association_id)
        )
        executions = probe.call(
            "DescribeAssociationExecutions",
            lambda: ssm.describe_association_executions(AssociationId=association_id, MaxResults=1),
        )
        execution_id = _first(executions, "AssociationExecutions", "ExecutionId")
        if execution_id is None:
            reason = _why_missing(probe, "DescribeAssociationExecutions", "no association has run")
            probe.cannot(("DescribeAssociationExecutionTargets", "GetCommandInvocation"), reason)
        else:
            targets = probe.call(
                "DescribeAssociationExecutionTargets",
                lambda: ssm.describe_association_execution_targets(
                    AssociationId=association_id, ExecutionId=execution_id, MaxResults=1
                ),
            )
            target: dict[str, Any] = next(
                iter((targets or {}).get("AssociationExecutionTargets", [])), {}
            )
            command_id = target.get("OutputSource", {}).get("OutputSourceId")
            instance_id = target.get("ResourceId") or instance_id
            if command_id and target.get("ResourceId"):
                probe.call(
                    "GetCommandInvocation",
                    lambda: ssm.get_command_invocation(
                        CommandId=command_id, InstanceId=target["ResourceId"]
                    ),
                )
            else:
                reason = _why_missing(
                    probe, "DescribeAssociationExecutionTargets", "no run with a command"
                )
                probe.cannot(("GetCommandInvocation",), reason)
    if instance_id is None:
        reason = _why_missing(probe, "DescribeInstanceInformation", "no managed instances")
        probe.cannot(("DescribeInstanceAssociationsStatus",), reason)
    else:
        probe.call(
            "DescribeInstanceAssociationsStatus",
            lambda: ssm.describe_instance_associations_status(InstanceId=instance_id, MaxResults=1),
        )
    resource_id = _first(summaries, "ResourceComplianceSummaryItems", "ResourceId") or instance_id
    if resource_id is None:
        reason = _why_missing(probe, "DescribeInstanceInformation", "no managed instances")
        probe.cannot(("ListComplianceItems",), reason)
    else:
        probe.call(
            "ListComplianceItems",
            lambda: ssm.list_compliance_items(
                ResourceIds=[resource_id], ResourceTypes=["ManagedInstance"], MaxResults=1
            ),
        )


def _why_missing(probe: ReadProbe, source: str, absent: str) -> str:
    """Why an ID was not at hand: the call that lists it failed (already reported), or the
    estate has none yet."""
    return f"needs ssm:{source}" if source not in probe.allowed else absent


def _first(answer: Any, items: str, key: str) -> str | None:
    for item in (answer or {}).get(items, []):
        value = item.get(key)
        if value:
            return str(value)
    return None


def judge_state_manager(probe: ReadProbe, own_account: bool, role_name: str) -> Iterator[Finding]:
    if probe.unreachable:
        yield Finding(
            "fail",
            f"State Manager did not answer in {WHERE} ({probe.unreachable})",
            "check network access to the SSM endpoint (proxy, VPC endpoint) and AWS_ENDPOINT_URL",
        )
        return
    grant = (
        f"attach {READONLY_POLICY} to the bot's own identity"
        if own_account
        else f"add it to role {role_name} there ({READONLY_POLICY} grants it; redeploy "
        f"{MEMBER_ROLE_STACK})"
    )
    for operation in probe.denied:
        yield Finding("fail", f"ssm:{operation} denied in {WHERE}", grant)
    for operation, message in probe.failed.items():
        yield Finding("fail", f"ssm:{operation} failed in {WHERE} ({message})", "run doctor again")
    if probe.denied or probe.failed:
        return
    unverifiable = {
        op: why for op, why in probe.unverifiable.items() if not why.startswith("needs")
    }
    if not unverifiable:
        yield Finding("pass", f"all {len(SSM_READS)} State Manager reads allowed in {WHERE}")
        return
    yield Finding("pass", f"{len(probe.allowed)} State Manager reads allowed in {WHERE}")
    by_reason: dict[str, list[str]] = {}
    for operation, why in unverifiable.items():
        by_reason.setdefault(why, []).append(f"ssm:{operation}")
    for why, operations in by_reason.items():
        yield Finding(
            "warn",
            f"not verifiable in {WHERE}, {why}: {', '.join(operations)}",
            "run doctor again once State Manager has associations that ran there",
        )
