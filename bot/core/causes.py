"""A one-line likely cause for a failed target: the three causes operators meet most, or unknown."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.models.records import is_reported, is_run_failure

CauseName = Literal["unreachable", "timed_out", "permissions", "bad_parameter", "unknown"]

_UNREACHABLE_STATUSES = {"undeliverable", "deliverytimedout", "noinstancesintag"}
_UNREACHABLE = re.compile(r"not reported|connectionlost|could not be delivered|unreachable", re.I)
_PERMISSIONS = re.compile(
    r"accessdenied|access denied|not authorized|unauthorized|forbidden|permission denied|\b403\b",
    re.I,
)
_BAD_PARAMETER = re.compile(
    r"invalidparameter|invalid parameter|allowed values|invalid document|parameter .* (is )?required",
    re.I,
)


@dataclass(frozen=True)
class LikelyCause:
    name: CauseName
    text: str


_TEXTS: dict[CauseName, str] = {
    "unreachable": "Instance unreachable: the SSM agent is not reporting (stopped instance, "
    "agent down, or no route to the SSM endpoints).",
    "timed_out": "Timed out: the run did not finish in time (a long or hung step, or the agent "
    "stopped reporting mid-run); raise the document's timeout or fix the step.",
    "permissions": "Missing permissions: the instance profile or a resource policy denies an "
    "action the document needs.",
    "bad_parameter": "Bad document parameter: a value the document does not accept; fix the "
    "association's parameters.",
    "unknown": "Unknown: read the step's output for the error.",
}


def likely_cause(
    *,
    detailed_status: str | None = None,
    error_code: str | None = None,
    summary: str | None = None,
    stderr: str | None = None,
    ping_status: str | None = None,
) -> LikelyCause:
    """Classify from what SSM and the agent reported; the first matching cause wins."""
    status = (detailed_status or "").replace(" ", "").lower()
    text = " ".join(part for part in (error_code, summary, stderr) if part)
    name: CauseName = "unknown"
    if (
        ping_status in {"ConnectionLost", "Inactive"}
        or status in _UNREACHABLE_STATUSES
        or _UNREACHABLE.search(text)
    ):
        name = "unreachable"
    elif status == "timedout":
        name = "timed_out"
    elif _PERMISSIONS.search(text):
        name = "permissions"
    elif status == "invalidparameters" or _BAD_PARAMETER.search(text):
        name = "bad_parameter"
    return LikelyCause(name, _TEXTS[name])


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
