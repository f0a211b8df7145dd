"""An association's History: recent executions, what SSM.3 sees, and its failed targets with
their errors, stderr and a likely cause."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, SectionBlock

from bot.slack.blocks.association import ITEMS_SHOWN, compliance_item_line
from bot.slack.blocks.base import (
    HEADER_CHARS,
    MESSAGE_BLOCKS,
    Budget,
    SlackMessage,
    account,
    escape,
    fit,
    inert,
    md,
    plain,
    plural,
    slack_date,
)
from bot.util.clock import humanize
from bot.util.strings import clip

if TYPE_CHECKING:
    from bot.aws.history import History, TargetDetail


# -- history -------------------------------------------------------------------------------------
def history_message(
    history: History, *, now: datetime, zone: ZoneInfo | None = None
) -> SlackMessage:
    key = history.key
    name = history.display_name
    head: list[Block] = [
        HeaderBlock(text=plain(f"History: {name}", HEADER_CHARS)),
        SectionBlock(
            text=md(
                f"{inert(history.document_name, 60)} · {account(key.account_id, history.account_name)}"
                f" · {escape(key.region)} · {inert(key.association_id, 40)}"
            )
        ),
    ]
    if history.reported and history.remedy:
        head.append(
            SectionBlock(
                text=md(
                    f":warning: *{escape(history.kind or 'reported')}*: {escape(history.remedy)}"
                )
            )
        )
    elif not history.rerun_can_fix:
        head.append(
            SectionBlock(
                text=md(
                    ":warning: *SyncCompliance is MANUAL*: compliance comes from PutComplianceItems, "
                    "so a re-run cannot fix it."
                )
            )
        )
    runs = [
        f"• {slack_date(e.created_at, zone=zone) if e.created_at else '?'} "
        f"({humanize(now - e.created_at) + ' ago' if e.created_at else '?'}) "
        f"*{escape(e.status)}* "
        + escape(", ".join(f"{k} {v}" for k, v in sorted(e.counts.items())) or "no targets")
        for e in history.executions
    ]
    head.append(
        SectionBlock(
            text=md("*Recent executions*\n" + ("\n".join(runs) if runs else "none recorded"))
        )
    )
    if history.compliance:
        head.append(SectionBlock(text=md(fit(_compliance_text(history, zone)))))
    budget = Budget(max_blocks=MESSAGE_BLOCKS)
    budget.add(head)
    failed = history.failed_execution
    if failed is None:
        budget.add(
            [SectionBlock(text=md("No failed or timed-out execution among the recent ones."))]
        )
        return SlackMessage(text=escape(f"History of {clip(name, 80)}"), blocks=budget.used)
    when = slack_date(failed.created_at, zone=zone) if failed.created_at else "?"
    budget.add(
        [
            DividerBlock(),
            SectionBlock(
                text=md(
                    f"*Failed targets of the run at {when}*: {history.failed_count} failed or timed out"
                    + (
                        f", first {len(history.targets)} shown"
                        if len(history.targets) < history.failed_count
                        else ""
                    )
                )
            ),
        ]
    )
    hidden = 0
    for index, target in enumerate(history.targets):
        block = SectionBlock(text=md(_target_text(target)))
        if not budget.fits([block], reserve_blocks=1, reserve_chars=200):
            hidden = len(history.targets) - index
            break
        budget.add([block])
    if hidden:
        budget.add(
            [
                ContextBlock(
                    elements=[
                        md(f"…and {hidden} more; `ssm3bot history {key.association_id}` shows all.")
                    ]
                )
            ]
        )
    return SlackMessage(text=escape(f"History of {clip(name, 80)}"), blocks=budget.used)


def _compliance_text(history: History, zone: ZoneInfo | None) -> str:
    shown = len(history.compliance)
    lines = [
        f"*What SSM.3 sees*: {plural(history.noncompliant_count, 'instance')} NON_COMPLIANT"
        + (f", first {shown} shown" if shown < history.noncompliant_count else "")
    ]
    own = history.key.association_id
    for entry in history.compliance:
        lines.append(f"{inert(entry.instance_id, 40)}:")
        lines += [
            "• " + compliance_item_line(i, zone=zone, own=own) for i in entry.items[:ITEMS_SHOWN]
        ]
        if entry.error:
            lines.append(f"• could not read its items: {inert(entry.error, 200)}")
        elif not entry.items:
            lines.append("• no Association item reported")
    return "\n".join(lines)


_OUTPUT_URL = re.compile(r"https://[A-Za-z0-9.-]+\.amazonaws\.com/[A-Za-z0-9._~/%+=:@!$*,;-]*")


def _target_text(target: TargetDetail) -> str:
    lines = [
        f"*{inert(target.instance_id, 40)}* {inert(target.detailed_status or 'Failed', 40)} · "
        f"{inert(target.agent or 'no agent data', 80)}",
        f"*Likely cause:* {escape(target.cause.text)}",
    ]
    error = ": ".join(p for p in (target.error_code, target.summary) if p)
    if error:
        lines.append(f"*Error:* {inert(error, 300)}")
    if target.stderr:
        lines.append(f"*stderr:* {inert(target.stderr, 400)}")
    if target.output_url:
        url = target.output_url
        lines.append(
            f"<{url}|Output in S3>" if _OUTPUT_URL.fullmatch(url) else f"Output: {inert(url, 300)}"
        )
    return "\n".join(lines)
