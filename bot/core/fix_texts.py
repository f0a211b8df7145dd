"""The fix for each cause: its kind, one line a person can follow, and the data an applied fix
needs. Plain text (a surface escapes it for mrkdwn); nothing here touches AWS."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.core.diagnosis import DeclaredParameter, Fix, IamStatement
from bot.core.stderr import DeniedCall

TROUBLESHOOT_RUNBOOK = "AWSSupport-TroubleshootManagedInstance"
UPDATE_AGENT_DOCUMENT = "AWS-UpdateSSMAgent"
PATCH_INSTALL_DOCUMENT = "AWS-RunPatchBaseline"


def _iso(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "an unknown time"


def troubleshoot(instance_ids: Sequence[str], *, online_now: bool) -> Fix:
    if online_now:
        text = (
            "It was unreachable when the run was sent and is Online again: re-run the "
            f"association; if it fails again, run AWS's runbook {TROUBLESHOOT_RUNBOOK} for it."
        )
    else:
        text = (
            f"Run AWS's runbook {TROUBLESHOOT_RUNBOOK} for each instance to see why Systems "
            "Manager cannot reach it (stopped, no route to the SSM endpoints, no instance "
            "profile, agent down), fix that, then re-run."
        )
    return Fix(
        "troubleshoot", text, instance_ids=tuple(instance_ids), document=TROUBLESHOOT_RUNBOOK
    )


def update_agent(instance_ids: Sequence[str]) -> Fix:
    return Fix(
        "update_agent",
        f"Update the SSM Agent on these instances (run {UPDATE_AGENT_DOCUMENT} on them), then "
        "re-run the association.",
        instance_ids=tuple(instance_ids),
        document=UPDATE_AGENT_DOCUMENT,
    )


def iam_statement(denied: DeniedCall, role: str | None, instance_ids: Sequence[str]) -> Fix:
    statement = IamStatement(denied.action, denied.resource)
    policy = json.dumps(statement.as_policy(), separators=(", ", ": "))
    whom = f"the role {role}" if role else "the instance's role (its instance profile)"
    if denied.explicit_deny:
        text = (
            f"An explicit deny in a {denied.explicit_deny} refuses {denied.action}: an Allow on "
            f"{whom} will not help; whoever owns that policy must exempt it. The statement the "
            f"role also needs: {policy}"
        )
    else:
        narrow = "" if denied.resource else " (narrow * to what the step reads)"
        text = f"Add this statement to {whom}{narrow}, then re-run: {policy}"
    return Fix(
        "iam_statement",
        text + " The bot never changes IAM.",
        instance_ids=tuple(instance_ids),
        statement=statement,
        role=role,
    )


def update_parameter(
    name: str,
    value: str | None,
    declared: DeclaredParameter | None,
    *,
    association_version: str | None,
    instance_ids: Sequence[str],
    document: str,
    document_version: str,
) -> Fix:
    allowed = declared.allowed_values if declared else None
    pattern = declared.allowed_pattern if declared else None
    now = f"it is {value}" if value is not None else "it has no value"
    if declared is None:
        text = (
            f"Remove the parameter {name}: version {document_version} of {document} does not "
            "declare it; then re-run."
        )
    elif allowed:
        text = f"Set {name} to one of {', '.join(allowed)} ({now}), then re-run."
    elif pattern:
        text = f"Set {name} to a value matching {pattern} ({now}), then re-run."
    else:
        text = f"Give the required parameter {name} a value, then re-run."
    return Fix(
        "update_parameter",
        text,
        instance_ids=tuple(instance_ids),
        parameter=name,
        value=value,
        allowed_values=allowed,
        allowed_pattern=pattern,
        association_version=association_version,
    )


def raise_timeout(
    timeout_s: int | None,
    declared: DeclaredParameter | None,
    *,
    association_version: str | None,
    instance_ids: Sequence[str],
) -> Fix:
    if declared is None:
        return Fix(
            "manual",
            "The run timed out and its document declares no executionTimeout: make the step "
            "faster or give it more time in the document, then re-run.",
            instance_ids=tuple(instance_ids),
        )
    now = f"it is {timeout_s} s" if timeout_s is not None else "it has no value"
    return Fix(
        "update_parameter",
        f"Raise executionTimeout above the step's run time ({now}), then re-run.",
        instance_ids=tuple(instance_ids),
        parameter="executionTimeout",
        value=str(timeout_s) if timeout_s is not None else None,
        allowed_values=declared.allowed_values,
        allowed_pattern=declared.allowed_pattern,
        association_version=association_version,
    )


def alarm(alarms: Sequence[str], instance_ids: Sequence[str]) -> Fix:
    names = ", ".join(alarms) or "an alarm"
    return Fix(
        "manual",
        f"CloudWatch alarm {names} stopped the run: find why it is in ALARM; once it is OK, "
        "re-run (or let the schedule run it).",
        instance_ids=tuple(instance_ids),
    )


def calendar(closed: Sequence[str], opens: datetime | None, instance_ids: Sequence[str]) -> Fix:
    names = ", ".join(closed)
    return Fix(
        "manual",
        f"Change calendar {names} is CLOSED until {_iso(opens)}: the association runs again "
        "when it opens (or add an event that opens it); a re-run waits until then.",
        instance_ids=tuple(instance_ids),
    )


def install_patches(instance_ids: Sequence[str]) -> Fix:
    shown = " ".join(instance_ids[:50])
    return Fix(
        "manual",
        f"Install the missing patches in a maintenance window ({PATCH_INSTALL_DOCUMENT} with "
        "Operation=Install); the next scan reports them compliant. The bot never installs "
        "patches.",
        instance_ids=tuple(instance_ids),
        command=f"aws ssm send-command --document-name {PATCH_INSTALL_DOCUMENT} "
        f"--parameters Operation=Install --instance-ids {shown}",
    )


def delete_item(association_id: str, instance_ids: Sequence[str]) -> Fix:
    return Fix(
        "manual",
        f"Its association {association_id} was deleted: remove the instance's Association item "
        "(PutComplianceItems, ComplianceType Association, UploadType COMPLETE, no items; the "
        "other associations on it report theirs again at their next run).",
        instance_ids=tuple(instance_ids),
        command="aws ssm put-compliance-items --resource-type ManagedInstance "
        "--compliance-type Association --upload-type COMPLETE --items '[]' "
        '--execution-summary "ExecutionTime=$(date +%s)" --resource-id INSTANCE_ID',
    )


def read_the_output(association_id: str, instance_ids: Sequence[str]) -> Fix:
    return Fix(
        "manual",
        f"Read the step's output (ssm3bot history {association_id}), fix what it reports, then "
        "re-run.",
        instance_ids=tuple(instance_ids),
    )
