"""Run Command's commands and Automation's executions in the simulator: what SendCommand and
StartAutomationExecution start, and what ListCommandInvocations and GetAutomationExecution
read back. Each outcome is decided when it starts and shows once its time has passed, as a
real command stays InProgress while the agents work."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def _now(clock: Callable[[], datetime] | None) -> datetime:
    return clock() if clock else datetime.now(UTC)


@dataclass(frozen=True)
class InvocationResult:
    """How one instance's invocation of a command ends."""

    status: str  # Success, Failed, TimedOut, Cancelled (and, while running, InProgress)
    status_details: str  # Success, Failed, DeliveryTimedOut, Undeliverable, ...
    response_code: int = 0
    stdout: str = ""
    stderr: str = ""


@dataclass
class SimCommand:
    """One SendCommand: a document run on given instances."""

    command_id: str
    document: str
    parameters: Mapping[str, list[str]]
    instance_ids: tuple[str, ...]
    requested_at: datetime
    results: dict[str, InvocationResult]
    finishes_at: datetime | None = None
    comment: str = ""
    clock: Callable[[], datetime] | None = field(default=None, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.finishes_at is None or _now(self.clock) >= self.finishes_at

    def result(self, instance_id: str) -> InvocationResult:
        if not self.finished:
            return InvocationResult("InProgress", "InProgress")
        return self.results[instance_id]

    @property
    def status(self) -> str:
        if not self.finished:
            return "InProgress"
        statuses = {r.status for r in self.results.values()}
        for worst in ("Failed", "TimedOut", "Cancelled"):
            if worst in statuses:
                return worst
        return "Success"

    def counts(self) -> tuple[int, int, int]:
        """(completed, errors, delivery timed out), as the Command record counts them."""
        if not self.finished:
            return 0, 0, 0
        errors = sum(1 for r in self.results.values() if r.status != "Success")
        timed_out = sum(1 for r in self.results.values() if r.status_details == "DeliveryTimedOut")
        return len(self.results), errors, timed_out


@dataclass(frozen=True)
class AutomationStep:
    name: str
    action: str
    status: str
    failure_message: str = ""
    outputs: Mapping[str, list[str]] = field(default_factory=dict)


@dataclass
class SimAutomation:
    """One StartAutomationExecution of a runbook."""

    execution_id: str
    document: str
    document_version: str
    parameters: Mapping[str, list[str]]
    started_at: datetime
    status: str  # Success or Failed once it ends
    steps: tuple[AutomationStep, ...]
    outputs: Mapping[str, list[str]] = field(default_factory=dict)
    failure_message: str = ""
    executed_by: str = ""
    finishes_at: datetime | None = None
    clock: Callable[[], datetime] | None = field(default=None, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.finishes_at is None or _now(self.clock) >= self.finishes_at

    def to_api(self) -> dict[str, Any]:
        """GetAutomationExecution's AutomationExecution (InProgress until it ends)."""
        done = self.finished
        execution: dict[str, Any] = {
            "AutomationExecutionId": self.execution_id,
            "DocumentName": self.document,
            "DocumentVersion": self.document_version,
            "ExecutionStartTime": self.started_at,
            "AutomationExecutionStatus": self.status if done else "InProgress",
            "Parameters": {k: list(v) for k, v in self.parameters.items()},
            "Mode": "Auto",
            "StepExecutionsTruncated": False,
            "StepExecutions": [
                _step(step, self.started_at, done or index == 0)
                for index, step in enumerate(self.steps)
                if done or index == 0
            ],
        }
        if self.executed_by:
            execution["ExecutedBy"] = self.executed_by
        if done:
            execution["ExecutionEndTime"] = self.finishes_at or self.started_at
            if self.outputs:
                execution["Outputs"] = {k: list(v) for k, v in self.outputs.items()}
            if self.failure_message:
                execution["FailureMessage"] = self.failure_message
        else:
            execution["CurrentStepName"] = self.steps[0].name if self.steps else ""
        return execution


def _step(step: AutomationStep, started: datetime, shown: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "StepName": step.name,
        "Action": step.action,
        "ExecutionStartTime": started,
        "StepStatus": step.status if shown else "InProgress",
        "OnFailure": "Abort",
        "IsCritical": True,
    }
    if step.failure_message:
        item["FailureMessage"] = step.failure_message
    if step.outputs:
        item["Outputs"] = {k: list(v) for k, v in step.outputs.items()}
    return item
