"""The one change ssm3-bot makes in AWS: run an association again now (StartAssociationsOnce),
plus the read that tells whether that helped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.models import AssociationKey, Status, normalise_status
from bot.util.clock import aware

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient


@dataclass(frozen=True)
class AssociationState:
    """An association's Overview as DescribeAssociation reports it now."""

    key: AssociationKey
    name: str | None
    status: Status
    detailed_status: str | None
    sync_compliance: str | None
    counts: dict[str, int]
    last_execution_at: datetime | None

    @property
    def compliant(self) -> bool:
        return self.status == "Success"

    @property
    def rerun_can_fix(self) -> bool:
        """MANUAL associations report compliance only through PutComplianceItems."""
        return self.sync_compliance != "MANUAL"


def start_once(ssm: SSMClient, key: AssociationKey) -> None:
    """StartAssociationsOnce for one association (the API takes 1 to 10 IDs and returns nothing)."""
    ssm.start_associations_once(AssociationIds=[key.association_id])


def association_state(ssm: SSMClient, key: AssociationKey) -> AssociationState:
    description = ssm.describe_association(AssociationId=key.association_id)[
        "AssociationDescription"
    ]
    overview = description.get("Overview", {})
    aggregated = overview.get("AssociationStatusAggregatedCount") or {}
    return AssociationState(
        key=key,
        name=description.get("AssociationName"),
        status=normalise_status(overview.get("Status")),
        detailed_status=overview.get("DetailedStatus"),
        sync_compliance=description.get("SyncCompliance"),
        counts={str(k): int(v) for k, v in aggregated.items()},
        last_execution_at=aware(description.get("LastExecutionDate")),
    )
