"""The records of a diagnosis: what was read about a failing association (the facts), and what
it concluded per instance (one cause, its evidence, the fix) and per group of instances.

Facts come from `bot.aws.diagnosis`; `bot.core.diagnosis_rules` turns them into a `Diagnosis`;
the surfaces render it (`bot.render.diagnosis`) and the fixes act on its `Fix` data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from bot.models import AssociationKey, FailureKind

CauseName = Literal[
    "unreachable",
    "agent_outdated",
    "permissions",
    "bad_parameter",
    "timed_out",
    "stopped_by_alarm",
    "calendar_closed",
    "missing_patches",
    "orphan",
    "unknown",
]
# The contract's causes, in the order a surface lists them.
CAUSES: tuple[CauseName, ...] = get_args(CauseName)
FixKind = Literal["troubleshoot", "update_agent", "iam_statement", "update_parameter", "manual"]
# Fixes the bot may apply (with a person's click, SSM3_FIXES=on); the rest are text.
APPLICABLE: frozenset[FixKind] = frozenset({"troubleshoot", "update_agent", "update_parameter"})
JsonValue = Any  # str | int | bool | None | list | dict: what `evidence` holds


# -- what was read ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclaredParameter:
    """One parameter a document version declares (GetDocument's Content)."""

    name: str
    type: str = "String"
    allowed_values: tuple[str, ...] | None = None
    allowed_pattern: str | None = None
    default: str | None = None
    has_default: bool = False  # declared without a default: required

    @property
    def required(self) -> bool:
        return not self.has_default


@dataclass(frozen=True)
class DocumentFacts:
    name: str
    version: str  # the numbered version read (the association's $DEFAULT / $LATEST resolved)
    parameters: Mapping[str, DeclaredParameter]


@dataclass(frozen=True)
class AssociationFacts:
    """The association as DescribeAssociation reports it now (and how the store judged it)."""

    key: AssociationKey
    name: str | None
    document_name: str
    document_version: str  # as set on it: $DEFAULT, $LATEST or a number
    association_version: str | None
    parameters: Mapping[str, tuple[str, ...]]
    sync_compliance: str | None
    calendar_names: tuple[str, ...] = ()
    dispatch_role: str | None = None
    failure_kind: FailureKind | None = None  # as the last sweep judged it; None: not stored


@dataclass(frozen=True)
class RunFacts:
    """The latest finished execution (the one whose failures the instances carry)."""

    execution_id: str
    status: str
    created_at: datetime | None
    triggered_alarms: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetFacts:
    """An unsuccessful target of that run."""

    instance_id: str
    status: str  # Failed, TimedOut
    detailed_status: str | None
    command_id: str | None


@dataclass(frozen=True)
class AgentFacts:
    """DescribeInstanceInformation's view of one node."""

    instance_id: str
    ping_status: str | None
    last_ping_at: datetime | None
    agent_version: str | None
    is_latest: bool | None
    iam_role: str | None
    platform: str | None = None


@dataclass(frozen=True)
class CalendarFacts:
    names: tuple[str, ...]
    closed: tuple[str, ...]
    next_open_at: datetime | None

    @property
    def is_closed(self) -> bool:
        return bool(self.closed)


@dataclass(frozen=True)
class PatchFacts:
    """An instance's NON_COMPLIANT Patch items: how many, by severity, a few titles."""

    instance_id: str
    missing: int
    by_severity: Mapping[str, int]
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepOutput:
    """A failed step's stderr (GetCommandInvocation), or why it could not be read."""

    instance_id: str
    stderr: str | None
    error: str | None = None


@dataclass(frozen=True)
class Evidence:
    """Everything one diagnosis read. `instances`: those it diagnoses, in order. `agents`
    lacks an instance that is not a registered node (or all of them: `agents_error`)."""

    association: AssociationFacts
    instances: tuple[str, ...]
    exists: bool = True  # False: the association is gone (its items are orphans)
    document: DocumentFacts | None = None
    run: RunFacts | None = None
    run_in_progress_since: datetime | None = None
    targets: Mapping[str, TargetFacts] = field(default_factory=dict)
    agents: Mapping[str, AgentFacts] = field(default_factory=dict)
    agents_error: str | None = None
    calendar: CalendarFacts | None = None
    patches: Mapping[str, PatchFacts] = field(default_factory=dict)
    outputs: Mapping[str, StepOutput] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what could not be read, already worded as warnings


# -- what it concluded -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IamStatement:
    """A policy statement to add to a role: Allow `action` on `resource` (or *)."""

    action: str
    resource: str | None

    def as_policy(self) -> dict[str, Any]:
        return {"Effect": "Allow", "Action": self.action, "Resource": self.resource or "*"}


@dataclass(frozen=True)
class Fix:
    """What to do, in one line, and what an applied fix needs (phase B's buttons and modal):
    - update_parameter: `parameter`, its `value` now, `allowed_values` or `allowed_pattern`,
      and the `association_version` read (sent back, so a concurrent edit is refused);
    - update_agent / troubleshoot: `instance_ids` (exactly those), `document` (the runbook);
    - iam_statement: `statement` for `role` (shown to paste, never applied);
    - manual: `command`, when there is one to run by hand."""

    kind: FixKind
    text: str
    instance_ids: tuple[str, ...] = ()
    parameter: str | None = None
    value: str | None = None
    allowed_values: tuple[str, ...] | None = None
    allowed_pattern: str | None = None
    association_version: str | None = None
    document: str | None = None
    statement: IamStatement | None = None
    role: str | None = None
    command: str | None = None

    @property
    def applicable(self) -> bool:
        return self.kind in APPLICABLE


@dataclass(frozen=True)
class InstanceDiagnosis:
    instance_id: str
    cause: CauseName
    evidence: Mapping[str, JsonValue]
    fix: Fix
    inferred: bool = False  # its stderr was not read: it failed as the ones read did


@dataclass(frozen=True)
class CauseGroup:
    """Instances with the same cause and evidence (volatile evidence summed or summarised:
    the latest last ping, the oldest agent, the patches missing in all)."""

    cause: CauseName
    instances: tuple[str, ...]
    evidence: Mapping[str, JsonValue]
    fix: Fix


@dataclass(frozen=True)
class Diagnosis:
    key: AssociationKey
    association_name: str | None
    document_name: str
    document_version: str | None
    failure_kind: FailureKind | None
    dispatch_role: str | None
    instances: tuple[InstanceDiagnosis, ...]
    causes: tuple[CauseGroup, ...]
    warnings: tuple[str, ...]
    read_at: datetime
    aws_calls: Mapping[str, int] = field(default_factory=dict)

    def group(self, cause: CauseName) -> CauseGroup | None:
        return next((g for g in self.causes if g.cause == cause), None)
