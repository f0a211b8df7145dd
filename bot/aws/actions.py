"""The one change ssm3-bot makes in AWS: run an association again now (StartAssociationsOnce),
plus the read that tells whether that helped; `AwsAssociationActions` is the re-run use case's
port (bot/app/reruns.py) over them, one SSM client a call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from bot.aws.errors import AWS_ERRORS, describe_error
from bot.aws.session import AwsAccess
from bot.models import AssociationKey, normalise_status
from bot.models.answers import AssociationState, AwsFailure
from bot.util.clock import aware

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient


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


class AwsAssociationActions:
    """The re-run's port through the member role of the association's account: AWS's errors
    become AwsFailure, and each call opens one SSM client and closes it."""

    def __init__(self, access: AwsAccess) -> None:
        self.access = access

    @contextmanager
    def _ssm(self, key: AssociationKey) -> Iterator[SSMClient]:
        try:
            ssm = self.access.ssm(key.scope)
            try:
                yield ssm
            finally:
                ssm.close()
        except AWS_ERRORS as exc:
            raise AwsFailure(describe_error(exc), exc) from exc

    def state(self, key: AssociationKey) -> AssociationState:
        with self._ssm(key) as ssm:
            return association_state(ssm, key)

    def rerun(self, key: AssociationKey) -> AssociationState:
        """Its state as it was, then StartAssociationsOnce: one client for both."""
        with self._ssm(key) as ssm:
            state = association_state(ssm, key)
            start_once(ssm, key)
            return state
