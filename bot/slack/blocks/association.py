"""One association or instance: its status, its buttons and re-run dialogs, the re-run note,
its acknowledgement line, and what SSM.3 sees for one managed instance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    SectionBlock,
)

from bot.core.causes import ORPHAN_REMEDY, cause_line, kind_label, remedy
from bot.core.digest import top_error
from bot.models import (
    ComplianceItem,
    InstanceCompliance,
    Orphan,
    Scope,
    TrackedAssociation,
)
from bot.slack.blocks.base import (
    ACTION_ACK,
    ACTION_CANCEL,
    ACTION_DIAGNOSE,
    ACTION_HISTORY,
    ACTION_RERUN,
    SlackMessage,
    account,
    escape,
    fit,
    inert,
    key_value,
    md,
    mention,
    plain,
    plural,
    slack_date,
)
from bot.util.clock import humanize
from bot.util.strings import account_label, clip


def rerun_note(rerun: Any, zone: ZoneInfo | None = None) -> str:
    """ "Re-run by @who at HH:MM" (or "Fixed by @who at HH:MM: what changed"), and the
    confirm-COMPLIANT watch's verdict once it came."""
    at = slack_date(rerun.at, "{time}", zone)
    if getattr(rerun, "kind", "rerun") == "fix":
        changed = f": {inert(rerun.detail, 120)}" if getattr(rerun, "detail", None) else ""
        note = f":wrench: Fixed by {mention(rerun.by)} at {at}{changed}"
    else:
        note = f"↻ Re-run by {mention(rerun.by)} at {at}"
    checked = slack_date(rerun.checked_at, "{time}", zone) if rerun.checked_at else ""
    if rerun.outcome == "compliant":
        note += f" · COMPLIANT confirmed at {checked}"
    elif rerun.outcome == "still_failing":
        note += " · still failing after its run"
    elif rerun.outcome == "pending":
        note += " · no run finished in time"
    elif rerun.outcome == "unknown":
        note += " · could not be confirmed"
    elif rerun.outcome is None:
        note += " · watching its run"
    return note


def association_buttons(
    item: TrackedAssociation, *, confirm: bool = True, block: str | None = None
) -> ActionsBlock:
    """History, Diagnose, Re-run (with Slack's confirm dialog) and Acknowledge; `block` its
    block_id."""
    a = item.association
    value = key_value(a.key)
    rerun = ButtonElement(
        text=plain("Re-run", 75),
        action_id=ACTION_RERUN,
        value=value,
        confirm=rerun_confirm(item) if confirm else None,
    )
    return ActionsBlock(
        block_id=block or f"a:{value}"[:255],
        elements=[
            ButtonElement(text=plain("History", 75), action_id=ACTION_HISTORY, value=value),
            ButtonElement(text=plain("Diagnose", 75), action_id=ACTION_DIAGNOSE, value=value),
            rerun,
            ButtonElement(text=plain("Acknowledge", 75), action_id=ACTION_ACK, value=value),
        ],
    )


def diagnose_button(key: Any) -> ButtonElement:
    """Diagnose: why each instance fails, with the evidence and the fix."""
    return ButtonElement(
        text=plain("Diagnose", 75), action_id=ACTION_DIAGNOSE, value=key_value(key)
    )


def history_button(item: TrackedAssociation) -> ActionsBlock:
    """Only History: for an association whose failure is over (nothing left to re-run or
    acknowledge), its story stays one click away."""
    value = key_value(item.association.key)
    return ActionsBlock(
        block_id=f"h:{value}"[:255],
        elements=[ButtonElement(text=plain("History", 75), action_id=ACTION_HISTORY, value=value)],
    )


def rerun_confirm(item: TrackedAssociation) -> ConfirmObject:
    """The digest button's dialog: for a failure a re-run will not fix, that and what would."""
    a = item.association
    if a.reported:
        return ConfirmObject(
            title=plain("A re-run will not fix it", 100),
            text=plain(f"{clip(a.display_name, 60)}: {remedy(a)}", 300),
            confirm=plain("Re-run anyway", 30),
            deny=plain("Cancel", 30),
        )
    return ConfirmObject(
        title=plain("Re-run this association?", 100),
        text=plain(
            f"Run {clip(a.display_name, 80)} again now on its targets in "
            f"{account_label(a.account_id, a.account_name, 40)} {a.region}?",
            300,
        ),
        confirm=plain("Re-run", 30),
        deny=plain("Cancel", 30),
    )


def ack_line(item: TrackedAssociation, zone: ZoneInfo | None = None) -> str:
    a, ack = item.association, item.ack
    where = f"{account(a.account_id, a.account_name)} {escape(a.region)}"
    if ack is None:
        return f"{inert(a.display_name, 60)} · {where}"
    until = f"until {slack_date(ack.until, zone=zone)}" if ack.until else "with no expiry"
    return (
        f"{inert(a.display_name, 60)} · {where} · by {mention(ack.by)} {until} · "
        f"_{escape(clip(ack.reason, 120))}_"
    )


