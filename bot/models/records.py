"""Plain, frozen data that flows from AWS through the store to the renderers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.util.strings import unnamed

Status = Literal["Success", "Failed", "Pending"]
SyncCompliance = Literal["AUTO", "MANUAL"]
# What fails SSM.3 and so what fixes it: a failed or timed-out run (a re-run can fix it), or
# compliance reported NON_COMPLIANT some other way (MANUAL sync, e.g. missing patches).
FailureKind = Literal["execution", "reported"]


def is_reported(kind: str | None) -> bool:
    """SSM.3 fails it on what is reported, with no failed run to blame: a re-run cannot fix it."""
    return kind == "reported"


def is_run_failure(kind: str | None) -> bool:
    """Its latest run failed or timed out where SSM.3 fails it: a re-run can fix it."""
    return kind == "execution"


UNSUCCESSFUL = ("Failed", "TimedOut")  # target and execution statuses that make a run fail


def normalise_status(raw: str | None) -> Status:
    """Map State Manager's status names onto the three the contract speaks of."""
    return "Success" if raw == "Success" else "Failed" if raw == "Failed" else "Pending"


@dataclass(frozen=True, order=True)
class Scope:
    """One account-region: the unit a sweep reads and may fail on."""

    account_id: str
    region: str

    def __str__(self) -> str:
        return f"{self.account_id}/{self.region}"


@dataclass(frozen=True)
class AssociationRef:
    """An association as a person named it; an ARN also says where it lives."""

    association_id: str
    account_id: str | None = None
    region: str | None = None


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


@dataclass(frozen=True, order=True)
class InstanceKey:
    """A managed instance where it lives: what SSM.3 and its findings are judged on."""

    account_id: str
    region: str
    instance_id: str

    def __str__(self) -> str:
        return f"{self.account_id}/{self.region}/{self.instance_id}"


@dataclass(frozen=True)
class SecurityHubCheck:
    """Security Hub's SSM.3 verdict set beside the sweep's: the instances its ACTIVE, FAILED
    findings name in the swept account-regions, and where the two disagree."""

    region: str
    checked_at: datetime
    failed_instances: int = 0
    explained: int = 0
    unexplained: tuple[InstanceKey, ...] = ()  # Security Hub fails them, the sweep does not
    sweep_only: tuple[InstanceKey, ...] = ()  # the sweep fails them, Security Hub does not
    error: str | None = None
    # Both Security Hubs: the fields above are CSPM's; `hubs`, those found on ("cspm", "v2");
    # `v2`, the same verdict from the new Security Hub (None: it is off or was not asked).
    hubs: tuple[str, ...] = ()
    v2: SecurityHubCheck | None = None

    @property
    def agrees(self) -> bool:
        return self.error is None and not self.unexplained and not self.sweep_only


@dataclass(frozen=True)
class ComplianceItem:
    """One compliance item of type Association on a managed instance: what SSM.3 reads.

    Its `Id` is the ID of the association that reported it."""

    instance_id: str
    association_id: str
    status: str
    title: str | None = None
    severity: str | None = None
    execution_time: datetime | None = None
    document_name: str | None = None

    @property
    def noncompliant(self) -> bool:
        return self.status == "NON_COMPLIANT"


@dataclass(frozen=True)
class InstanceCompliance:
    """A managed instance SSM.3 fails (its Association compliance is NON_COMPLIANT), as
    ListResourceComplianceSummaries reports it, with its items when they had to be read."""

    instance_id: str
    execution_time: datetime | None
    noncompliant_count: int
    items: tuple[ComplianceItem, ...] | None = None  # None: explained by failed runs, not read


