"""What AWS answers a fix (bot/aws/fixes.py makes the calls; bot/app/fixes.py, the use case,
reads these through its port): a parameter changed, an edit refused because the association
changed since it was diagnosed, a command or a runbook started and how it ended, or AWS
refusing the call (naming the policy file in iam/ that grants it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.models.records import AssociationKey


@dataclass(frozen=True)
class FixFailed:
    """AWS refused or did not answer. `policy`: the file in iam/ that grants `action`."""

    action: str
    error: str
    denied: bool
    policy: str

    @property
    def message(self) -> str:
        if self.denied:
            return f"AWS refused {self.action}: attach {self.policy} to the role ({self.error})"
        return f"{self.action} failed: {self.error}"


@dataclass(frozen=True)
class ConcurrentEdit:
    """Someone changed the association since the diagnosis read it: nothing was written."""

    key: AssociationKey
    expected_version: str
    found_version: str | None

    @property
    def message(self) -> str:
        now = f"version {self.found_version}" if self.found_version else "a newer version"
        return (
            f"The association was changed since it was diagnosed (version {self.expected_version} "
            f"read, {now} now): nothing was changed; diagnose it again."
        )


@dataclass(frozen=True)
class ParameterUpdated:
    key: AssociationKey
    parameter: str
    before: tuple[str, ...] | None
    after: tuple[str, ...] | None
    association_version: str | None  # the new one
    ran: bool  # the update itself started a run (ApplyOnlyAtCronInterval off)

    @property
    def detail(self) -> str:
        """The audit's before and after: `Operation: latestt → Install`."""
        before = ", ".join(self.before) if self.before else "(none)"
        after = ", ".join(self.after) if self.after else "(removed)"
        return f"{self.parameter}: {before} → {after}"


@dataclass(frozen=True)
class CommandStarted:
    command_ids: tuple[str, ...]
    instance_ids: tuple[str, ...]


@dataclass(frozen=True)
class InvocationSeen:
    instance_id: str
    status: str  # Pending, InProgress, Success, Failed, TimedOut, Cancelled, ...
    details: str


_COMMAND_RUNNING = frozenset({"Pending", "InProgress", "Delayed", "Cancelling"})


@dataclass(frozen=True)
class CommandOutcome:
    command_id: str
    invocations: tuple[InvocationSeen, ...]

    @property
    def finished(self) -> bool:
        return bool(self.invocations) and all(
            i.status not in _COMMAND_RUNNING for i in self.invocations
        )

    @property
    def succeeded(self) -> tuple[str, ...]:
        return tuple(i.instance_id for i in self.invocations if i.status == "Success")

    @property
    def failed(self) -> tuple[InvocationSeen, ...]:
        return tuple(i for i in self.invocations if i.status not in _COMMAND_RUNNING | {"Success"})


@dataclass(frozen=True)
class AutomationStarted:
    execution_id: str
    instance_id: str


@dataclass(frozen=True)
class AutomationOutcome:
    execution_id: str
    runbook: str
    status: str
    finished: bool
    failure: str | None
    failed_steps: tuple[tuple[str, str], ...]  # (step, its failure message)
    outputs: Mapping[str, tuple[str, ...]]
    ended_at: datetime | None

    @property
    def summary(self) -> str:
        """One line: what the runbook found."""
        if not self.finished:
            return f"{self.runbook} is {self.status}"
        if self.status == "Success":
            found = "; ".join(v for values in self.outputs.values() for v in values)
            return f"{self.runbook} passed" + (f": {found}" if found else "")
        step = "; ".join(f"{name}: {message}" for name, message in self.failed_steps)
        return f"{self.runbook} {self.status}: {step or self.failure or 'no detail'}"
