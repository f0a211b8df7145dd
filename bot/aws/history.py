"""On-demand detail for one association: recent executions, failed targets with their error,
the step's stderr, the agent's health and a likely cause. Used by `history` (CLI and Slack)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from bot.aws.reader import PAGE, parse_resource_counts
from bot.causes import LikelyCause, likely_cause
from bot.clock import aware
from bot.models import AssociationKey, Execution

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

STDERR_LIMIT = 1500


@dataclass(frozen=True)
class TargetDetail:
    instance_id: str
    detailed_status: str | None
    error_code: str | None
    summary: str | None
    output_url: str | None
    stderr: str | None
    ping_status: str | None
    agent_version: str | None
    platform: str | None
    cause: LikelyCause

    @property
    def agent(self) -> str:
        """'ConnectionLost, agent 3.3.1142.0, Amazon Linux': the SSM agent as SSM last saw it."""
        version = f"agent {self.agent_version}" if self.agent_version else None
        return ", ".join(p for p in (self.ping_status, version, self.platform) if p)


@dataclass(frozen=True)
class History:
    key: AssociationKey
    association_name: str | None
    document_name: str | None
    sync_compliance: str | None
    executions: tuple[Execution, ...]
    failed_execution: Execution | None
    failed_count: int
    targets: tuple[TargetDetail, ...]

    @property
    def rerun_can_fix(self) -> bool:
        """A MANUAL association reports compliance only through PutComplianceItems."""
        return self.sync_compliance != "MANUAL"


def fetch_history(
    ssm: SSMClient, key: AssociationKey, *, executions: int = 10, detail_cap: int = 10
) -> History:
    """Read the association's recent runs and explain the latest failed one."""
    description = ssm.describe_association(AssociationId=key.association_id)[
        "AssociationDescription"
    ]
    runs = [
        Execution(
            execution_id=e["ExecutionId"],
            status=e.get("Status", "Unknown"),
            detailed_status=e.get("DetailedStatus"),
            created_at=aware(e.get("CreatedTime")),
            counts=parse_resource_counts(e.get("ResourceCountByStatus")),
        )
        for e in ssm.describe_association_executions(
            AssociationId=key.association_id, MaxResults=executions
        ).get("AssociationExecutions", [])
    ]
    failed = next((run for run in runs if run.status == "Failed"), None)
    targets: list[dict[str, Any]] = []
    if failed is not None:
        paginator = ssm.get_paginator("describe_association_execution_targets")
        for page in paginator.paginate(
            AssociationId=key.association_id,
            ExecutionId=failed.execution_id,
            Filters=[{"Key": "Status", "Value": "Failed"}],
            PaginationConfig={"PageSize": PAGE},
        ):
            targets.extend(dict(t) for t in page.get("AssociationExecutionTargets", []))
    shown = targets[:detail_cap]
    agents = _agents(ssm, [t["ResourceId"] for t in shown])
    details = tuple(
        _detail(ssm, key, target, agents.get(target["ResourceId"], {})) for target in shown
    )
    return History(
        key=key,
        association_name=description.get("AssociationName"),
        document_name=description.get("Name"),
        sync_compliance=description.get("SyncCompliance"),
        executions=tuple(runs),
        failed_execution=failed,
        failed_count=len(targets),
        targets=details,
    )


def _agents(ssm: SSMClient, instance_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Ping status and agent version for many instances in one call (up to 50 IDs a page)."""
    if not instance_ids:
        return {}
    found: dict[str, dict[str, Any]] = {}
    paginator = ssm.get_paginator("describe_instance_information")
    for page in paginator.paginate(
        Filters=[{"Key": "InstanceIds", "Values": instance_ids}],
        PaginationConfig={"PageSize": 50},
    ):
        for info in page.get("InstanceInformationList", []):
            found[info["InstanceId"]] = dict(info)
    return found


def _detail(
    ssm: SSMClient, key: AssociationKey, target: dict[str, Any], agent: dict[str, Any]
) -> TargetDetail:
    instance_id = target["ResourceId"]
    info = _status_info(ssm, instance_id, key.association_id)
    command_id = target.get("OutputSource", {}).get("OutputSourceId")
    stderr = _stderr(ssm, command_id, instance_id) if command_id else None
    detailed = target.get("DetailedStatus")
    error_code = info.get("ErrorCode") or None
    summary = info.get("ExecutionSummary")
    ping = agent.get("PingStatus")
    return TargetDetail(
        instance_id=instance_id,
        detailed_status=detailed,
        error_code=error_code,
        summary=summary,
        output_url=info.get("OutputUrl", {}).get("S3OutputUrl", {}).get("OutputUrl"),
        stderr=stderr,
        ping_status=ping,
        agent_version=agent.get("AgentVersion"),
        platform=agent.get("PlatformName"),
        cause=likely_cause(
            detailed_status=detailed,
            error_code=error_code,
            summary=summary,
            stderr=stderr,
            ping_status=ping,
        ),
    )


def _status_info(ssm: SSMClient, instance_id: str, association_id: str) -> dict[str, Any]:
    try:
        infos = ssm.describe_instance_associations_status(InstanceId=instance_id, MaxResults=PAGE)
    except ClientError:
        return {}
    for info in infos.get("InstanceAssociationStatusInfos", []):
        if info.get("AssociationId") == association_id:
            return dict(info)
    return {}


def _stderr(ssm: SSMClient, command_id: str, instance_id: str) -> str | None:
    try:
        invocation = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
    except ClientError:
        return None  # invocations expire after 30 days; the summary still stands
    text = invocation.get("StandardErrorContent") or ""
    return text[-STDERR_LIMIT:] or None