# -- status of one association -------------------------------------------------------------------
STATUS_INSTANCES = 5


def association_status(
    item: TrackedAssociation,
    *,
    now: datetime,
    rerun: Any = None,
    zone: ZoneInfo | None = None,
    findings: Mapping[str, int] | None = None,
    findings_v2: Mapping[str, int] | None = None,
) -> SlackMessage:
    """`findings`: SSM3_SECURITYHUB=sync, its SSM.3 findings by workflow status ("-": not seen);
    `findings_v2`: the same in the new Security Hub, when the sync has seen any there."""
    a = item.association
    counts = ", ".join(f"{k} {v}" for k, v in sorted(a.counts.items())) or "no targets"
    lines = [
        f"*{inert(a.display_name, 80)}* · {inert(a.document_name, 60)}",
        f"{account(a.account_id, a.account_name)} · {escape(a.region)} · "
        f"{inert(a.association_id, 40)}",
        f"Status *{escape(a.status)}* ({escape(counts)})",
    ]
    if a.failing:
        lines[2] += (
            f" · failing for *{humanize(now - item.failing_since)}*" if item.failing_since else ""
        )
        lines.append(
            f"Fails SSM.3: *{escape(kind_label(a))}* · "
            + instances_line(a.noncompliant_instances, STATUS_INSTANCES)
        )
        cause = cause_line(item)
        if cause:
            label = "Diagnosed" if item.diagnosed else "Cause"
            lines.append(f"{label}: {inert(cause, 300)}")
        error = top_error(a.failed_targets)
        if error:
            lines.append(f"Top error: {inert(error, 300)}")
        mark = ":warning: " if a.reported else ""
        lines.append(f"{mark}{escape(remedy(a))}")
    if item.ack is not None:
        lines.append("Acknowledged: " + ack_line(item, zone))
    if findings is not None:
        lines.append(findings_line(findings))
    if findings_v2 is not None:
        lines.append(findings_line(findings_v2, hub="The new Security Hub's", names=V2_NAMES))
    blocks: list[Block] = [SectionBlock(text=md("\n".join(lines)))]
    if rerun is not None:
        blocks.append(ContextBlock(elements=[md(rerun_note(rerun, zone))]))
    if a.failing:
        blocks.append(association_buttons(item))
    return SlackMessage(text=escape(f"{clip(a.display_name, 80)}: {a.status}"), blocks=blocks)


# The new Security Hub's own names for the workflow states the sync records in CSPM's words.
V2_NAMES = {
    "SUPPRESSED": "Suppressed",
    "NOTIFIED": "In Progress",
    "NEW": "New",
    "RESOLVED": "Resolved",
}


def findings_line(
    findings: Mapping[str, int],
    *,
    hub: str = "Security Hub",
    names: Mapping[str, str] | None = None,
) -> str:
    """'Security Hub SSM.3 findings: SUPPRESSED 40 · NEW 2 · not seen yet 1' (mrkdwn)."""
    order = ("SUPPRESSED", "NOTIFIED", "NEW", "RESOLVED")
    said = names or {}
    shown = [f"{escape(said.get(s, s))} *{findings[s]}*" for s in order if findings.get(s)]
    shown += [
        f"{escape(said.get(s, s))} *{n}*"
        for s, n in sorted(findings.items())
        if s not in order and s != "-" and n
    ]
    if findings.get("-"):
        shown.append(f"not seen yet *{findings['-']}*")
    return f"{hub} SSM.3 findings (as of the last sync): " + (" · ".join(shown) or "none")


def instances_line(instances: Sequence[str], limit: int) -> str:
    """'*3* instances NON_COMPLIANT: `i-1`, `i-2` and 1 more' (mrkdwn)."""
    shown = ", ".join(inert(i, 30) for i in instances[:limit])
    more = f" and {len(instances) - limit} more" if len(instances) > limit else ""
    word = "instance" if len(instances) == 1 else "instances"
    return f"*{len(instances)}* {word} NON_COMPLIANT" + (f": {shown}{more}" if shown else "")


# -- status of one instance: what SSM.3 sees -----------------------------------------------------
ITEMS_SHOWN = 8


