"""Alerts: the short message for associations that just began failing, with the digest's
buttons and the route's mention; and the same message edited as its story goes on
(acknowledged by whom and until when, re-run, resolved and after how long)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock, SectionBlock

from bot.core.routing import mention_markup
from bot.models import AlertState, TrackedAssociation
from bot.slack.blocks.association import (
    association_buttons,
    history_button,
    rerun_note,
)
from bot.slack.blocks.base import (
    MESSAGE_BLOCKS,
    Budget,
    SlackMessage,
    account,
    escape,
    inert,
    md,
    mention,
    slack_date,
)
from bot.slack.blocks.row import association_line
from bot.util.clock import humanize
from bot.util.strings import clip

ALERTS_SHOWN = 10


def alert_message(
    items: Sequence[TrackedAssociation],
    *,
    now: datetime,
    zone: ZoneInfo | None = None,
    mentions: Sequence[str] = (),
) -> SlackMessage:
    """A short message for associations that just started failing, with the digest's buttons."""
    states = [AlertState(t.key, t.failing_since or now, t, None, None) for t in items]
    return alert_update(states, now=now, zone=zone, mentions=mentions)


def alert_update(
    states: Sequence[AlertState],
    *,
    now: datetime,
    zone: ZoneInfo | None = None,
    mentions: Sequence[str] = (),
) -> SlackMessage:
    """The alert as its associations stand now: each still failing keeps its three buttons
    and says who acknowledged or re-ran it; each resolved says so, with History only."""
    count = len(states)
    open_count = sum(1 for s in states if not _over(s))
    headline = (
        "New failure: an association just started failing"
        if count == 1
        else f"New failures: {count} associations just started failing"
    )
    if open_count == 0:
        headline = "Resolved: " + ("the failure is over" if count == 1 else "every failure is over")
    icon = ":white_check_mark:" if open_count == 0 else ":rotating_light:"
    budget = Budget(max_blocks=MESSAGE_BLOCKS)
    head = f"{icon} *{escape(headline)}*"
    if mentions:
        head += f" {mention_markup(mentions)}"
    budget.add([SectionBlock(text=md(head))])
    shown = 0
    for state in states[:ALERTS_SHOWN]:
        group = _state_blocks(state, now, zone)
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
    names = ", ".join(escape(clip(_name(s), 60)) for s in states[:3])
    more = f" and {count - 3} more" if count > 3 else ""
    return SlackMessage(text=f"{headline}: {names}{more}", blocks=budget.used, hidden=count - shown)


def _over(state: AlertState) -> bool:
    return state.resolved or state.tracked is None


def _name(state: AlertState) -> str:
    if state.tracked is not None:
        return state.tracked.association.display_name
    return state.key.association_id


def _state_blocks(state: AlertState, now: datetime, zone: ZoneInfo | None) -> list[Block]:
    item = state.tracked
    if item is None or _over(state):
        end = state.resolved_at or now
        lasted = humanize(end - state.failing_since)
        name = item.association.account_name if item is not None else None
        where = f"{account(state.key.account_id, name)} · {escape(state.key.region)}"
        what = f"*{inert(_name(state), 80)}*"
        if item is not None:
            what += f" · {inert(item.association.document_name, 60)}"
        line = (
            f":white_check_mark: {what}\n{where} · resolved "
            f"{slack_date(end, zone=zone)} after failing for *{lasted}*"
        )
        blocks: list[Block] = [SectionBlock(text=md(line))]
        if item is not None:
            blocks.append(history_button(item))
        return blocks
    lines = [association_line(item, now)]
    if item.ack is not None:
        until = f"until {slack_date(item.ack.until, zone=zone)}" if item.ack.until else ""
        lines.append(
            f":white_check_mark: Acknowledged by {mention(item.ack.by)} {until}: "
            f"_{escape(clip(item.ack.reason, 120))}_"
        )
    if state.rerun is not None:
        lines.append(rerun_note(state.rerun, zone))
    return [SectionBlock(text=md("\n".join(lines))), association_buttons(item)]
