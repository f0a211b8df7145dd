"""On-demand detail for one association: recent executions, unsuccessful (failed or timed-out)
targets with their error, the step's stderr, the agent's health and a likely cause, and what
SSM.3 sees on a few of its NON_COMPLIANT instances. Used by `history` (CLI and Slack)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from bot.aws.errors import AWS_ERRORS, describe_error
from bot.aws.reader import PAGE, parse_resource_counts
from bot.core.causes import LikelyCause, kind_label, likely_cause, remedy
from bot.models import (
    UNSUCCESSFUL,
    Association,
    AssociationKey,
    ComplianceItem,
    Execution,
    FailureKind,
    is_reported,
)
from bot.util.clock import aware
from bot.util.strings import unnamed

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

STDERR_LIMIT = 1500
COMPLIANCE_SHOWN = 5  # instances whose Association items are read (one call each)


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
class InstanceItems:
    """One NON_COMPLIANT instance's Association compliance items: what SSM.3 reads for it
    (`error`: they could not be read)."""

    instance_id: str
    items: tuple[ComplianceItem, ...] = ()
    error: str | None = None


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
    # How it fails SSM.3, from the stored association (None: not stored, or not failing).
    failure_kind: FailureKind | None = None
    kind: str | None = None  # causes.kind_label
    remedy: str | None = None  # causes.remedy: what would make SSM.3 pass
    noncompliant_count: int = 0
    compliance: tuple[InstanceItems, ...] = ()  # the first few NON_COMPLIANT instances
    account_name: str | None = None  # from Organizations, through the stored association

    @property
    def display_name(self) -> str:
        """Its name, or its document and short ID (never a bare UUID)."""
        return self.association_name or unnamed(self.document_name, self.key.association_id)

    @property
    def rerun_can_fix(self) -> bool:
        """Not for a `reported` failure, nor for a MANUAL association, which reports its
        compliance only through PutComplianceItems."""
        return not self.reported and self.sync_compliance != "MANUAL"

    @property
    def reported(self) -> bool:
        return is_reported(self.failure_kind)


def fetch_history(
    ssm: SSMClient,
    key: AssociationKey,
    *,
    executions: int = 10,
    detail_cap: int = 10,
    stored: Association | None = None,
) -> History:
    """Read the association's recent runs and explain the latest unsuccessful one; with the
    `stored` association, also how it fails SSM.3 and the Association compliance items of its
    first few NON_COMPLIANT instances (ListComplianceItems takes one resource ID a call)."""
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
    failed = next((run for run in runs if _unsuccessful(run)), None)
    targets: list[dict[str, Any]] = []
    if failed is not None:
        # Each unsuccessful status the run reports, queried on its own (the filter takes one).
        statuses = [s for s in UNSUCCESSFUL if failed.counts.get(s)] or list(UNSUCCESSFUL)
        paginator = ssm.get_paginator("describe_association_execution_targets")
        for status in statuses:
            for page in paginator.paginate(
                AssociationId=key.association_id,
                ExecutionId=failed.execution_id,
                Filters=[{"Key": "Status", "Value": status}],
                PaginationConfig={"PageSize": PAGE},
            ):
                targets.extend(dict(t) for t in page.get("AssociationExecutionTargets", []))
    shown = targets[:detail_cap]
    agents = _agents(ssm, [t["ResourceId"] for t in shown])
    details = tuple(
        _detail(ssm, key, target, agents.get(target["ResourceId"], {})) for target in shown
    )
    sync = description.get("SyncCompliance")
    judged = None
    if stored is not None and stored.failing:
        fresh = sync if sync in {"AUTO", "MANUAL"} else stored.sync_compliance
        judged = replace(stored, sync_compliance=fresh)
    noncompliant = judged.noncompliant_instances if judged else ()
    return History(
        key=key,
        association_name=description.get("AssociationName"),
        document_name=description.get("Name"),
        sync_compliance=sync,
        executions=tuple(runs),
        failed_execution=failed,
        failed_count=len(targets),
        targets=details,
        failure_kind=judged.failure_kind if judged else None,
        kind=kind_label(judged) if judged else None,
        remedy=remedy(judged) if judged else None,
        noncompliant_count=len(noncompliant),
        compliance=tuple(
            compliance_items(ssm, instance_id) for instance_id in noncompliant[:COMPLIANCE_SHOWN]
        ),
        account_name=stored.account_name if stored is not None else None,
    )


def _unsuccessful(run: Execution) -> bool:
    return run.status in UNSUCCESSFUL or any(run.counts.get(s) for s in UNSUCCESSFUL)


def compliance_items(ssm: SSMClient, instance_id: str) -> InstanceItems:
    """One instance's Association compliance items, as SSM.3 reads them (one call a page)."""
    found: list[ComplianceItem] = []
    try:
        paginator = ssm.get_paginator("list_compliance_items")
        for page in paginator.paginate(
            ResourceIds=[instance_id],
            ResourceTypes=["ManagedInstance"],
            Filters=[{"Key": "ComplianceType", "Values": ["Association"], "Type": "EQUAL"}],
            PaginationConfig={"PageSize": PAGE},
        ):
            for item in page.get("ComplianceItems", []):
                details: dict[str, Any] = dict(item.get("Details") or {})
                summary: dict[str, Any] = dict(item.get("ExecutionSummary") or {})
                found.append(
                    ComplianceItem(
                        instance_id=instance_id,
                        association_id=str(item.get("Id") or ""),
                        status=str(item.get("Status") or "?"),
                        title=item.get("Title") or None,
                        severity=item.get("Severity"),
                        execution_time=aware(summary.get("ExecutionTime")),
                        document_name=details.get("DocumentName"),
                    )
                )
    except AWS_ERRORS as exc:
        return InstanceItems(instance_id, tuple(found), describe_error(exc))
    # NON_COMPLIANT first: those are what fail SSM.3.
    found.sort(key=lambda i: (not i.noncompliant, i.association_id))
    return InstanceItems(instance_id, tuple(found))


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