def instance_blocks(
    instance_id: str,
    *,
    compliance: Sequence[tuple[Scope, InstanceCompliance]],
    orphans: Sequence[Orphan],
    failing: Sequence[TrackedAssociation],
    zone: ZoneInfo | None = None,
    accounts: Mapping[str, str] | None = None,
) -> list[Block]:
    """What SSM.3 sees for one managed instance, as the last sweep stored it: where it is
    NON_COMPLIANT, its Association items, the failing associations and orphaned items that make
    it so; or that the store finds it compliant. `accounts`: account names by ID."""
    known = accounts or {}
    shown = inert(instance_id, 40)
    names = {t.key.association_id: t.association.display_name for t in failing}
    causing = [t for t in failing if instance_id in t.association.noncompliant_instances]
    if not compliance and not orphans and not causing:
        return [
            SectionBlock(
                text=md(
                    f"*SSM.3 sees {shown} as compliant*: no Association compliance item of it is "
                    "NON_COMPLIANT in the swept account-regions, as of the last sweep."
                )
            )
        ]
    lines = [f"*What SSM.3 sees for {shown}*"]
    for scope, state in compliance:
        when = (
            f", as of {slack_date(state.execution_time, zone=zone)}" if state.execution_time else ""
        )
        lines.append(
            f"NON_COMPLIANT in {account(scope.account_id, known.get(scope.account_id))} "
            f"{escape(scope.region)} "
            f"({plural(state.noncompliant_count, 'Association item')} NON_COMPLIANT{when})"
        )
        if state.items is None:
            lines.append("• its items were not read: the failed runs below explain it")
            continue
        for entry in state.items[:ITEMS_SHOWN]:
            lines.append("• " + compliance_item_line(entry, names, zone))
        if len(state.items) > ITEMS_SHOWN:
            lines.append(f"…and {len(state.items) - ITEMS_SHOWN} more items.")
    if causing:
        lines.append(
            "Failing associations that make it NON_COMPLIANT: "
            + ", ".join(
                f"{inert(t.association.display_name, 60)} ({escape(kind_label(t.association))})"
                for t in causing[:ITEMS_SHOWN]
            )
            + (f" and {len(causing) - ITEMS_SHOWN} more" if len(causing) > ITEMS_SHOWN else "")
        )
    if orphans:
        lines.append(
            "Orphaned items on it: "
            + ", ".join(
                f"association {inert(o.association_id, 40)} (gone) in "
                f"{account(o.account_id, known.get(o.account_id))} "
                f"{escape(o.region)}"
                for o in orphans[:ITEMS_SHOWN]
            )
        )
        lines.append(escape(ORPHAN_REMEDY))
    return [SectionBlock(text=md(fit("\n".join(lines))))]


def compliance_item_line(
    entry: ComplianceItem,
    names: Mapping[str, str] | None = None,
    zone: ZoneInfo | None = None,
    *,
    own: str | None = None,
) -> str:
    """'`name` (`id`) *NON_COMPLIANT* · title · date': one Association item, whose ID is the
    association that reported it (`own`: shown as 'this association') (mrkdwn)."""
    name = (names or {}).get(entry.association_id)
    if entry.association_id == own:
        who = "this association"
    elif name and name != entry.association_id:
        who = f"{inert(name, 60)} ({inert(entry.association_id, 40)})"
    else:
        who = f"association {inert(entry.association_id, 40)}"
    line = f"{who} *{escape(entry.status)}*"
    if entry.title:
        line += f" · {inert(entry.title, 80)}"
    if entry.execution_time:
        line += f" · {slack_date(entry.execution_time, zone=zone)}"
    return line


# -- re-run --------------------------------------------------------------------------------------
def rerun_confirmation(item: TrackedAssociation, *, rerun_can_fix: bool) -> SlackMessage:
    """The slash command's confirm step: what will run, and the button that runs it. For a
    failure a re-run will not fix, it says so and what would, and offers it only 'anyway'."""
    a = item.association
    lines = [
        f"Re-run *{inert(a.display_name, 80)}* now in {account(a.account_id, a.account_name)} "
        f"{escape(a.region)}?",
        f"It runs {inert(a.document_name, 60)} again on its {plural(a.total_targets, 'target')} "
        "(StartAssociationsOnce).",
    ]
    if a.reported:
        lines.append(
            f":warning: *{escape(kind_label(a))}*: a re-run will not change its compliance. "
            + escape(remedy(a))
        )
    elif not rerun_can_fix:
        lines.append(
            ":warning: Its SyncCompliance is MANUAL: a re-run cannot change its compliance."
        )
    value = key_value(a.key)
    run = (
        ButtonElement(
            text=plain("Re-run now", 75), action_id=ACTION_RERUN, value=value, style="primary"
        )
        if rerun_can_fix
        else ButtonElement(text=plain("Re-run anyway", 75), action_id=ACTION_RERUN, value=value)
    )
    return SlackMessage(
        text=escape(f"Re-run {clip(a.display_name, 80)}?"),
        blocks=[
            SectionBlock(text=md("\n".join(lines))),
            ActionsBlock(
                elements=[
                    run,
                    ButtonElement(text=plain("Cancel", 75), action_id=ACTION_CANCEL, value=value),
                ]
            ),
        ],
    )
