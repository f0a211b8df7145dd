"""Reads one account-region: association triage and SSM.3's own view, reconciled.

- `ListAssociations` (ceil(A/50) pages) gives every association's Overview; those whose
  latest run failed or timed out are drilled into: one DescribeAssociationExecutions, one
  DescribeAssociationExecutionTargets page per unsuccessful status the run reports, and for
  at most `detail_cap` of its Failed targets one DescribeInstanceAssociationsStatus each
  (shared by every association on the instance; a TimedOut target's status is its detail).
- SSM.3's view (the NON_COMPLIANT instances, and which association makes each so) is
  `bot.aws.compliance`'s, read through the same client and call counter.

Nothing is read twice while it has not changed: a drill-down is reused while the
association's last execution is the same (and see `bot.aws.compliance` for its reuse).
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from bot.aws.calls import CallCounter, same_second
from bot.aws.compliance import ASSOCIATION_NONCOMPLIANT, ComplianceView
from bot.aws.errors import AWS_ERRORS, describe_error
from bot.models import (
    UNSUCCESSFUL,
    Association,
    FailedTarget,
    InstanceCompliance,
    PriorDrilldown,
    Scope,
    ScopeResult,
    normalise_status,
)
from bot.util.clock import aware, utcnow

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.type_defs import AssociationTypeDef, InstanceAssociationStatusInfoTypeDef

__all__ = [
    "ASSOCIATION_NONCOMPLIANT",
    "DETAIL_CAP",
    "EXECUTIONS_PAGE",
    "PAGE",
    "STREAK_PAGES",
    "ScopeReader",
    "parse_resource_counts",
]

PAGE = 50
DETAIL_CAP = 5
EXECUTIONS_PAGE = 50
STREAK_PAGES = 10  # how far back a failing streak is traced: 500 runs
_COUNT = re.compile(r"([A-Za-z]+)\s*=\s*(\d+)")


def parse_resource_counts(text: str | None) -> dict[str, int]:
    """`{Failed=1,Success=2}` (a Java map's toString) -> {"Failed": 1, "Success": 2}."""
    return {name: int(number) for name, number in _COUNT.findall(text or "")}


class ScopeReader:
    """Reads one account-region through an SSM client; never raises for AWS errors."""

    def __init__(
        self,
        ssm: SSMClient,
        scope: Scope,
        *,
        detail_cap: int = DETAIL_CAP,
        prior: Mapping[str, PriorDrilldown] | None = None,
        prior_compliance: Mapping[str, InstanceCompliance] | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ssm = ssm
        self.now = now  # the sweep's clock: a scope's read is dated as the sweep dates it
        self.scope = scope
        self.detail_cap = detail_cap
        self.prior = prior or {}
        self.prior_compliance = prior_compliance or {}
        self._counter = CallCounter()
        self._compliance = ComplianceView(
            ssm,
            scope,
            self._counter,
            prior=self.prior,
            prior_compliance=self.prior_compliance,
        )
        self._instance_status: dict[str, list[InstanceAssociationStatusInfoTypeDef]] = {}

    @property
    def calls_by_operation(self) -> dict[str, int]:
        return dict(self._counter.by_operation)

    def read(self) -> ScopeResult:
        started, clock = self.now(), time.monotonic()
        reused = 0
        try:
            associations: dict[str, Association] = {}
            for item in self._list_associations():
                association, was_reused = self._association(item)
                reused += was_reused
                associations[association.association_id] = association
            noncompliant = self._compliance.noncompliant_instances()
            reconciled, compliance, orphans = self._compliance.reconcile(associations, noncompliant)
        except AWS_ERRORS as exc:
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
            associations=tuple(reconciled),
            started_at=started,
            duration_s=time.monotonic() - clock,
            aws_calls=self._counter.calls,
            reused_drilldowns=reused,
            noncompliant=tuple(compliance),
            orphans=tuple(orphans),
        )

    # -- triage -------------------------------------------------------------------------------
    def _list_associations(self) -> Iterator[AssociationTypeDef]:
        for page in self._counter.pages(
            "ListAssociations", self.ssm.list_associations, MaxResults=PAGE
        ):
            yield from page.get("Associations", [])

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
            association_version=item.get("AssociationVersion"),
        )
        if not base.run_failed:
            return base, False
        prior = self.prior.get(base.association_id)
        if (
            prior is not None
            and prior.execution_id is not None
            and same_second(prior.last_execution_at, base.last_execution_at)
        ):
            return _with_drilldown(base, prior), True
        return self._drill_down(base), False

    # -- drill-down ---------------------------------------------------------------------------
    def _executions(self, association_id: str) -> list[Any]:
        """Recent runs, newest first: one page, and more only while every run so far failed,
        so `failing_since` finds where a long streak began rather than where a page ended."""
        runs: list[Any] = []
        pages = self._counter.pages(
            "DescribeAssociationExecutions",
            self.ssm.describe_association_executions,
            AssociationId=association_id,
            MaxResults=EXECUTIONS_PAGE,
        )
        for page in itertools.islice(pages, STREAK_PAGES):
            runs.extend(page.get("AssociationExecutions", []))
            if any(run.get("Status") == "Success" for run in runs):
                break
        return runs

    def _unsuccessful_targets(
        self, association_id: str, execution: Mapping[str, Any]
    ) -> list[Mapping[str, Any]]:
        """Every Failed or TimedOut target of one execution: one filtered listing per status
        the run reports (the filter takes one value), so a timed-out instance is not lost."""
        counts = parse_resource_counts(execution.get("ResourceCountByStatus"))
        statuses = [s for s in UNSUCCESSFUL if counts.get(s)] or list(UNSUCCESSFUL)
        found: list[Mapping[str, Any]] = []
        for status in statuses:
            for page in self._counter.pages(
                "DescribeAssociationExecutionTargets",
                self.ssm.describe_association_execution_targets,
                AssociationId=association_id,
                ExecutionId=execution["ExecutionId"],
                Filters=[{"Key": "Status", "Value": status}],
                MaxResults=PAGE,
            ):
                found.extend(page.get("AssociationExecutionTargets", []))
        return found

    def _drill_down(self, association: Association) -> Association:
        executions = self._executions(association.association_id)
        failed_runs = [e for e in executions if e.get("Status") in UNSUCCESSFUL]
        if not failed_runs:
            return association
        latest = failed_runs[0]
        evidence = _streak_start(executions)
        instance_ids: list[str] = []
        detailed: dict[str, str | None] = {}
        commands: dict[str, str | None] = {}
        for target in self._unsuccessful_targets(association.association_id, latest):
            resource = target.get("ResourceId")
            if resource and resource not in detailed:
                instance_ids.append(resource)
                detailed[resource] = target.get("DetailedStatus") or target.get("Status")
                commands[resource] = target.get("OutputSource", {}).get("OutputSourceId")
        targets: list[FailedTarget] = []
        asked = 0
        for instance_id in instance_ids:
            # The error detail of a failed step is worth a call for the first few; a timed-out
            # target's status says what there is to say (History reads it all on demand).
            info = None
            if asked < self.detail_cap and detailed[instance_id] != "TimedOut":
                asked += 1
                info = self._status_on(instance_id, association.association_id)
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
            execution_id=latest["ExecutionId"],
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
        if status in UNSUCCESSFUL:
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
