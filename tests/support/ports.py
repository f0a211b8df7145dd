"""Fakes of the use cases' ports (bot/app/), shared by their unit tests on an in-memory store:
permissions, the re-run's AWS, Security Hub for the sync, the sweep runner and the scope
refresher of real time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.app.permissions import Decision
from bot.core import findings as rule
from bot.core.findings import FindingId, WriteResult
from bot.models import AssociationKey, DigestMessage, Scope, SweepSummary
from bot.models.answers import AssociationState, AwsFailure


class Nobody:
    """Permissions that refuse every change."""

    def may_rerun(self, actor: str) -> Decision:
        return Decision(False, "Only operators may do that.")

    may_acknowledge = may_sweep = may_view = may_rerun


class OnlyOps:
    """Permissions that let U0OPS0001 alone change anything."""

    def may_rerun(self, actor: str) -> Decision:
        return Decision(actor == "U0OPS0001", "Only operators may re-run.")

    may_acknowledge = may_sweep = may_view = may_rerun


class FakeAws:
    """The re-run's AssociationActions: records starts and answers a chosen state."""

    def __init__(self, status: str = "Failed", sync: str = "AUTO", fail: bool = False) -> None:
        self.started: list[AssociationKey] = []
        self.status, self.sync, self.fail = status, sync, fail

    def state(self, key: AssociationKey) -> AssociationState:
        if self.fail:
            denied = "DescribeAssociation: AccessDenied: no"
            raise AwsFailure(denied, PermissionError(denied))
        return AssociationState(key, None, self.status, None, self.sync, {self.status: 1}, None)  # type: ignore[arg-type]

    def rerun(self, key: AssociationKey) -> AssociationState:
        state = self.state(key)
        self.started.append(key)
        return state


class FakeHub:
    """Security Hub for the sync: the findings it holds, what was written, and a read that
    can fail as AWS's would."""

    def __init__(self, findings: Sequence[rule.Finding] = (), *, down: str | None = None) -> None:
        self.findings = list(findings)
        self.down = down  # the reason a read fails with (None: reads answer)
        self.writes: list[tuple[rule.Update, list[FindingId]]] = []
        self.closed = 0

    def failed(self, scopes: Sequence[Scope] | None) -> list[rule.Finding]:
        self._answer()
        return [f for f in self.findings if f.compliance == "FAILED"]

    def held(self, scopes: Sequence[Scope] | None) -> list[rule.Finding]:
        self._answer()
        return [f for f in self.findings if f.bot_note and f.workflow in rule.ACK_WORKFLOWS]

    def update(self, groups: Sequence[tuple[rule.Update, Sequence[FindingId]]]) -> WriteResult:
        result = WriteResult()
        for update, ids in groups:
            self.writes.append((update, list(ids)))
            result.processed.update(i for i, _ in ids)
            result.calls += 1
        return result

    def close(self) -> None:
        self.closed += 1

    def _answer(self) -> None:
        if self.down is not None:
            raise AwsFailure(f"GetFindings: {self.down}", RuntimeError(self.down), reason=self.down)


class FakeRunner:
    """The sweep runner a manual sweep drives: busy, losing the race, or failing to start."""

    def __init__(
        self,
        now: datetime,
        *,
        busy: bool = False,
        race: type[Exception] | None = None,
        error: Exception | None = None,
    ) -> None:
        self.now, self.busy, self.race, self.error = now, busy, race, error
        self.after: list[list[DigestMessage | None]] = []

    def sweep_busy(self) -> bool:
        return self.busy

    def sweep(self, trigger: str) -> SweepSummary:
        if self.race is not None:
            raise self.race
        if self.error is not None:
            raise self.error
        return SweepSummary("s1", self.now, self.now, scopes=2, associations=5, failing=1)

    def after_sweep(self, also: Iterable[DigestMessage | None] = ()) -> None:
        self.after.append(list(also))


class FakeRefresher:
    """Real time's ScopeRefresher: records what it re-read, or fails for chosen scopes."""

    def __init__(self, summary: SweepSummary, *, failing: Iterable[Scope] = ()) -> None:
        self.summary = summary
        self.failing = set(failing)
        self.refreshed: list[list[Scope]] = []

    def refresh_scopes(self, scopes: Sequence[Scope], trigger: str = "event") -> SweepSummary:
        self.refreshed.append(list(scopes))
        if self.failing & set(scopes):
            raise RuntimeError("AWS did not answer")
        return self.summary
