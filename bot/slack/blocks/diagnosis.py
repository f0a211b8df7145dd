"""A diagnosis in Slack: the association, then its instances grouped by cause — each group's
headline ("4 instances: the instance role `app-instance-role` may not `s3:GetObject` on …"),
which instances, the evidence read, and the fix, with a Fix button where the bot can apply it
(SSM3_FIXES=on: `update_parameter` opens a form, `update_agent` and `troubleshoot` ask first);
then the warnings. Every AWS string goes in inert; the groups stop at Slack's limits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.core.diagnosis import CauseGroup, Diagnosis, Fix
from bot.core.diagnosis_words import headline
from bot.models import is_reported, is_run_failure
from bot.slack.blocks.base import (
    ACTION_FIX,
    HEADER_CHARS,
    MESSAGE_BLOCKS,
    Budget,
    FixChoice,
    SlackMessage,
    escape,
    fit,
    inert,
    md,
    plain,
    plural,
    slack_date,
)
from bot.util.strings import clip

INSTANCES_SHOWN = 6
WARNINGS_SHOWN = 6
FIXES_OFF = "Fixes are shown as steps here (SSM3_FIXES=off): nothing is applied from Slack."


def diagnosis_message(
    diagnosis_id: int,
    diagnosis: Diagnosis,
    *,
    fixes: bool,
    zone: ZoneInfo | None = None,
    thread_ts: str | None = None,
    title: str = "Diagnosis",
) -> SlackMessage:
    """The whole diagnosis; `fixes` (SSM3_FIXES) puts the Fix buttons on, naming this kept
    diagnosis (`diagnosis_id`) and, when it answered a click on a channel message, that
    message (`thread_ts`), whose thread then hears the fix."""
    name = diagnosis.association_name or diagnosis.key.association_id
    budget = Budget(max_blocks=MESSAGE_BLOCKS)
    budget.add(
        [
            HeaderBlock(text=plain(f"{title}: {name}", HEADER_CHARS)),
            SectionBlock(text=md(_about(diagnosis, zone))),
        ]
    )
    hidden = add_groups(
        budget, diagnosis_id, diagnosis, fixes=fixes, thread_ts=thread_ts, reserve=2
    )
    tail: list[Block] = []
    if hidden:
        tail.append(
            ContextBlock(
                elements=[
                    md(
                        f"…and {plural(hidden, 'more cause group')}: `ssm3bot diagnose "
                        f"{escape(diagnosis.key.association_id)}` shows every one."
                    )
                ]
            )
        )
    if diagnosis.warnings:
        tail.append(SectionBlock(text=md(fit(warnings_text(diagnosis.warnings)))))
    for block in tail:
        if budget.fits([block]):
            budget.add([block])
    summary = f"{title} of {clip(name, 80)}: " + (
        "; ".join(f"{g.cause} ({len(g.instances)})" for g in diagnosis.causes) or "nothing failing"
    )
    return SlackMessage(text=escape(summary), blocks=budget.used)


def add_groups(
    budget: Budget,
    diagnosis_id: int,
    diagnosis: Diagnosis,
    *,
    fixes: bool,
    thread_ts: str | None = None,
    reserve: int = 0,
) -> int:
    """Each cause group's section (and its Fix button) into `budget`, as many as it holds
    beyond `reserve` blocks; how many groups did not fit."""
    for index, group in enumerate(diagnosis.causes):
        blocks: list[Block] = [SectionBlock(text=md(fit(group_text(group, fixes=fixes))))]
        if fixes and group.fix.applicable:
            blocks.append(fix_button(group, FixChoice(diagnosis_id, index, thread_ts), diagnosis))
        if not budget.fits(blocks, reserve_blocks=reserve, reserve_chars=300):
            return len(diagnosis.causes) - index
        budget.add(blocks)
    return 0


def _about(diagnosis: Diagnosis, zone: ZoneInfo | None) -> str:
    key = diagnosis.key
    version = f" v{escape(diagnosis.document_version)}" if diagnosis.document_version else ""
    calls = sum(diagnosis.aws_calls.values())
    read = f"Read {slack_date(diagnosis.read_at, zone=zone)}" + (
        f" with {plural(calls, 'AWS call')}." if calls else "."
    )
    return (
        f"{inert(diagnosis.document_name, 60)}{version} · {escape(key.account_id)} "
        f"{escape(key.region)} · {inert(key.association_id, 40)}\n"
        f"How it fails SSM.3: {_kind(diagnosis)}\n{read}"
    )


def _kind(diagnosis: Diagnosis) -> str:
    if is_run_failure(diagnosis.failure_kind):
        return "its latest run failed (a re-run can fix it once the cause is fixed)"
    if is_reported(diagnosis.failure_kind):
        return "reported NON_COMPLIANT (a re-run alone will not fix it)"
    return "not known from the store (the next sweep judges it)"


def _code(text: str) -> str:
    return inert(text, 200)


def group_text(group: CauseGroup, *, fixes: bool) -> str:
    """One cause group in mrkdwn: headline, instances, evidence, fix."""
    ids = list(group.instances)
    shown = ", ".join(inert(i, 30) for i in ids[:INSTANCES_SHOWN])
    more = f" and {len(ids) - INSTANCES_SHOWN} more" if len(ids) > INSTANCES_SHOWN else ""
    lines = [
        f"*{headline(group, _code)}*",
        f"Instances: {shown}{more}",
        f"Evidence: {evidence_text(group.evidence)}",
        f"Fix ({escape(group.fix.kind)}): {escape(clip(group.fix.text, 900))}",
    ]
    if group.fix.command:
        lines.append(inert(group.fix.command, 700))
    if group.fix.applicable and not fixes:
        lines.append(f"_{escape(FIXES_OFF)}_")
    return "\n".join(lines)


def evidence_text(evidence: Mapping[str, Any]) -> str:
    """'action `s3:GetObject` · resource `arn:…` · role `app-instance-role`' (mrkdwn)."""
    parts = [f"{escape(k)} {inert(_value(v), 160)}" for k, v in evidence.items()]
    return " · ".join(parts) or "none"


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "[]"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "{}"
    return str(value)


def warnings_text(warnings: Sequence[str]) -> str:
    lines = [f":warning: {escape(clip(w, 400))}" for w in warnings[:WARNINGS_SHOWN]]
    if len(warnings) > WARNINGS_SHOWN:
        lines.append(f"…and {plural(len(warnings) - WARNINGS_SHOWN, 'more warning')}.")
    return "\n".join(lines)


# -- the Fix button --------------------------------------------------------------------------------
def fix_label(fix: Fix) -> str:
    if fix.kind == "update_parameter":
        verb = "remove" if fix.remove else "set"
        return f"Fix: {verb} {fix.parameter or 'the parameter'}…"
    if fix.kind == "update_agent":
        return "Fix: update the SSM Agent"
    return "Fix: run the troubleshooting runbook"


def fix_button(group: CauseGroup, choice: FixChoice, diagnosis: Diagnosis) -> ActionsBlock:
    """The group's Fix button: a parameter opens its form (the form is the confirmation); the
    agent update and the runbook ask in Slack's confirm dialog first."""
    fix = group.fix
    confirm = None
    where = f"{diagnosis.key.account_id} {diagnosis.key.region}"
    name = clip(diagnosis.association_name or diagnosis.key.association_id, 60)
    count = plural(len(fix.instance_ids), "instance")
    if fix.kind == "update_agent":
        confirm = ConfirmObject(
            title=plain("Update the SSM Agent?", 100),
            text=plain(
                f"Run {fix.document} on {count} in {where} (SendCommand), then re-run {name} "
                "and confirm it is COMPLIANT?",
                300,
            ),
            confirm=plain("Update and re-run", 30),
            deny=plain("Cancel", 30),
        )
    elif fix.kind == "troubleshoot":
        confirm = ConfirmObject(
            title=plain("Run the troubleshooting runbook?", 100),
            text=plain(
                f"Start {fix.document} for {count} in {where} (StartAutomationExecution) and "
                "report what it finds?",
                300,
            ),
            confirm=plain("Run it", 30),
            deny=plain("Cancel", 30),
        )
    return ActionsBlock(
        elements=[
            ButtonElement(
                text=plain(fix_label(fix), 75),
                action_id=ACTION_FIX,
                value=choice.value(),
                style="primary",
                confirm=confirm,
            )
        ]
    )
