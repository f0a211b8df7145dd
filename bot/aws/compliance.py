"""SSM.3's own view of one account-region, reconciled with the associations' runs.

SSM.3 fails a managed instance whose compliance of type Association is NON_COMPLIANT.
`ListResourceComplianceSummaries` filtered on ComplianceType=Association and
Status=NON_COMPLIANT (ceil(N/50) pages) lists exactly the instances SSM.3 fails. A
NON_COMPLIANT instance whose non-compliant count the failed runs of AUTO associations account
for is explained; any other costs one ListComplianceItems (one resource ID a call) to learn
which association reported it (MANUAL sync, a stale report, an orphan). Each association that
makes an instance NON_COMPLIANT costs one DescribeAssociation, the only call that carries
`SyncCompliance`.

`SyncCompliance` is reused while the association's version is the same, and an instance's
items while its compliance ExecutionTime is the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.aws.calls import CallCounter, same_second
from bot.models import (
    Association,
    ComplianceItem,
    InstanceCompliance,
    Orphan,
    PriorDrilldown,
    Scope,
    SyncCompliance,
)
from bot.util.clock import aware

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.type_defs import ComplianceItemTypeDef, ComplianceStringFilterTypeDef

COMPLIANCE_PAGE = 50
ASSOCIATION_NONCOMPLIANT: list[ComplianceStringFilterTypeDef] = [
    {"Key": "ComplianceType", "Values": ["Association"], "Type": "EQUAL"},
    {"Key": "Status", "Values": ["NON_COMPLIANT"], "Type": "EQUAL"},
]

# (instance, compliance ExecutionTime, non-compliant item count)
NonCompliant = tuple[str, datetime | None, int]


class ComplianceView:
    """SSM.3's view of one scope, read through the scope reader's client and call counter."""

    def __init__(
        self,
        ssm: SSMClient,
        scope: Scope,
        counter: CallCounter,
        *,
        prior: Mapping[str, PriorDrilldown],
        prior_compliance: Mapping[str, InstanceCompliance],
    ) -> None:
        self.ssm = ssm
        self.scope = scope
        self._counter = counter
        self.prior = prior
        self.prior_compliance = prior_compliance

    def noncompliant_instances(self) -> list[NonCompliant]:
        """(instance, compliance ExecutionTime, non-compliant item count) of every instance
        whose Association compliance is NON_COMPLIANT; never unfiltered, so Patch and
        Custom compliance cannot count."""
        found: list[NonCompliant] = []
        for page in self._counter.pages(
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

    def reconcile(
        self,
        associations: dict[str, Association],
        noncompliant: list[NonCompliant],
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
            and same_second(prior.execution_time, executed)
        ):
            return prior.items
        items: list[ComplianceItem] = []
        for page in self._counter.pages(
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
