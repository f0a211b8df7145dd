"""A diagnosis in words, the same on every surface: a headline per group of instances ("4
instances: the instance role `app-instance-role` may not `s3:GetObject` on `arn:…`") and a
short form for a row or a cell. `code` formats a name (backticks for text and mrkdwn; a surface
that must escape passes its own). Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.core.diagnosis import CauseGroup, CauseName, Diagnosis

Code = Callable[[str], str]

LABELS: dict[CauseName, str] = {
    "unreachable": "unreachable",
    "agent_outdated": "SSM Agent too old",
    "permissions": "missing permission",
    "bad_parameter": "bad parameter",
    "timed_out": "timed out",
    "stopped_by_alarm": "stopped by an alarm",
    "calendar_closed": "change calendar closed",
    "missing_patches": "missing patches",
    "orphan": "orphaned item",
    "unknown": "unknown cause",
}


def backticks(text: str) -> str:
    return f"`{text}`"


def count(n: int) -> str:
    return f"{n} instance" if n == 1 else f"{n} instances"


def headline(group: CauseGroup, code: Code = backticks) -> str:
    return f"{count(len(group.instances))}: {explain(group.cause, group.evidence, code)}"


def explain(cause: CauseName, evidence: Mapping[str, Any], code: Code = backticks) -> str:
    """What the evidence says, as a clause."""
    return _CLAUSES[cause](evidence, code)


def _unreachable(e: Mapping[str, Any], code: Code) -> str:
    ping = e.get("ping_status") or "not a registered node"
    last = f", last ping {e['last_ping_at']}" if e.get("last_ping_at") else ""
    return f"not reachable by Systems Manager ({ping}{last})"


def _agent(e: Mapping[str, Any], code: Code) -> str:
    version = f" {code(e['agent_version'])}" if e.get("agent_version") else ""
    return f"the SSM Agent{version} is too old to run the document"


def _permissions(e: Mapping[str, Any], code: Code) -> str:
    role = f"the instance role {code(e['role'])}" if e.get("role") else "the instance's role"
    on = f" on {code(e['resource'])}" if e.get("resource") else ""
    return f"{role} may not {code(e['action'])}{on}"


def _timed_out(e: Mapping[str, Any], code: Code) -> str:
    seconds = e.get("timeout_seconds")
    limit = f"executionTimeout {seconds} s" if seconds else "the document sets no timeout"
    return f"the run timed out ({limit})"


def _alarm(e: Mapping[str, Any], code: Code) -> str:
    return f"CloudWatch alarm {_names(e.get('alarms') or [], code)} stopped the run"


def _calendar(e: Mapping[str, Any], code: Code) -> str:
    until = e.get("next_open_at") or "further notice"
    names = _names(e.get("calendars") or [], code)
    return f"change calendar {names} is CLOSED until {until}, so it cannot run again"


def _orphan(e: Mapping[str, Any], code: Code) -> str:
    return (
        f"their item of the deleted association {code(str(e['association_id']))} is "
        "NON_COMPLIANT and nothing will report it again"
    )


def _unknown(e: Mapping[str, Any], code: Code) -> str:
    return str(e.get("error") or "no error output")


def _bad_parameter(e: Mapping[str, Any], code: Code) -> str:
    if e.get("parameter") is None:
        return "AWS refused a parameter it passes (InvalidParameters)"
    name = code(str(e["parameter"]))
    value = e.get("value")
    if value is None:
        return f"the required parameter {name} has no value"
    if e.get("allowed_values"):
        allowed = ", ".join(code(v) for v in e["allowed_values"])
        return f"the parameter {name} is {code(str(value))}; the document allows {allowed}"
    if e.get("allowed_pattern"):
        return (
            f"the parameter {name} is {code(str(value))}, which does not match "
            f"{code(str(e['allowed_pattern']))}"
        )
    return f"the parameter {name} ({code(str(value))}) is not declared by the document"


def _patches(e: Mapping[str, Any], code: Code) -> str:
    severities = ", ".join(f"{k} {v}" for k, v in (e.get("by_severity") or {}).items())
    examples = e.get("examples") or []
    shown = f", e.g. {', '.join(examples[:3])}" if examples else ""
    return f"{e.get('missing', 0)} patches missing ({severities or 'no severity'}){shown}"


def _names(names: Sequence[str], code: Code) -> str:
    return ", ".join(code(n) for n in names) or "(unnamed)"


_CLAUSES: dict[CauseName, Callable[[Mapping[str, Any], Code], str]] = {
    "unreachable": _unreachable,
    "agent_outdated": _agent,
    "permissions": _permissions,
    "bad_parameter": _bad_parameter,
    "timed_out": _timed_out,
    "stopped_by_alarm": _alarm,
    "calendar_closed": _calendar,
    "missing_patches": _patches,
    "orphan": _orphan,
    "unknown": _unknown,
}


def short(diagnosis: Diagnosis) -> str:
    """A row's or a cell's worth: each cause with its count, most instances first
    ("missing permission s3:GetObject (4); unreachable (2)")."""
    counts: dict[str, int] = {}  # groups that read the same (evidence a row leaves out) add up
    for group in diagnosis.causes:
        detail = _detail(group)
        words = f"{LABELS[group.cause]}{' ' + detail if detail else ''}"
        counts[words] = counts.get(words, 0) + len(group.instances)
    parts = [f"{words} ({n})" for words, n in sorted(counts.items(), key=lambda c: -c[1])]
    return "; ".join(parts) if parts else "nothing failing"


def _detail(group: CauseGroup) -> str:
    e = group.evidence
    if group.cause == "permissions":
        return str(e["action"])
    if group.cause == "bad_parameter":
        if e.get("parameter") is None:
            return ""
        return (
            f"{e['parameter']}={e['value']}" if e.get("value") is not None else str(e["parameter"])
        )
    if group.cause == "stopped_by_alarm":
        return ", ".join(e.get("alarms") or [])
    if group.cause == "calendar_closed":
        return ", ".join(e.get("calendars") or [])
    return ""
