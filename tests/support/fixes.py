"""The fix use case's ports faked, shared by its unit tests and its follow-ups': a diagnosis's
evidence (one association failing on three instances: a bad parameter, or an old agent on one),
the fixes' AWS (records every write), and a store with that diagnosis kept (`fixes_on`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app.diagnoses import Diagnoses
from bot.app.fixes import Fixes
from bot.app.jobs import ScheduledJobs
from bot.app.permissions import LocalOperator
from bot.app.watches import Watches
from bot.core.diagnosis import (
    AgentFacts,
    AssociationFacts,
    DeclaredParameter,
    DocumentFacts,
    Evidence,
    RunFacts,
    StepOutput,
    TargetFacts,
)
from bot.core.watch import Look
from bot.models import Association, AssociationKey, Orphan
from bot.models.fixes import (
    AutomationOutcome,
    AutomationStarted,
    CommandOutcome,
    CommandStarted,
    ConcurrentEdit,
    FixFailed,
    ParameterUpdated,
)
from bot.store import Store
from bot.store.diagnoses import StoredDiagnosis

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
OPERATOR = "U0OPS0001"
BAD = ("i-0000000000000000a", "i-0000000000000000b")
OLD_AGENT = ("i-0000000000000000c",)


class FakeEvidence:
    """One association failing on three instances, whose Operation is `operation` (the
    document allows Scan, Install), and whose agent is too old on the third (a bad parameter
    comes first: it fails every instance)."""

    def __init__(self, operation: str = "latestt") -> None:
        self.operation = operation

    def read(
        self, key: AssociationKey, *, stored: Association | None, orphans: Iterable[Orphan]
    ) -> tuple[Evidence, dict[str, int]]:
        facts = AssociationFacts(
            key=key,
            name="patch-scan",
            document_name="AWS-RunPatchBaseline",
            document_version="$DEFAULT",
            association_version="3",
            parameters={"Operation": (self.operation,)},
            sync_compliance="AUTO",
            dispatch_role="arn:aws:iam::111111111111:role/dispatch",
        )
        document = DocumentFacts(
            "AWS-RunPatchBaseline",
            "1",
            {"Operation": DeclaredParameter("Operation", allowed_values=("Scan", "Install"))},
        )
        ids = (*BAD, *OLD_AGENT)
        agents = {
            i: AgentFacts(i, "Online", NOW, "3.0.1.0" if i in OLD_AGENT else "3.3.1.0", None, None)
            for i in ids
        }
        outdated = "Document schema version 2.2 is not supported by this version of SSM Agent"
        outputs = {OLD_AGENT[0]: StepOutput(OLD_AGENT[0], outdated)}
        targets = {i: TargetFacts(i, "Failed", "Failed", "cmd-1") for i in ids}
        return (
            Evidence(
                association=facts,
                instances=ids,
                document=document,
                run=RunFacts("exec-0", "Failed", NOW - timedelta(hours=1)),
                targets=targets,
                agents=agents,
                outputs=outputs,
            ),
            {},
        )


class FakeFixes:
    """The fixes' AWS: records every write; answers as chosen."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, Any]] = []
        self.refuse: FixFailed | None = None
        self.concurrent = False

    def update_parameter(
        self, key: AssociationKey, *, name: str, value: str | None, expected_version: str
    ) -> ParameterUpdated | ConcurrentEdit | FixFailed:
        if self.concurrent:
            return ConcurrentEdit(key, expected_version, "4")
        if self.refuse:
            return self.refuse
        self.writes.append(("UpdateAssociation", (name, value, expected_version)))
        return ParameterUpdated(key, name, ("latestt",), (value,) if value else None, "4", True)

    def rerun(self, key: AssociationKey) -> FixFailed | None:
        self.writes.append(("StartAssociationsOnce", key))
        return None

    def update_agent(
        self, key: AssociationKey, instance_ids: Sequence[str]
    ) -> CommandStarted | FixFailed:
        self.writes.append(("SendCommand", tuple(instance_ids)))
        return CommandStarted(("cmd-9",), tuple(instance_ids))

    def command_outcome(self, key: AssociationKey, command_id: str) -> CommandOutcome | FixFailed:
        raise AssertionError("not followed here")

    def troubleshoot(self, key: AssociationKey, instance_id: str) -> AutomationStarted | FixFailed:
        self.writes.append(("StartAutomationExecution", instance_id))
        return AutomationStarted(f"auto-{instance_id}", instance_id)

    def automation_outcome(
        self, key: AssociationKey, execution_id: str
    ) -> AutomationOutcome | FixFailed:
        raise AssertionError("not followed here")


class NoReads:
    """A watch port the test never reaches (its looks are tested in test_app_watches.py)."""

    def look(self, key: AssociationKey, after: datetime, instance_ids: Sequence[str]) -> Look:
        raise AssertionError("no look in these tests")


def fixes_on(
    store: Store,
    *,
    permissions: Any = None,
    enabled: bool = True,
    at: datetime = NOW,
    operation: str = "latestt",
) -> tuple[Fixes, FakeFixes, StoredDiagnosis]:
    aws = FakeFixes()
    jobs = ScheduledJobs(store, lambda: at)
    jobs.close()
    watches = Watches(
        store=store,
        jobs=jobs,
        reads=NoReads(),
        clock=lambda: at,
        watch_for=timedelta(hours=1),
        first_look_s=30,
    )
    fixes = Fixes(
        store=store,
        permissions=permissions or LocalOperator(),
        actions=aws,
        watches=watches,
        clock=lambda: at,
        enabled=enabled,
    )
    [item] = store.associations.tracked(now=NOW)
    kept = Diagnoses(
        store=store, evidence=FakeEvidence(operation), clock=lambda: NOW
    ).diagnose_kept(item.key, by=OPERATOR)
    assert isinstance(kept, StoredDiagnosis), kept
    return fixes, aws, kept


def group(kept: StoredDiagnosis, cause: str) -> int:
    return next(n for n, g in enumerate(kept.diagnosis.causes) if g.cause == cause)
