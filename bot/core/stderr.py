"""What a step's stderr says, read the way a person would: a call AWS refused (who, what, on
what, and whether an explicit deny did it), an agent too old for the document, or its first
error line. Pure: the text comes from GetCommandInvocation's StandardErrorContent.

IAM's refusal reads the same in every SDK and the CLI: "User: ARN is not authorized to perform:
ACTION [on resource: RESOURCE] [because …| with an explicit deny in …]"; the CLI wraps it in
"An error occurred (CODE) when calling the OPERATION operation: …", Go's SDK in
"CODE: …\\n\\tstatus code: …". Older S3 answers say only "Access Denied": then the action is
the operation's, when the service can be told from the resource.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DENIED = re.compile(
    r"User: (?P<who>\S+) is not authorized to perform: (?P<action>[a-z0-9-]+:[A-Za-z0-9*]+)"
    r"(?: on resource: \"?(?P<resource>[^\"\s]+)\"?)?"
    r"(?P<why>[^\n]*)",
)
_CLI_CALL = re.compile(
    r"An error occurred \((?P<code>AccessDenied\w*|UnauthorizedOperation|Forbidden)\) when "
    r"calling the (?P<operation>\w+) operation"
)
_ARN_SERVICE = re.compile(r"\barn:aws[a-z-]*:(?P<service>[a-z0-9-]+):[^\s\"'()]*")
_ASSUMED = re.compile(r":assumed-role/(?P<role>[\w+=,.@-]+)/")
_ROLE = re.compile(r":role/(?:[\w+=,.@-]+/)*(?P<role>[\w+=,.@-]+)$")
_AGENT_TOO_OLD = re.compile(
    r"is not supported by this version of ssm agent|please update to latest version|"
    r"update the ssm agent|unsupported schema ?version|schema version [\d.]+ is not supported|"
    r"plugin with name \S+ (?:is not supported|not found)",
    re.I,
)
_BOILERPLATE = re.compile(r"(failed to run commands: exit status \d+|\s*status code: .*)", re.I)


@dataclass(frozen=True)
class DeniedCall:
    """A call AWS refused the step: `action` ("s3:GetObject"), `resource` (an ARN, or None when
    AWS did not name one), `role` (the role name in the caller's ARN, if it is a role), and
    whether an explicit deny in an organisation policy or a boundary refused it (then an Allow
    added to the role changes nothing)."""

    action: str
    resource: str | None
    role: str | None
    explicit_deny: str | None = None  # "service control policy", "permissions boundary", …


def denied_call(stderr: str | None) -> DeniedCall | None:
    """The first refused call the stderr names, or None."""
    if not stderr:
        return None
    match = _DENIED.search(stderr)
    if match:
        why = match.group("why") or ""
        explicit = re.search(r"with an explicit deny in an? ([\w ]+?)(?:\s*$|[.:(])", why)
        return DeniedCall(
            action=match.group("action"),
            resource=match.group("resource"),
            role=_role(match.group("who")),
            explicit_deny=explicit.group(1).strip() if explicit else None,
        )
    call = _CLI_CALL.search(stderr)
    if call:  # "Access Denied" with no detail: the service from the resource it names
        arn = _ARN_SERVICE.search(stderr[call.end() :])
        if arn:
            return DeniedCall(
                f"{arn.group('service')}:{call.group('operation')}", arn.group(0), None
            )
    return None


def _role(who: str) -> str | None:
    assumed = _ASSUMED.search(who)
    if assumed:
        return assumed.group("role")
    role = _ROLE.search(who)
    return role.group("role") if role else None


def agent_too_old(stderr: str | None) -> bool:
    """Whether the agent said it cannot run the document (schema, plugin) and must be updated."""
    return bool(stderr) and _AGENT_TOO_OLD.search(stderr or "") is not None


def first_error_line(stderr: str | None, *, limit: int = 300) -> str | None:
    """The first line of the stderr that says something (not the agent's closing boilerplate)."""
    for line in (stderr or "").splitlines():
        text = " ".join(line.split())
        if text and not _BOILERPLATE.fullmatch(text):
            return text[:limit]
    return None
