"""A one-line likely cause for a failed target: the three causes operators meet most, or unknown."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

CauseName = Literal["unreachable", "permissions", "bad_parameter", "unknown"]

_UNREACHABLE_STATUSES = {"undeliverable", "deliverytimedout", "timedout", "noinstancesintag"}
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
    elif _PERMISSIONS.search(text):
        name = "permissions"
    elif status == "invalidparameters" or _BAD_PARAMETER.search(text):
        name = "bad_parameter"
    return LikelyCause(name, _TEXTS[name])
