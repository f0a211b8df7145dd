"""Why an association fails, in the words every surface shares — one set of rules, the
diagnosis's (bot/core/diagnosis_rules.py), never a second guess:

- `cause_line`: a failing association's cause in a row's or a cell's width (the digest row, the
  alert, the CSV): the short form of the diagnosis someone made during this failing streak,
  else of the same rules applied to what the sweep stored (its failed targets' status and
  error summary: no extra AWS call; what only the step's stderr or the document can tell waits
  for a diagnosis, and then shows here);
- `target_cause`: one failed instance's cause, for History, from what History reads (the
  stderr, the agent's ping);
- `kind_label` / `remedy`: how it fails SSM.3 (a run, or reported) and what would make it pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from bot.core.diagnosis import (
    AgentFacts,
    AssociationFacts,
    CauseName,
    Diagnosis,
    Evidence,
    StepOutput,
    TargetFacts,
)
from bot.core.diagnosis_rules import diagnose
from bot.core.diagnosis_words import LABELS, explain, short
from bot.models import Association, AssociationKey, TrackedAssociation
from bot.models.records import is_reported, is_run_failure

_UNREAD = "not read"  # the agents: the sweep does not read them
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # a diagnosis of stored facts is dated by nothing


@dataclass(frozen=True)
class LikelyCause:
    """One instance's cause: its name (the diagnosis's) and the sentence that says it."""

    name: CauseName
    text: str


def sweep_evidence(association: Association) -> Evidence:
    """What the sweep stored of a failing association, as a diagnosis's evidence: its failed
    targets (status, detailed status) and their error summaries standing in for the stderr."""
    targets = {
        t.instance_id: TargetFacts(
            t.instance_id,
            "TimedOut" if (t.detailed_status or "") == "TimedOut" else "Failed",
            t.detailed_status,
            t.command_id,
        )
        for t in association.failed_targets
    }
    outputs = {
        t.instance_id: StepOutput(
            t.instance_id, " ".join(p for p in (t.summary, t.error_code) if p) or None
        )
        for t in association.failed_targets
    }
    instances = tuple(dict.fromkeys([*association.noncompliant_instances, *targets]))
    return Evidence(
        association=AssociationFacts(
            key=association.key,
            name=association.association_name,
            document_name=association.document_name,
            document_version="$DEFAULT",
            association_version=association.association_version,
            parameters={},
            sync_compliance=association.sync_compliance,
            dispatch_role=_UNREAD,
            failure_kind=association.failure_kind,
        ),
        instances=instances,
        targets=targets,
        agents_error=_UNREAD,
        outputs=outputs,
    )


def sweep_diagnosis(association: Association) -> Diagnosis:
    """The diagnosis rules over what the sweep stored (no AWS call)."""
    return diagnose(sweep_evidence(association), now=_EPOCH)


def cause_line(item: TrackedAssociation) -> str | None:
    """A failing association's cause in a few words ("missing permission s3:GetObject (4)"):
    the diagnosis made during this streak, else the rules over the stored facts; None when
    those can say nothing more than "unknown" for half its instances or more (the top error
    says more then)."""
    if not item.association.failing:
        return None
    if item.diagnosed:
        return item.diagnosed
    found = sweep_diagnosis(item.association)
    unknown = sum(len(g.instances) for g in found.causes if g.cause == "unknown")
    if not found.causes or unknown * 2 >= sum(len(g.instances) for g in found.causes):
        return None  # mostly unknown: the top error says more
    return short(found)


def target_cause(
    *,
    association: Association | None,
    instance_id: str,
    detailed_status: str | None,
    summary: str | None = None,
    stderr: str | None = None,
    ping_status: str | None = None,
    agent_version: str | None = None,
) -> LikelyCause:
    """One failed target's cause from what History read of it (its stderr and the agent's
    ping), by the diagnosis's rules (without the document: a diagnosis reads that)."""
    facts = AgentFacts(instance_id, ping_status, None, agent_version, None, None)
    base = sweep_evidence(association) if association is not None else None
    target = TargetFacts(
        instance_id,
        "TimedOut" if detailed_status == "TimedOut" else "Failed",
        detailed_status,
        None,
    )
    evidence = Evidence(
        association=base.association if base else _bare(),
        instances=(instance_id,),
        targets={instance_id: target},
        agents={instance_id: facts} if ping_status else {},
        agents_error=None if ping_status else _UNREAD,
        outputs={instance_id: StepOutput(instance_id, stderr or summary)},
    )
    found = diagnose(evidence, now=_EPOCH).instances[0]
    return LikelyCause(
        found.cause, f"{LABELS[found.cause]}: {explain(found.cause, found.evidence, str)}"
    )


