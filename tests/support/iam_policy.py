"""A small IAM policy evaluator for the documents in iam/: does one statement set allow an
action on a resource in a request context? Enough of IAM for these policies: Allow and Deny,
actions named exactly, resource ARNs with `*` and `?`, the condition operators they use
(StringEquals, StringNotEquals, StringLike, ArnEquals, ArnLike, Null, each taking one value or
a list) and policy variables (`${aws:PrincipalOrgID}`) resolved from the context. A key the
context lacks fails a positive operator and passes a negated one, as IAM evaluates them; an
unresolvable variable fails its condition."""

from __future__ import annotations

import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

Context = Mapping[str, str]
_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def allowed(document: Mapping[str, Any], action: str, resource: str, context: Context) -> bool:
    """An explicit Allow matches and no Deny does."""
    allow = False
    for statement in document["Statement"]:
        if not _names(statement, "Action", action, exact=True):
            continue
        if not _names(statement, "Resource", resource, exact=False):
            continue
        if not conditions_hold(statement.get("Condition") or {}, context):
            continue
        if statement["Effect"] == "Deny":
            return False
        allow = True
    return allow


def _names(statement: Mapping[str, Any], element: str, value: str, *, exact: bool) -> bool:
    named = statement[element]
    patterns = [named] if isinstance(named, str) else list(named)
    return any(p == value if exact else fnmatchcase(value, p) for p in patterns)


def conditions_hold(condition: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    return all(
        _holds(operator, key, wanted, context)
        for operator, tests in condition.items()
        for key, wanted in tests.items()
    )


def _holds(operator: str, key: str, wanted: Any, context: Context) -> bool:
    values = [wanted] if isinstance(wanted, str) else list(wanted)
    present = key in context
    if operator == "Null":
        return present is (values == ["false"])
    resolved = [_resolve(v, context) for v in values]
    candidates = [v for v in resolved if v is not None]
    if operator in ("StringEquals", "ArnEquals"):
        return present and context[key] in candidates
    if operator in ("StringLike", "ArnLike"):
        return present and any(fnmatchcase(context[key], v) for v in candidates)
    if operator == "StringNotEquals":
        return not present or context[key] not in candidates
    raise AssertionError(f"{operator}: extend the evaluator")


def _resolve(value: str, context: Context) -> str | None:
    """A condition value with its policy variables filled in (None: one is not in the context)."""
    missing = [name for name in _VARIABLE.findall(value) if name not in context]
    if missing:
        return None
    return _VARIABLE.sub(lambda m: context[m.group(1)], value)