@dataclass(frozen=True)
class Orphan:
    """A NON_COMPLIANT Association item whose association no longer exists: SSM.3 still fails
    the instance, and only removing the item (or the instance) clears it."""

    account_id: str
    region: str
    association_id: str
    instance_id: str
    title: str | None = None

    @property
    def scope(self) -> Scope:
        return Scope(self.account_id, self.region)


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
    association_version: str | None = None
    sync_compliance: SyncCompliance | None = None  # read only for failing associations
    noncompliant_instances: tuple[str, ...] = ()  # instances it makes NON_COMPLIANT for SSM.3
    account_name: str | None = None  # from Organizations (ListAccounts), where it is known

    @property
    def key(self) -> AssociationKey:
        return AssociationKey(self.account_id, self.region, self.association_id)

    @property
    def failing(self) -> bool:
        """Failing as SSM.3 judges it: it makes at least one instance NON_COMPLIANT."""
        return bool(self.noncompliant_instances)

    @property
    def run_failed(self) -> bool:
        """Its latest run failed or timed out on some target (the Overview's view)."""
        return self.status == "Failed" or any(self.counts.get(s) for s in UNSUCCESSFUL)

    @property
    def failure_kind(self) -> FailureKind | None:
        """`execution` when a re-run can fix it: AUTO sync and every NON_COMPLIANT instance an
        unsuccessful target of the latest run; otherwise `reported`."""
        if not self.failing:
            return None
        if self.sync_compliance == "MANUAL":
            return "reported"
        failed = {t.instance_id for t in self.failed_targets}
        if all(i in failed for i in self.noncompliant_instances):
            return "execution"
        return "reported"

    @property
    def reported(self) -> bool:
        return is_reported(self.failure_kind)

    @property
    def execution_failure(self) -> bool:
        return is_run_failure(self.failure_kind)

    @property
    def rerun_can_fix(self) -> bool:
        return not self.reported

    @property
    def display_name(self) -> str:  # unnamed: its document and short ID, never a bare UUID
        return self.association_name or unnamed(self.document_name, self.association_id)

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
    noncompliant: tuple[InstanceCompliance, ...] = ()  # every instance SSM.3 fails here
    orphans: tuple[Orphan, ...] = ()


@dataclass(frozen=True)
class Ack:
    """A person's statement that a failing association is known and being handled."""

    by: str
    reason: str
    created_at: datetime
    until: datetime | None
    by_name: str | None = None  # the name the surface knew them by (Slack's user name)


@dataclass(frozen=True)
class EndedAck:
    """How an association's latest acknowledgement ended (expired, unacknowledged by whom,
    resolved, deleted, unswept), for the note that sets its findings back to NEW."""

    key: AssociationKey
    ack: Ack
    ended_at: datetime
    ended_by: str | None
    end_reason: str


@dataclass(frozen=True)
class WriteClaim:
    """A write to a finding recorded before it is sent (bot/core/ownership.py): what it sets,
    and when; settled into `written_*` once it is known to have landed, dropped if not."""

    workflow: str
    note: str
    associations: tuple[str, ...] = ()
    until: datetime | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class FindingRecord:
    """One SSM.3 finding as the Security Hub sync last saw it, and what the bot last wrote to it
    (`written_*`: None when it never did; `claim`: a write sent and not yet settled); `hand`:
    how someone changed it by hand in Security Hub, so the bot leaves it alone (None: it did
    not)."""

    finding_id: str
    product_arn: str
    instance: InstanceKey
    seen_workflow: str
    seen_at: datetime
    written_workflow: str | None = None
    written_note: str | None = None
    written_at: datetime | None = None
    associations: tuple[str, ...] = ()
    until: datetime | None = None
    hand: str | None = None
    claim: WriteClaim | None = None


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
    # The short form of a diagnosis someone made during this failing streak (None: none yet).
    diagnosed: str | None = None

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


# What a sweep read: every configured account-region, those triage picked, or given ones.
SweepCoverage = Literal["full", "triage", "partial"]


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
    coverage: SweepCoverage = "full"

    @property
    def reached_any_scope(self) -> bool:
        """Read at least one account-region; a triage sweep that found nothing to read (Security
        Hub answered, and no account-region needed reading) did its job too."""
        if self.coverage == "triage" and self.scopes == 0:
            return True
        return self.scopes > self.scopes_failed


@dataclass(frozen=True)
class PriorDrilldown:
    """What the previous sweep learnt about an association: its drill-down, reusable if
    nothing ran since, and its SyncCompliance, reusable while its version is the same."""

    last_execution_at: datetime | None
    execution_id: str | None
    failed_targets: tuple[FailedTarget, ...]
    failed_target_count: int
    failing_evidence_since: datetime | None
    association_version: str | None = None
    sync_compliance: SyncCompliance | None = None