def _bare() -> AssociationFacts:
    return AssociationFacts(
        key=AssociationKey("", "", ""),
        name=None,
        document_name="",
        document_version="$DEFAULT",
        association_version=None,
        parameters={},
        sync_compliance=None,
        dispatch_role=_UNREAD,
    )


# -- what fails SSM.3, and what fixes it (association level) ---------------------------------------
PATCH_DOCUMENTS = ("AWS-RunPatchBaseline", "AWS-RunPatchBaselineAssociation")


class FailingAssociation(Protocol):
    """What the remedy needs of an association (bot.models.Association has it)."""

    @property
    def failure_kind(self) -> str | None: ...
    @property
    def sync_compliance(self) -> str | None: ...
    @property
    def document_name(self) -> str: ...
    @property
    def detailed_status(self) -> str | None: ...


def is_patch_document(document: str | None) -> bool:
    return bool(document) and str(document).startswith(PATCH_DOCUMENTS)


def kind_label(association: FailingAssociation) -> str:
    """A few words for how it fails SSM.3: 'run failed', 'run timed out', 'reported'."""
    if is_run_failure(association.failure_kind):
        return "run timed out" if association.detailed_status == "TimedOut" else "run failed"
    if is_reported(association.failure_kind):
        if association.sync_compliance == "MANUAL":
            return "reported NON_COMPLIANT (SyncCompliance MANUAL)"
        return "reported NON_COMPLIANT"
    return "compliant"


def remedy(association: FailingAssociation) -> str:
    """What would make SSM.3 pass for it, in one sentence (plain text: escape for mrkdwn)."""
    if is_run_failure(association.failure_kind):
        return (
            "A re-run can fix it once the cause is fixed: History shows which step failed and why."
        )
    if not is_reported(association.failure_kind):
        return "Nothing to do: it makes no instance NON_COMPLIANT."
    if is_patch_document(association.document_name):
        return (
            "A re-run will not fix it: its runs succeed, and the instances are missing patches. "
            "Install them (Patch Manager: patch now, or a patch-install association or "
            "maintenance window; Security Hub SSM.2 lists the same instances)."
        )
    if association.sync_compliance == "MANUAL":
        return (
            "A re-run will not fix it: its compliance is reported by its document "
            "(SyncCompliance MANUAL), not by its runs. Fix what the document reports, then "
            "let it report again."
        )
    return (
        "A re-run will not fix it: its instances are NON_COMPLIANT without a failed latest run "
        "(a stale or separately reported item). History shows what SSM.3 sees per instance."
    )


def short_remedy(association: FailingAssociation) -> str:
    """`remedy` in a table cell's or a digest row's width."""
    if not is_reported(association.failure_kind):
        return remedy(association)
    if is_patch_document(association.document_name):
        return "A re-run will not fix it: missing patches; install them (Patch Manager, SSM.2)"
    if association.sync_compliance == "MANUAL":
        return "A re-run will not fix it: its document reports compliance (MANUAL); fix what it reports"
    return "A re-run will not fix it: NON_COMPLIANT with no failed run; History shows why"


ORPHAN_REMEDY = (
    "Its association no longer exists, so nothing will report the instance compliant again: "
    "delete the item (PutComplianceItems, ComplianceType Association, UploadType COMPLETE, no "
    "items) or deregister the instance if it is gone."
)
