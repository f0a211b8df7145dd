"""What every Block Kit surface shares: safe text, button values, Slack's limits, a budget.

Three rules keep AWS-supplied text inert (an association named `<!channel> *pwned*
<http://evil|click>` must not ping, link or bold anything):
- in mrkdwn, AWS strings appear only through `inert()`: `&`, `<`, `>` escaped and the text
  set as inline code (backticks inside replaced), where Slack applies no formatting;
- elsewhere (headers, buttons, modal labels, confirm dialogs) they go into plain_text;
- a message's top-level `text` (the notification and fallback, which Slack reads as mrkdwn)
  is escaped too.
People's text (acknowledgement reasons) is escaped too, so a reason cannot ping a channel.

Every builder stays inside Slack's limits for any input through a `Budget`: 50 blocks a
message, 100 a modal or Home tab, 3000 characters a section, and a total text budget below
the size at which Slack answers `msg_blocks_too_long`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, MarkdownTextObject, PlainTextObject, SectionBlock

from bot.core.ids import ACCOUNT_SHAPE, ASSOCIATION_SHAPE, REGION_SHAPE, SLACK_USER
from bot.models import AssociationKey
from bot.util.strings import clip

ACTION_HISTORY = "ssm3_history"
ACTION_RERUN = "ssm3_rerun"
ACTION_ACK = "ssm3_ack"
ACTION_CANCEL = "ssm3_cancel"
ACTION_ROW = "ssm3_row"  # a digest row's menu: its options carry the three actions above
ACTION_SWEEP = "ssm3_sweep"  # the Home tab's Sweep button
ACK_MODAL = "ssm3_ack_modal"

MESSAGE_BLOCKS = 50  # a message
VIEW_BLOCKS = 100  # a modal or the Home tab
SECTION_CHARS = 3000
HEADER_CHARS = 150
# Slack refuses a message whose blocks carry about 12k characters of text; stay well below.
TEXT_BUDGET = 9000
# The digest packs one section a row, so its rows, not its blocks, meet the text limit first:
# it may use more of it, still 1,500 characters below the 12,000 at which Slack (by reports,
# and the fake API) refuses, which leaves room for what Slack counts besides the text.
DIGEST_TEXT_BUDGET = 10_500


# -- text safety ---------------------------------------------------------------------------------
def escape(text: str) -> str:
    """The three characters Slack's mrkdwn gives meaning to as control sequences."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inert(text: str | None, limit: int = 120) -> str:
    """AWS text for mrkdwn: escaped and set as inline code, where Slack formats nothing."""
    # A backtick would end the code span: show a look-alike instead.
    shown = clip(text, limit).replace("`", "\u02cb") or "-"
    return f"`{escape(shown)}`"


def plain(text: str, limit: int = SECTION_CHARS) -> PlainTextObject:
    return PlainTextObject(text=clip(text, limit) or "-", emoji=False)


def md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[:SECTION_CHARS])


def slack_date(
    moment: datetime, pattern: str = "{date_short_pretty} {time}", zone: ZoneInfo | None = None
) -> str:
    """A date Slack shows in each reader's own time zone, with a fallback for old clients."""
    fallback = moment.astimezone(zone or UTC).strftime("%Y-%m-%d %H:%M %Z")
    return f"<!date^{int(moment.timestamp())}^{pattern}|{fallback}>"


def account(account_id: str, name: str | None = None) -> str:
    """An account as people know it: '`payments-prod` (222222222222)', or just the ID."""
    return f"{inert(name, 50)} ({escape(account_id)})" if name else escape(account_id)


def mention(user_id: str) -> str:
    """A user mention for IDs Slack gave us; anything else shown inert."""
    return f"<@{user_id}>" if SLACK_USER.match(user_id) else inert(user_id, 40)


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


# -- button values -------------------------------------------------------------------------------
def key_value(key: AssociationKey) -> str:
    return f"{key.account_id}:{key.region}:{key.association_id}"


