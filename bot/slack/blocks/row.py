"""One failing association as a digest row (and the alert's and Home tab's lines): its name
(or document and short ID), document, account with its name, region, how it fails SSM.3, on
how many instances and for how long, the top error; in the digest, one section whose accessory
is a menu of History, Re-run… and Acknowledge…."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, Option, OverflowMenuElement, SectionBlock

from bot.core.causes import kind_label, short_remedy
from bot.core.digest import top_error
from bot.models import TrackedAssociation
from bot.slack.blocks.association import rerun_note
from bot.slack.blocks.base import (
    ACTION_ACK,
    ACTION_HISTORY,
    ACTION_RERUN,
    ACTION_ROW,
    account,
    escape,
    inert,
    md,
    plain,
    row_value,
    text_chars,
)
from bot.util.clock import humanize

ERROR_CHARS = 90  # a row's top error (History has it whole)


def association_line(item: TrackedAssociation, now: datetime, badge: str = "") -> str:
    """Name (or document and short ID) and document; account (with its name) and region, how
    it fails SSM.3, on how many instances, for how long; the top error; for a failure a re-run
    will not fix, what would (mrkdwn, a few lines: the digest packs forty of them)."""
    a = item.association
    since = humanize(now - item.failing_since) if item.failing_since else "?"
    title = f"{badge}*{inert(a.display_name, 80)}*"
    if a.association_name:  # an unnamed one already shows its document
        title += f" · {inert(a.document_name, 60)}"
    failed = f"*{a.failed_target_count or len(a.failed_targets)}/{a.total_targets}* targets"
    how = escape(kind_label(a))
    if not a.reported:
        how += f" on {failed}"
    elif a.run_failed:
        how += f" · run failed on {failed}"
    lines = [
        title,
        f"{account(a.account_id, a.account_name)} {escape(a.region)} · {how} · "
        f"*{len(a.noncompliant_instances)}* non-compliant · for *{since}*",
    ]
    error = top_error(a.failed_targets)
    if error:
        lines.append(inert(error, ERROR_CHARS))
    if a.reported:  # in full in status, History and the re-run dialog
        lines.append(f":warning: {escape(short_remedy(a))}")
    return "\n".join(lines)


def row_menu(item: TrackedAssociation) -> OverflowMenuElement:
    """A row's actions: History, Re-run… (which asks first) and Acknowledge… (a modal)."""
    key = item.key
    return OverflowMenuElement(
        action_id=ACTION_ROW,
        options=[
            Option(text=plain("History", 75), value=row_value(ACTION_HISTORY, key)),
            Option(text=plain("Re-run…", 75), value=row_value(ACTION_RERUN, key)),
            Option(text=plain("Acknowledge…", 75), value=row_value(ACTION_ACK, key)),
        ],
    )


def failing_row(
    item: TrackedAssociation,
    now: datetime,
    *,
    rerun: Any = None,
    menu: bool = True,
    zone: ZoneInfo | None = None,
    badge: str = "",
    block: str | None = None,
) -> SectionBlock:
    """One failing association in one block: its lines, the re-run note, its menu."""
    text = association_line(item, now, badge)
    if rerun is not None:
        text += "\n" + rerun_note(rerun, zone)
    return SectionBlock(block_id=block, text=md(text), accessory=row_menu(item) if menu else None)


def plan_rows(
    compact: list[list[Block]], full: list[list[Block]], *, blocks: int, chars: int
) -> list[list[Block]]:
    """As many rows as fit (in order), then the contract's three buttons (History, Re-run,
    Acknowledge) on as many of the first of them as still fit; the others carry the same
    actions in a menu. A digest of a few failures is all buttons, a long one mostly menus."""

    def size(groups: Sequence[list[Block]]) -> tuple[int, int]:
        return sum(len(g) for g in groups), sum(text_chars(b) for g in groups for b in g)

    count = 0
    used_blocks = used_chars = 0
    for group in compact:
        more_blocks, more_chars = size([group])
        if used_blocks + more_blocks > blocks or used_chars + more_chars > chars:
            break
        used_blocks, used_chars, count = (
            used_blocks + more_blocks,
            used_chars + more_chars,
            count + 1,
        )
    chosen = compact[:count]
    for index in range(count):
        trial = [*chosen[:index], full[index], *chosen[index + 1 :]]
        trial_blocks, trial_chars = size(trial)
        if trial_blocks > blocks or trial_chars > chars:
            break
        chosen = trial
    return chosen
