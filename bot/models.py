"""Plain, frozen data that flows from AWS through the store to the renderers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Status = Literal["Success", "Failed", "Pending"]


def normalise_status(raw: str | None) -> Status:
    """Map State Manager's status names onto the three the contract speaks of."""
    if raw == "Success":
        return "Success"
    if raw == "Failed":
        return "Failed"
    return "Pending"


@dataclass(frozen=True, order=True)
class Scope:
    """One account-region: the unit a sweep reads and may fail on."""

    account_id: str
    region: str

    def __str__(self) -> str:
        return f"{self.account_id}/{self.region}"


@dataclass(frozen=True)
class AssociationKey:
    """Identifies an association; IDs are unique, the scope says where to call."""

    account_id: str
    region: str
    association_id: str

    @property
    def scope(self) -> Scope:
        return Scope(self.account_id, self.region)


@dataclass(frozen=True)
class FailedTarget:
    """A failed instance of an association's latest execution, with the evidence of why."""

    instance_id: str
    detailed_status: str | None = None
    error_code: str | None = None
    summary: str | None = None
    output_url: str | None = None
    command_id: str | None = None


@dataclass(frozen=True)
class Association:
    """An association as one sweep saw it; drill-down fields are filled for failing ones only."""

    account_id: str
    region: str
    association_id: str
    association_name: str | None
    document_name: str
    status: Status
    detailed_status: str | None
    counts: Mapping[str, int]
    last_execution_at: datetime | None
    schedule: str | None = None
    execution_id: str | None = None
    failed_targets: tuple[FailedTarget, ...] = ()
    failed_target_count: int = 0
    failing_evidence_since: datetime | None = None

    @property
    def key(self) -> AssociationKey:
        return AssociationKey(self.account_id, self.region, self.association_id)

    @property
    def failing(self) -> bool:
        return self.status == "Failed"

    @property
    def display_name(self) -> str:
        return self.association_name or self.association_id

    @property
    def total_targets(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ScopeResult:
    """What reading one account-region produced: its associations, or why it failed."""

    scope: Scope
    ok: bool
    error: str | None
    associations: tuple[Association, ...]
    started_at: datetime
    duration_s: float
    aws_calls: int = 0
    reused_drilldowns: int = 0


@dataclass(frozen=True)
class Ack:
    """A person's statement that a failing association is known and being handled."""

    by: str
    reason: str
    created_at: datetime
    until: datetime | None


@dataclass(frozen=True)
class Execution:
    """One run of an association, as DescribeAssociationExecutions reports it."""

    execution_id: str
    status: str
    detailed_status: str | None
    created_at: datetime | None
    counts: Mapping[str, int]


@dataclass(frozen=True)
class TrackedAssociation:
    """An association as the store knows it now: the latest sweep's view plus what persists."""

    association: Association
    failing_since: datetime | None
    last_seen_at: datetime
    ack: Ack | None = None

    @property
    def key(self) -> AssociationKey:
        return self.association.key


@dataclass(frozen=True)
class ScopeStatus:
    """How a scope fared in the latest sweep that tried it."""

    scope: Scope
    ok: bool
    error: str | None
    swept_at: datetime


@dataclass(frozen=True)
class SweepSummary:
    """The headline numbers of a sweep, stored with it and printed after it."""

    sweep_id: str
    started_at: datetime
    finished_at: datetime | None
    scopes: int = 0
    scopes_failed: int = 0
    associations: int = 0
    failing: int = 0
    acknowledged: int = 0
    noncompliant_instances: int = 0
    aws_calls: int = 0
    duration_s: float = 0.0

    @property
    def reached_any_scope(self) -> bool:
        return self.scopes > self.scopes_failed
