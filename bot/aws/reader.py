"""Reads one account-region: triage with ListAssociations, drill down only into failures.

Cost per scope with A associations of which F failed: ceil(A/50) ListAssociations pages, then
per failing association one DescribeAssociationExecutions, one (rarely more) page of
DescribeAssociationExecutionTargets and at most `detail_cap` DescribeInstanceAssociationsStatus
calls; an instance's status answers for every association on it, so it is asked once. An
association whose last execution has not changed since the previous sweep reuses that
sweep's drill-down and costs nothing beyond its listing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.clock import aware, utcnow
from bot.models import Association, FailedTarget, Scope, ScopeResult, normalise_status

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.type_defs import AssociationTypeDef, InstanceAssociationStatusInfoTypeDef

PAGE = 50
DETAIL_CAP = 5
EXECUTIONS_PAGE = 50
STREAK_PAGES = 10  # how far back a failing streak is traced: 500 runs
_COUNT = re.compile(r"([A-Za-z]+)\s*=\s*(\d+)")


def parse_resource_counts(text: str | None) -> dict[str, int]:
    """`{Failed=1,Success=2}` (a Java map's toString) -> {"Failed": 1, "Success": 2}."""
    return {name: int(number) for name, number in _COUNT.findall(text or "")}


@dataclass(frozen=True)
class PriorDrilldown:
    """What the previous sweep learnt about a failing association, reusable if nothing ran since."""

    last_execution_at: datetime | None
    execution_id: str | None
    failed_targets: tuple[FailedTarget, ...]
    failed_target_count: int
    failing_evidence_since: datetime | None


@dataclass
class _Counter:
    calls: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)

    def add(self, operation: str) -> None:
        self.calls += 1
        self.by_operation[operation] = self.by_operation.get(operation, 0) + 1


