"""The `/ssm3 audit` reply: the latest audit entries, as many as fit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, SectionBlock

from bot.slack.blocks.base import (
    HEADER_CHARS,
    MESSAGE_BLOCKS,
    SECTION_CHARS,
    Budget,
    SlackMessage,
    escape,
    inert,
    md,
    mention,
    notice,
    plain,
    slack_date,
)


def audit_message(entries: Sequence[Any], *, zone: ZoneInfo | None = None) -> SlackMessage:
    """The latest audit entries, as many as fit; the CLI has all of them."""
    if not entries:
        return notice("The audit log is empty.")
    chunks: list[list[str]] = [[]]
    size = 0
    for entry in entries:
        where = (
            f" {inert(entry.association_id, 40)} "
            f"({escape(entry.account_id or '?')} {escape(entry.region or '?')})"
            if entry.association_id
            else ""
        )
        detail = f" · {inert(entry.detail, 120)}" if entry.detail else ""
        if getattr(entry, "repeats", 0):
            detail += f" (+{entry.repeats} more within a minute)"
        line = (
            f"• {slack_date(entry.at, zone=zone)} {mention(entry.actor)} *{escape(entry.action)}*"
            f"{where} → {escape(entry.outcome)}{detail}"
        )
        if size + len(line) + 1 > SECTION_CHARS - 100:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
    budget = Budget(max_blocks=MESSAGE_BLOCKS)
    budget.add([HeaderBlock(text=plain(f"Audit log: latest {len(entries)}", HEADER_CHARS))])
    for chunk in chunks:
        block = SectionBlock(text=md("\n".join(chunk)))
        if not budget.fits([block], reserve_blocks=1, reserve_chars=100):
            break
        budget.add([block])
    budget.add([ContextBlock(elements=[md("All of it: `ssm3bot audit --csv`.")])])
    return SlackMessage(text=f"Audit log: latest {len(entries)}", blocks=budget.used)
