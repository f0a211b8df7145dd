"""What the confirm-COMPLIANT watch reads after a re-run or a fix (phase B schedules it):

- `first_run_after`: the first execution of the association created after the action
  (DescribeAssociationExecutions filtered on CreatedTime), and whether it finished;
- `association_items`: SSM.3's view of the instances the association made NON_COMPLIANT —
  each one's compliance item of type Association for that association. The scope's
  NON_COMPLIANT instances come first (ListResourceComplianceSummaries, 50 a page); only those
  of ours still among them need their items read (ListComplianceItems, one instance a call).

Reads only; `bot.core.watch.outcome` judges what they say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.aws.compliance import ASSOCIATION_NONCOMPLIANT
from bot.aws.reader import PAGE, parse_resource_counts
from bot.core.watch import ItemState, RunState
from bot.models import AssociationKey
from bot.util.clock import aware, iso

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

RUNNING = frozenset({"InProgress", "Pending"})


@dataclass(frozen=True)
class RunSeen(RunState):
    execution_id: str = ""
    created_at: datetime | None = None
    counts: tuple[tuple[str, int], ...] = ()


def first_run_after(ssm: SSMClient, key: AssociationKey, after: datetime) -> RunSeen | None:
    """The oldest execution created at or after `after` (the moment before the action; None:
    none yet). Raises AWS's errors."""
    # The filter's value is to the second: ask from the second before, keep what is after.
    since = after.replace(microsecond=0) - timedelta(seconds=1)
    listed = [
        e
        for e in ssm.describe_association_executions(
            AssociationId=key.association_id,
            Filters=[{"Key": "CreatedTime", "Value": iso(since) or "", "Type": "GREATER_THAN"}],
            MaxResults=50,
        ).get("AssociationExecutions", [])
        if (aware(e.get("CreatedTime")) or since) >= after
    ]
    if not listed:
        return None
    first = min(listed, key=lambda e: aware(e.get("CreatedTime")) or after)
    status = str(first.get("Status") or "Pending")
    return RunSeen(
        status=status,
        finished=status not in RUNNING,
        execution_id=first["ExecutionId"],
        created_at=aware(first.get("CreatedTime")),
        counts=tuple(sorted(parse_resource_counts(first.get("ResourceCountByStatus")).items())),
    )


def association_items(
    ssm: SSMClient, association_id: str, instance_ids: Sequence[str]
) -> dict[str, ItemState]:
    """Each instance's Association item for this association, as SSM.3 reads it: NON_COMPLIANT
    with the run that wrote it, COMPLIANT, or no item at all. Raises AWS's errors."""
    mine = set(instance_ids)
    still: set[str] = set()
    token: str | None = None
    while True:
        page = ssm.list_resource_compliance_summaries(
            Filters=ASSOCIATION_NONCOMPLIANT,
            MaxResults=PAGE,
            **({"NextToken": token} if token else {}),
        )
        still |= {s["ResourceId"] for s in page.get("ResourceComplianceSummaryItems", [])} & mine
        token = page.get("NextToken")
        if not token:
            break
    found = {i: ItemState(i, "COMPLIANT") for i in instance_ids if i not in still}
    for instance_id in instance_ids:
        if instance_id in still:
            found[instance_id] = _item(ssm, association_id, instance_id)
    return found


def _item(ssm: SSMClient, association_id: str, instance_id: str) -> ItemState:
    token: str | None = None
    while True:
        page = ssm.list_compliance_items(
            ResourceIds=[instance_id],
            ResourceTypes=["ManagedInstance"],
            Filters=[{"Key": "ComplianceType", "Values": ["Association"], "Type": "EQUAL"}],
            MaxResults=PAGE,
            **({"NextToken": token} if token else {}),
        )
        for item in page.get("ComplianceItems", []):
            if item.get("Id") == association_id:
                summary: dict[str, Any] = dict(item.get("ExecutionSummary") or {})
                return ItemState(
                    instance_id,
                    str(item.get("Status") or ""),
                    execution_id=summary.get("ExecutionId"),
                    execution_time=aware(summary.get("ExecutionTime")),
                )
        token = page.get("NextToken")
        if not token:
            return ItemState(instance_id, None)  # NON_COMPLIANT for another association only
