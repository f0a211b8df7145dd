"""Reads one account-region: association triage and SSM.3's own view, reconciled.

SSM.3 fails a managed instance whose compliance of type Association is NON_COMPLIANT, so a
scope is read from both sides:
- `ListAssociations` (ceil(A/50) pages) gives every association's Overview; those whose
  latest run failed or timed out are drilled into: one DescribeAssociationExecutions, one
  DescribeAssociationExecutionTargets page per unsuccessful status the run reports, and for
  at most `detail_cap` of its Failed targets one DescribeInstanceAssociationsStatus each
  (shared by every association on the instance; a TimedOut target's status is its detail).
- `ListResourceComplianceSummaries` filtered on ComplianceType=Association and
  Status=NON_COMPLIANT (ceil(N/50) pages) lists exactly the instances SSM.3 fails.
A NON_COMPLIANT instance whose non-compliant count the failed runs of AUTO associations
account for is explained; any other costs one ListComplianceItems (one resource ID a call)
to learn which association reported it (MANUAL sync, a stale report, an orphan). Each
association that makes an instance NON_COMPLIANT costs one DescribeAssociation, the only
call that carries `SyncCompliance`.

Nothing is read twice while it has not changed: a drill-down is reused while the
association's last execution is the same, `SyncCompliance` while its version is the same,
and an instance's items while its compliance ExecutionTime is the same.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.errors import describe_error
from bot.clock import aware, utcnow
from bot.models import (
    UNSUCCESSFUL,
    Association,
    ComplianceItem,
    FailedTarget,
    InstanceCompliance,
    Orphan,
    PriorDrilldown,
    Scope,
    ScopeResult,
    SyncCompliance,
    normalise_status,
)

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.type_defs import (
        AssociationTypeDef,
        ComplianceItemTypeDef,
        ComplianceStringFilterTypeDef,
        InstanceAssociationStatusInfoTypeDef,
    )

PAGE = 50
DETAIL_CAP = 5
EXECUTIONS_PAGE = 50
STREAK_PAGES = 10  # how far back a failing streak is traced: 500 runs
COMPLIANCE_PAGE = 50
ASSOCIATION_NONCOMPLIANT: list[ComplianceStringFilterTypeDef] = [
    {"Key": "ComplianceType", "Values": ["Association"], "Type": "EQUAL"},
    {"Key": "Status", "Values": ["NON_COMPLIANT"], "Type": "EQUAL"},
]
_COUNT = re.compile(r"([A-Za-z]+)\s*=\s*(\d+)")


def parse_resource_counts(text: str | None) -> dict[str, int]:
    """`{Failed=1,Success=2}` (a Java map's toString) -> {"Failed": 1, "Success": 2}."""
    return {name: int(number) for name, number in _COUNT.findall(text or "")}


@dataclass
class _Counter:
    calls: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)

    def add(self, operation: str) -> None:
        self.calls += 1
        self.by_operation[operation] = self.by_operation.get(operation, 0) + 1


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
    ) -> None:
        self.ssm = ssm
        self.scope = scope
        self.detail_cap = detail_cap
        self.prior = prior or {}
        self.prior_compliance = prior_compliance or {}
        self._counter = _Counter()
        self._instance_status: dict[str, list[InstanceAssociationStatusInfoTypeDef]] = {}

    @property
    def calls_by_operation(self) -> dict[str, int]:
        return dict(self._counter.by_operation)

    def read(self) -> ScopeResult:
        started, clock = utcnow(), time.monotonic()
        reused = 0
        try:
            associations: dict[str, Association] = {}
            for item in self._list_associations():
                association, was_reused = self._association(item)
                reused += was_reused
                associations[association.association_id] = association
            noncompliant = self._noncompliant_instances()
            reconciled, compliance, orphans = self._reconcile(associations, noncompliant)
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
            associations=tuple(reconciled),
            started_at=started,
            duration_s=time.monotonic() - clock,
            aws_calls=self._counter.calls,
            reused_drilldowns=reused,
            noncompliant=tuple(compliance),
            orphans=tuple(orphans),
        )

    # -- triage -------------------------------------------------------------------------------
    def _pages(self, operation: str, call: Callable[..., Any], **params: Any) -> Iterator[Any]:
        """Each page of one paginated call, counted; the caller may stop early."""
        token: str | None = None
        while True:
            self._counter.add(operation)
            page = call(**params, **({"NextToken": token} if token else {}))
            yield page
            token = page.get("NextToken")
            if not token:
                return

    def _list_associations(self) -> Iterator[AssociationTypeDef]:
        for page in self._pages("ListAssociations", self.ssm.list_associations, MaxResults=PAGE):
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
            and _same_second(prior.last_execution_at, base.last_execution_at)
        ):
            return _with_drilldown(base, prior), True
        return self._drill_down(base), False

    # -- SSM.3's view -------------------------------------------------------------------------
    def _noncompliant_instances(self) -> list[tuple[str, datetime | None, int]]:
        """(instance, compliance ExecutionTime, non-compliant item count) of every instance
        whose Association compliance is NON_COMPLIANT; never unfiltered, so Patch and
        Custom compliance cannot count."""
        found: list[tuple[str, datetime | None, int]] = []
        for page in self._pages(
            "ListResourceComplianceSummaries",
            self.ssm.list_resource_compliance_summaries,
            Filters=ASSOCIATION_NONCOMPLIANT,
            MaxResults=COMPLIANCE_PAGE,
        ):
            for summary in page.get("ResourceComplianceSummaryItems", []):
                resource = summary.get("ResourceId")
                if not resource or summary.get("Status") != "NON_COMPLIANT":
                    continue
                if summary.get("ComplianceType", "Association") != "Association":
                    continue
                count = summary.get("NonCompliantSummary", {}).get("NonCompliantCount", 0)
                executed = aware(summary.get("ExecutionSummary", {}).get("ExecutionTime"))
                found.append((resource, executed, max(int(count), 1)))
        return found

    def _reconcile(
        self,
        associations: dict[str, Association],
        noncompliant: list[tuple[str, datetime | None, int]],
    ) -> tuple[list[Association], list[InstanceCompliance], list[Orphan]]:
        """Which association makes each NON_COMPLIANT instance so, and what that costs."""
        sync, by_run = self._runs_on({i for i, _, _ in noncompliant}, associations)
        makes: dict[str, list[str]] = {}  # association -> instances it makes NON_COMPLIANT
        compliance: list[InstanceCompliance] = []
        orphans: list[Orphan] = []
        for instance_id, executed, count in noncompliant:
            explaining = by_run.get(instance_id, [])
            if len(explaining) == count:
                compliance.append(InstanceCompliance(instance_id, executed, count))
                for association_id in explaining:
                    makes.setdefault(association_id, []).append(instance_id)
                continue
            items = self._items(instance_id, executed)
            compliance.append(InstanceCompliance(instance_id, executed, count, items))
            for item in (i for i in items if i.noncompliant):
                if item.association_id in associations:
                    makes.setdefault(item.association_id, []).append(instance_id)
                else:
                    orphans.append(
                        Orphan(
                            self.scope.account_id,
                            self.scope.region,
                            item.association_id,
                            instance_id,
                            item.title,
                        )
                    )
        reconciled: list[Association] = []
        for association_id, listed in associations.items():
            instances = makes.get(association_id)
            if instances:
                if association_id not in sync:
                    sync[association_id] = self._sync_compliance(listed)
                listed = replace(  # noqa: PLW2901 - the listed association, now reconciled
                    listed,
                    sync_compliance=sync[association_id],
                    noncompliant_instances=tuple(dict.fromkeys(instances)),
                )
            reconciled.append(listed)
        return reconciled, compliance, orphans

    def _runs_on(
        self, noncompliant: set[str], associations: dict[str, Association]
    ) -> tuple[dict[str, SyncCompliance | None], dict[str, list[str]]]:
        """The AUTO associations whose latest run failed on each NON_COMPLIANT instance.

        Only AUTO compliance comes from runs, so SyncCompliance is learnt first for the
        associations whose failed targets are NON_COMPLIANT (they are the failing ones)."""
        sync: dict[str, SyncCompliance | None] = {}
        by_run: dict[str, list[str]] = {}
        for association in associations.values():
            hits = [
                t.instance_id for t in association.failed_targets if t.instance_id in noncompliant
            ]
            if not hits:
                continue
            sync[association.association_id] = self._sync_compliance(association)
            if sync[association.association_id] == "MANUAL":
                continue
            for instance_id in hits:
                by_run.setdefault(instance_id, []).append(association.association_id)
        return sync, by_run

    def _sync_compliance(self, association: Association) -> SyncCompliance | None:
        prior = self.prior.get(association.association_id)
        if (
            prior is not None
            and prior.sync_compliance is not None
            and prior.association_version == association.association_version
        ):
            return prior.sync_compliance
        self._counter.add("DescribeAssociation")
        description = self.ssm.describe_association(AssociationId=association.association_id)
        mode = description.get("AssociationDescription", {}).get("SyncCompliance")
        return "MANUAL" if mode == "MANUAL" else "AUTO"

    def _items(self, instance_id: str, executed: datetime | None) -> tuple[ComplianceItem, ...]:
        """The instance's Association items; reused while its ExecutionTime is unchanged."""
        prior = self.prior_compliance.get(instance_id)
        if (
            prior is not None
            and prior.items is not None
            and _same_second(prior.execution_time, executed)
        ):
            return prior.items
        items: list[ComplianceItem] = []
        for page in self._pages(
            "ListComplianceItems",
            self.ssm.list_compliance_items,
            ResourceIds=[instance_id],  # AWS takes one resource ID a call
            ResourceTypes=["ManagedInstance"],
            Filters=ASSOCIATION_NONCOMPLIANT,
            MaxResults=COMPLIANCE_PAGE,
        ):
            items.extend(
                _compliance_item(instance_id, raw)
                for raw in page.get("ComplianceItems", [])
                if raw.get("ComplianceType", "Association") == "Association" and raw.get("Id")
            )
        return tuple(items)

    # -- drill-down ---------------------------------------------------------------------------
    def _executions(self, association_id: str) -> list[Any]:
        """Recent runs, newest first: one page, and more only while every run so far failed,
        so `failing_since` finds where a long streak began rather than where a page ended."""
        runs: list[Any] = []
        pages = self._pages(
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
            for page in self._pages(
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


def _compliance_item(instance_id: str, raw: ComplianceItemTypeDef) -> ComplianceItem:
    return ComplianceItem(
        instance_id=instance_id,
        association_id=raw.get("Id", ""),
        status=raw.get("Status", ""),
        title=raw.get("Title") or None,
        severity=raw.get("Severity"),
        execution_time=aware(raw.get("ExecutionSummary", {}).get("ExecutionTime")),
        document_name=raw.get("Details", {}).get("DocumentName"),
    )


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


def _same_second(stored: datetime | None, listed: datetime | None) -> bool:
    """The store keeps timestamps to the second; AWS sends milliseconds."""
    if stored is None or listed is None:
        return stored is listed
    return stored.replace(microsecond=0) == listed.replace(microsecond=0)
