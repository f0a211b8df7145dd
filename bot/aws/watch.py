"""What the confirm-COMPLIANT watch reads after a re-run or a fix (bot/app/watches.py, through
`AwsWatch`, one SSM client a look):

- `first_run_after`: the first execution of the association created after the action
  (DescribeAssociationExecutions filtered on CreatedTime), and whether it finished;
- `run_failures`: once it finished, the targets it failed on (DescribeAssociationExecutionTargets,
  one status a query, only the statuses its counts name: nothing when it succeeded);
- `association_items`: SSM.3's view of the instances the association made NON_COMPLIANT —
  each one's compliance item of type Association for that association. The scope's
  NON_COMPLIANT instances come first (ListResourceComplianceSummaries, 50 a page); only those
  of ours still among them need their items read (ListComplianceItems, one instance a call).

Reads only; `bot.core.watch.outcome` judges what they say.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.aws.compliance import ASSOCIATION_NONCOMPLIANT
from bot.aws.errors import AWS_ERRORS, describe_error, iam_hint, is_denied
from bot.aws.reader import PAGE, parse_resource_counts
from bot.aws.session import AwsAccess
from bot.core.watch import ItemState, Look, RunFailure, RunState
from bot.models import UNSUCCESSFUL, AssociationKey
from bot.models.answers import AwsFailure
from bot.util.clock import aware, iso

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

RUNNING = frozenset({"InProgress", "Pending"})
ITEM_READERS = 8  # ListComplianceItems calls at once: a still-failing run of 500 in seconds


def first_run_after(ssm: SSMClient, key: AssociationKey, after: datetime) -> RunState | None:
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
    return RunState(
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
    failing = [i for i in instance_ids if i in still]
    if failing:  # one call an instance: a few at once (the client is thread-safe)
        with ThreadPoolExecutor(max_workers=min(ITEM_READERS, len(failing))) as pool:
            for item in pool.map(lambda i: _item(ssm, association_id, i), failing):
                found[item.instance_id] = item
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


def run_failures(ssm: SSMClient, key: AssociationKey, run: RunState) -> tuple[RunFailure, ...]:
    """The targets a finished run failed or timed out on. Raises AWS's errors."""
    counts = dict(run.counts)
    found: list[RunFailure] = []
    for status in (s for s in UNSUCCESSFUL if counts.get(s)):
        token: str | None = None
        while True:
            page = ssm.describe_association_execution_targets(
                AssociationId=key.association_id,
                ExecutionId=run.execution_id,
                Filters=[{"Key": "Status", "Value": status}],
                MaxResults=PAGE,
                **({"NextToken": token} if token else {}),
            )
            found += [
                RunFailure(t["ResourceId"], str(t.get("Status") or status), t.get("DetailedStatus"))
                for t in page.get("AssociationExecutionTargets", [])
            ]
            token = page.get("NextToken")
            if not token:
                break
    return tuple(found)


class AwsWatch:
    """The watch's port (bot/app/watches.py): one look through the member role, one SSM
    client; AWS's refusal or silence as AwsFailure (`denied` when a permission is missing)."""

    def __init__(self, access: AwsAccess) -> None:
        self.access = access

    def look(self, key: AssociationKey, after: datetime, instance_ids: Sequence[str]) -> Look:
        """The first run after `after`; once it finished, what it failed on and the
        Association items of `instance_ids` and of those."""
        try:
            ssm = self.access.ssm(key.scope)
            try:
                run = first_run_after(ssm, key, after)
                if run is None or not run.finished:
                    return Look(run)
                failures = run_failures(ssm, key, run)
                watched = list(dict.fromkeys([*instance_ids, *(f.instance_id for f in failures)]))
                return Look(run, failures, association_items(ssm, key.association_id, watched))
            finally:
                ssm.close()
        except AWS_ERRORS as exc:
            denied = is_denied(exc)
            hint = f" ({iam_hint('ssm:DescribeAssociationExecutions')})" if denied else ""
            raise AwsFailure(
                describe_error(exc), exc, reason=f"{describe_error(exc)}{hint}", denied=denied
            ) from exc
