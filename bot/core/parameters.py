"""An association's parameters against what its document version declares: which value the
document refuses (the check AWS makes when the association is created or updated, and again
when a run resolves it), and the run's time limit. Pure."""

from __future__ import annotations

import re

from bot.core.diagnosis import DeclaredParameter, Evidence


def parameter_problems(
    evidence: Evidence,
) -> list[tuple[str, str | None, DeclaredParameter | None]]:
    """(name, value, declared) for each parameter its document version refuses, in order."""
    document = evidence.document
    if document is None:
        return []
    given = evidence.association.parameters
    problems: list[tuple[str, str | None, DeclaredParameter | None]] = []
    for name, values in given.items():
        declared = document.parameters.get(name)
        if declared is None:
            problems.append((name, ", ".join(values) or None, None))
            continue
        bad = next((v for v in values if _refused(declared, v)), None)
        if bad is not None or (declared.type == "String" and len(values) > 1):
            problems.append((name, bad if bad is not None else ", ".join(values), declared))
    for name, declared in document.parameters.items():
        if declared.required and not given.get(name):
            problems.append((name, None, declared))
    return problems


def _refused(declared: DeclaredParameter, value: str) -> bool:
    if "{{" in value:  # resolved at run time ({{ssm:name}}): not checkable here
        return False
    if declared.allowed_values and value not in declared.allowed_values:
        return True
    if declared.allowed_pattern:
        try:
            return re.fullmatch(declared.allowed_pattern, value) is None
        except re.error:  # a Java-only construct: leave it to AWS
            return False
    return False


def timeout_seconds(evidence: Evidence) -> tuple[int | None, DeclaredParameter | None]:
    declared = evidence.document.parameters.get("executionTimeout") if evidence.document else None
    if declared is None:
        return None, None
    given = evidence.association.parameters.get("executionTimeout") or ()
    value = given[0] if given else declared.default
    return (int(value) if value and value.isdigit() else None), declared
