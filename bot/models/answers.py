"""What AWS answers a use case through its ports (bot/aws/ adapts boto3 to these): an
association's state now, and `AwsFailure`, AWS's refusal or silence as a use case sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.models.records import AssociationKey, Status


class AwsFailure(Exception):
    """AWS refused a call or did not answer: `str()` is its one readable line, `reason` the
    few words a person is told (throttled, denied and what to grant); `cause` the error
    itself, for the surface that says more (bot/aws/errors.py)."""

    def __init__(self, line: str, cause: BaseException, *, reason: str | None = None) -> None:
        super().__init__(line)
        self.cause = cause
        self.reason = reason or line


class AssociationGone(Exception):
    """AWS says the association does not exist (DescribeAssociation)."""


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
