"""The short message for associations that just started failing, with the digest's buttons."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock, SectionBlock

from bot.models import TrackedAssociation
from bot.slack.blocks.association import association_buttons
from bot.slack.blocks.base import MESSAGE_BLOCKS, Budget, SlackMessage, escape, md
from bot.slack.blocks.digest import association_line
from bot.strings import clip

ALERTS_SHOWN = 10


def alert_message(
    items: Sequence[TrackedAssociation], *, now: datetime, zone: ZoneInfo | None = None
) -> SlackMessage:
    """A short message for associations that just started failing, with the digest's buttons."""
    count = len(items)
    headline = (
        "New failure: an association just started failing"
        if count == 1
        else f"New failures: {count} associations just started failing"
    )
    budget = Budget(max_blocks=MESSAGE_BLOCKS)
    budget.add([SectionBlock(text=md(f":rotating_light: *{escape(headline)}*"))])
    shown = 0
    for item in items[:ALERTS_SHOWN]:
        group: list[Block] = [
            SectionBlock(text=md(association_line(item, now))),
            association_buttons(item),
        ]
        if not budget.fits(group, reserve_blocks=1, reserve_chars=200):
            break
        budget.add(group)
        shown += 1
    if count > shown:
        budget.add(
            [
                ContextBlock(
                    elements=[md(f"…and {count - shown} more: `/ssm3 status` lists every failure.")]
                )
            ]
        )
    # Notifications read the fallback text as mrkdwn: AWS names are escaped there too.
    names = ", ".join(escape(clip(item.association.display_name, 60)) for item in items[:3])
    more = f" and {count - 3} more" if count > 3 else ""
    return SlackMessage(text=f"{headline}: {names}{more}", blocks=budget.used, hidden=count - shown)