_KEY_VALUE = re.compile(f"({ACCOUNT_SHAPE}):({REGION_SHAPE}):({ASSOCIATION_SHAPE})")


def parse_key_value(value: str | None) -> AssociationKey | None:
    match = _KEY_VALUE.fullmatch(value or "")
    return AssociationKey(match[1], match[2], match[3]) if match else None


def row_value(action_id: str, key: AssociationKey) -> str:
    """A digest row menu option's value: which action, on which association."""
    return f"{action_id}|{key_value(key)}"


def parse_row_value(value: str | None) -> tuple[str, AssociationKey] | None:
    action_id, _, rest = (value or "").partition("|")
    key = parse_key_value(rest)
    if key is None or action_id not in {ACTION_HISTORY, ACTION_RERUN, ACTION_ACK}:
        return None
    return action_id, key


def new_nonce() -> str:
    """A render's mark in its block_ids: every edit gets fresh ones, so Slack clients redraw
    the message and a click on a stale copy names the render it came from."""
    return uuid.uuid4().hex[:8]


def render_of(block_id: str | None) -> str | None:
    """The nonce a block_id built by `block_id` carries (None for any other block_id)."""
    match = re.fullmatch(r"[a-z]+\.([0-9a-f]{8})(?:\.\d+)?", block_id or "")
    return match[1] if match else None


def block_id(part: str, nonce: str, index: int | None = None) -> str:
    return f"{part}.{nonce}" + ("" if index is None else f".{index}")


# -- messages ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlackMessage:
    """What one chat.postMessage / response carries: fallback text and blocks."""

    text: str
    blocks: list[Block]
    overflow: bool = False  # something was summarised; its full list belongs in a CSV
    hidden: int = 0

    def blocks_json(self) -> list[dict[str, Any]]:
        return [block.to_dict() for block in self.blocks]


def text_chars(block: Block | dict[str, Any]) -> int:
    """Characters of text a block carries (what Slack's total-size limit counts)."""
    tree = block.to_dict() if isinstance(block, Block) else block
    total = 0
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") in {"plain_text", "mrkdwn"} and isinstance(node.get("text"), str):
                total += len(node["text"])
            else:
                stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return total


class Budget:
    """Blocks and text left on one surface, so builders stop before Slack's limits.

    `max_blocks` is the surface's block limit: MESSAGE_BLOCKS (50) for a message,
    VIEW_BLOCKS (100) for a modal or the Home tab; `max_chars` the text budget."""

    def __init__(self, *, max_blocks: int, max_chars: int = TEXT_BUDGET) -> None:
        self.max_blocks = max_blocks
        self.max_chars = max_chars
        self.used: list[Block] = []
        self.blocks = max_blocks  # blocks left
        self.chars = max_chars  # characters of text left

    def fits(self, group: Sequence[Block], reserve_blocks: int = 0, reserve_chars: int = 0) -> bool:
        size = sum(text_chars(b) for b in group)
        return len(group) + reserve_blocks <= self.blocks and size + reserve_chars <= self.chars

    def add(self, group: Sequence[Block]) -> None:
        self.blocks -= len(group)
        self.chars -= sum(text_chars(b) for b in group)
        self.used.extend(group)


def notice(text: str, *, fallback: str | None = None) -> SlackMessage:
    """A one-section reply; `text` is mrkdwn the caller built safely."""
    return SlackMessage(text=fallback or _strip_mrkdwn(text), blocks=[SectionBlock(text=md(text))])


def _strip_mrkdwn(text: str) -> str:
    return clip(re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", r"\1", text).replace("*", ""), 300)


def fit(text: str, limit: int = SECTION_CHARS) -> str:
    """Whole lines of `text` within a section's limit (mrkdwn is not cut inside a line)."""
    if len(text) <= limit:
        return text
    kept: list[str] = []
    size = 0
    for line in text.split("\n"):
        if size + len(line) + 1 > limit - 20:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join([*kept, "…(more not shown)"])