def describe_error(exc: BaseException) -> str:
    """One readable line for a scope's failure: the AWS error code and message, or the cause."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = exc.operation_name or "AWS"
        code = error.get("Code", "Error")
        message = " ".join(str(error.get("Message", "")).split())
        return f"{operation}: {code}: {message}"[:500] if message else f"{operation}: {code}"
    if isinstance(exc, BotoCoreError):
        return " ".join(str(exc).split())[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


class ScopeReader:
    """Reads one account-region through an SSM client; never raises for AWS errors."""

    def __init__(
        self,
        ssm: SSMClient,
        scope: Scope,
        *,
        detail_cap: int = DETAIL_CAP,
        prior: Mapping[str, PriorDrilldown] | None = None,
    ) -> None:
        self.ssm = ssm
        self.scope = scope
        self.detail_cap = detail_cap
        self.prior = prior or {}
        self._counter = _Counter()
        self._instance_status: dict[str, list[InstanceAssociationStatusInfoTypeDef]] = {}

    def read(self) -> ScopeResult:
        started, clock = utcnow(), time.monotonic()
        reused = 0
        try:
            associations: list[Association] = []
            for item in self._list_associations():
                association, was_reused = self._association(item)
                reused += was_reused
                associations.append(association)
        except (ClientError, BotoCoreError) as exc:
            return ScopeResult(
                self.scope,
                ok=False,
                error=describe_error(exc),
                associations=(),
                started_at=started,
                duration_s=time.monotonic() - clock,
                aws_calls=self._counter.calls,
            )
        return ScopeResult(
            self.scope,
            ok=True,
            error=None,
            associations=tuple(associations),
            started_at=started,
            duration_s=time.monotonic() - clock,
            aws_calls=self._counter.calls,
            reused_drilldowns=reused,
        )

    # -- triage -------------------------------------------------------------------------------
    def _list_associations(self) -> Iterator[AssociationTypeDef]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"MaxResults": PAGE}
            if token:
                kwargs["NextToken"] = token
            self._counter.add("ListAssociations")
            page = self.ssm.list_associations(**kwargs)
            yield from page.get("Associations", [])
            token = page.get("NextToken")
            if not token:
                return

    def _association(self, item: AssociationTypeDef) -> tuple[Association, bool]:
        overview = item.get("Overview", {})
        base = Association(
            account_id=self.scope.account_id,
            region=self.scope.region,
            association_id=item["AssociationId"],
            association_name=item.get("AssociationName"),
            document_name=item.get("Name", ""),
            status=normalise_status(overview.get("Status")),
            detailed_status=overview.get("DetailedStatus"),
            counts=dict(overview.get("AssociationStatusAggregatedCount", {})),
            last_execution_at=aware(item.get("LastExecutionDate")),
            schedule=item.get("ScheduleExpression"),
        )
        if not base.failing:
            return base, False
        prior = self.prior.get(base.association_id)
        if prior is not None and _same_second(prior.last_execution_at, base.last_execution_at):
            return _with_drilldown(base, prior), True
        return self._drill_down(base), False

    # -- drill-down ---------------------------------------------------------------------------
    def _executions(self, association_id: str) -> list[Any]:
        """Recent runs, newest first: one page, and more only while every run so far failed,
        so `failing_since` finds where a long streak began rather than where a page ended."""
        runs: list[Any] = []
        token: str | None = None
        for _ in range(STREAK_PAGES):
            kwargs: dict[str, Any] = {
                "AssociationId": association_id,
                "MaxResults": EXECUTIONS_PAGE,
            }
            if token:
                kwargs["NextToken"] = token
            self._counter.add("DescribeAssociationExecutions")
            page = self.ssm.describe_association_executions(**kwargs)
            runs.extend(page.get("AssociationExecutions", []))
            token = page.get("NextToken")
            if not token or any(run.get("Status") == "Success" for run in runs):
                break
        return runs

    def _drill_down(self, association: Association) -> Association:
        executions = self._executions(association.association_id)
        failed_runs = [e for e in executions if e.get("Status") == "Failed"]
        if not failed_runs:
            return association
        latest = failed_runs[0]
        execution_id = latest["ExecutionId"]
        evidence = _streak_start(executions)
        instance_ids: list[str] = []
        detailed: dict[str, str | None] = {}
        commands: dict[str, str | None] = {}
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "AssociationId": association.association_id,
                "ExecutionId": execution_id,
                "Filters": [{"Key": "Status", "Value": "Failed"}],
                "MaxResults": PAGE,
            }
            if token:
                kwargs["NextToken"] = token
            self._counter.add("DescribeAssociationExecutionTargets")
            page = self.ssm.describe_association_execution_targets(**kwargs)
            for target in page.get("AssociationExecutionTargets", []):
                resource = target.get("ResourceId")
                if resource:
                    instance_ids.append(resource)
                    detailed[resource] = target.get("DetailedStatus")
                    commands[resource] = target.get("OutputSource", {}).get("OutputSourceId")
            token = page.get("NextToken")
            if not token:
                break
        targets: list[FailedTarget] = []
        for position, instance_id in enumerate(instance_ids):
            info = (
                self._status_on(instance_id, association.association_id)
                if position < self.detail_cap
                else None
            )
            targets.append(
                FailedTarget(
                    instance_id=instance_id,
                    detailed_status=detailed[instance_id],
                    error_code=(info.get("ErrorCode") or None) if info else None,
                    summary=info.get("ExecutionSummary") if info else None,
                    output_url=info.get("OutputUrl", {}).get("S3OutputUrl", {}).get("OutputUrl")
                    if info
                    else None,
                    command_id=commands[instance_id],
                )
            )
        return replace(
            association,
            execution_id=execution_id,
            failed_targets=tuple(targets),
            failed_target_count=len(targets),
            failing_evidence_since=evidence,
        )

    def _status_on(
        self, instance_id: str, association_id: str
    ) -> InstanceAssociationStatusInfoTypeDef | None:
        if instance_id not in self._instance_status:
            infos: list[InstanceAssociationStatusInfoTypeDef] = []
            try:
                self._counter.add("DescribeInstanceAssociationsStatus")
                infos = self.ssm.describe_instance_associations_status(
                    InstanceId=instance_id, MaxResults=PAGE
                ).get("InstanceAssociationStatusInfos", [])
            except ClientError as exc:
                # An instance that was terminated since the run has no status: the failure
                # itself is still real, so keep it without detail rather than fail the scope.
                if exc.response.get("Error", {}).get("Code") != "InvalidInstanceId":
                    raise
            self._instance_status[instance_id] = infos
        for info in self._instance_status[instance_id]:
            if info.get("AssociationId") == association_id:
                return info
        return None


def _streak_start(executions: list[Any]) -> datetime | None:
    """The first run of the unbroken streak of failed runs that ends with the latest one."""
    start: datetime | None = None
    for execution in executions:  # newest first
        status = execution.get("Status")
        if status == "Failed":
            start = aware(execution.get("CreatedTime")) or start
        elif status == "Success":
            break
    return start


def _with_drilldown(association: Association, prior: PriorDrilldown) -> Association:
    return replace(
        association,
        execution_id=prior.execution_id,
        failed_targets=prior.failed_targets,
        failed_target_count=prior.failed_target_count,
        failing_evidence_since=prior.failing_evidence_since,
    )


def _same_second(stored: datetime | None, listed: datetime | None) -> bool:
    """The store keeps timestamps to the second; AWS sends milliseconds."""
    if stored is None or listed is None:
        return stored is listed
    return stored.replace(microsecond=0) == listed.replace(microsecond=0)
