"""The App Home tab: one person's dashboard, published with views.publish (100 blocks).

Top to bottom: the summary and the 14-day trend; the last sweep's health with a Sweep button;
the failing associations, each with the digest's three buttons (History, Re-run, Acknowledge),
theirs first when `first` says which are (their routes' associations, once routes exist);
acknowledgements that end within 7 days; who acknowledged what, and why; orphaned items and the
account-regions not swept. Every block_id carries the render's nonce, fresh on each publish.

Also here: `answer_modal`, the modal that answers a click on the Home tab (which has no channel
and no response_url to answer in).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.core.digest import DigestView
from bot.models import TrackedAssociation
from bot.slack.blocks.association import ack_line, association_buttons, rerun_note
from bot.slack.blocks.base import (
    ACTION_SWEEP,
    HEADER_CHARS,
    SECTION_CHARS,
    VIEW_BLOCKS,
    Budget,
    SlackMessage,
    account,
    block_id,
    escape,
    fit,
    inert,
    md,
    mention,
    new_nonce,
    plain,
    plural,
    slack_date,
    text_chars,
)
from bot.slack.blocks.digest import counts_line, orphans_section, scopes_section
from bot.slack.blocks.row import association_line
from bot.util.clock import humanize

if TYPE_CHECKING:
    from bot.core.health import Health

HOME_SHOWN = 30  # failing associations at most: two blocks each
EXPIRING_WITHIN = timedelta(days=7)
# A Home tab has no documented total-text limit, only 100 blocks and 250 kB of view: stay far
# below the size.
HOME_TEXT_BUDGET = 30_000
ACKS_SHOWN = 15
MODAL_TITLE = "SSM3 Bot"

Mine = Callable[[TrackedAssociation], bool]


def home_view(
    view: DigestView,
    *,
    health: Health | None,
    first: Mine | None = None,
    shown: int = HOME_SHOWN,
    nonce: str | None = None,
) -> dict[str, Any]:
    """The Home tab as views.publish takes it. `first`, when given, says which failing
    associations are the viewer's: those come first, marked (the order is otherwise the
    digest's)."""
    digest, zone, reruns = view.digest, view.zone, view.reruns
    nonce = nonce or new_nonce()
    now = digest.generated_at
    head: list[Block] = [
        HeaderBlock(block_id=block_id("head", nonce), text=plain("SSM.3 compliance", HEADER_CHARS)),
        SectionBlock(block_id=block_id("counts", nonce), text=md(counts_line(view))),
        _health_section(health, block_id("health", nonce)),
    ]
    if digest.scopes_failed:
        head.append(
            scopes_section(digest.scopes_failed, digest.account_names, block_id("unswept", nonce))
        )
    budget = Budget(max_blocks=VIEW_BLOCKS, max_chars=HOME_TEXT_BUDGET)
    budget.add(head)

    tail = _acknowledgements(digest.acknowledged, now, zone, nonce)
    if digest.orphans:
        tail += [
            DividerBlock(block_id=block_id("rule", nonce, 3)),
            orphans_section(
                digest.orphans, names=digest.account_names, block=block_id("orphans", nonce)
            ),
        ]
    tail.append(
        ContextBlock(
            block_id=block_id("updated", nonce),
            elements=[
                md(
                    f"Updated {slack_date(now, zone=zone)}, and again after each sweep; "
                    "`/ssm3 help` lists the commands."
                )
            ],
        )
    )

    mine = {item.key for item in digest.failing if first is not None and first(item)}
    ordered = sorted(digest.failing, key=lambda item: item.key not in mine)  # stable
    title = f"*Failing ({len(ordered)})*" + (
        f": {plural(len(mine), 'of yours', 'of yours')} first" if mine else ""
    )
    if not ordered:
        title = "*Failing (0)*: nothing to do."
    budget.add(
        [
            DividerBlock(block_id=block_id("rule", nonce, 0)),
            SectionBlock(block_id=block_id("failing", nonce), text=md(title)),
        ]
    )
    reserve = sum(text_chars(b) for b in tail) + 200
    placed = 0
    for index, item in enumerate(ordered[: max(0, shown)]):
        badge = "*Yours* · " if item.key in mine else ""
        if digest.is_new(item):
            badge += "*New* · "
        text = association_line(item, now, badge)
        rerun = reruns.get(item.key)
        if rerun is not None:
            text += "\n" + rerun_note(rerun, zone)
        row: list[Block] = [
            SectionBlock(block_id=block_id("row", nonce, index), text=md(text)),
            association_buttons(item, block=block_id("act", nonce, index)),
        ]
        if not budget.fits(row, reserve_blocks=len(tail) + 1, reserve_chars=reserve):
            break
        budget.add(row)
        placed += 1
    hidden = len(ordered) - placed
    if hidden:
        budget.add(
            [
                SectionBlock(
                    block_id=block_id("more", nonce),
                    text=md(
                        f"…and *{hidden}* more failing. `/ssm3 status ACCOUNT` or `REGION` "
                        "narrows the list; the digest's thread has all of them as a CSV file."
                    ),
                )
            ]
        )
    budget.add(tail)
    return View(type="home", blocks=budget.used).to_dict()


def closed_home_view(why: str) -> dict[str, Any]:
    """The Home tab of someone who may not read the fleet (SSM3_VIEWERS): one line saying who
    may, and the commands."""
    nonce = new_nonce()
    blocks: list[Block] = [
        HeaderBlock(block_id=block_id("head", nonce), text=plain("SSM.3 compliance", HEADER_CHARS)),
        SectionBlock(block_id=block_id("closed", nonce), text=md(fit(escape(why)))),
        ContextBlock(
            block_id=block_id("updated", nonce),
            elements=[md("`/ssm3 help` lists the commands; the channel digest is for everyone.")],
        ),
    ]
    return View(type="home", blocks=blocks).to_dict()


def _health_section(health: Health | None, block: str) -> SectionBlock:
    """The last sweep's health in a line or two, and the Sweep button (permission is checked
    when it is pressed)."""
    if health is None:
        text = "*Last sweep*: none has finished yet."
    else:
        mark = ":large_green_circle:" if health.healthy else ":red_circle:"
        lines = [f"{mark} *Health*: {escape(health.lines[0])}"]
        lines += [escape(line) for line in health.lines[1:]]
        text = fit("\n".join(lines))
    return SectionBlock(
        block_id=block,
        text=md(text),
        accessory=ButtonElement(text=plain("Sweep now", 75), action_id=ACTION_SWEEP, value="sweep"),
    )


def _acknowledgements(
    items: Sequence[TrackedAssociation], now: datetime, zone: ZoneInfo | None, nonce: str
) -> list[Block]:
    """Acknowledgements ending within 7 days (soonest first), then who acknowledged what."""
    if not items:
        return []
    ending = sorted(
        (t for t in items if t.ack and t.ack.until and t.ack.until - now <= EXPIRING_WITHIN),
        key=lambda t: t.ack.until if t.ack and t.ack.until else now,
    )
    blocks: list[Block] = [DividerBlock(block_id=block_id("rule", nonce, 1))]
    if ending:
        lines = [f"*Acknowledgements ending within {EXPIRING_WITHIN.days} days ({len(ending)})*"]
        for item in ending[:ACKS_SHOWN]:
            a, ack = item.association, item.ack
            assert ack is not None
            assert ack.until is not None
            lines.append(
                f"• {inert(a.display_name, 60)} · {account(a.account_id, a.account_name)} "
                f"{escape(a.region)} · ends {slack_date(ack.until, zone=zone)} "
                f"(in {humanize(max(ack.until - now, timedelta(0)))}) · by {mention(ack.by)}"
            )
        if len(ending) > ACKS_SHOWN:
            lines.append(f"…and {len(ending) - ACKS_SHOWN} more.")
        blocks.append(
            SectionBlock(block_id=block_id("ending", nonce), text=md(fit("\n".join(lines))))
        )
    lines = [f"*Acknowledged ({len(items)})*: who, until when and why"]
    size = len(lines[0])
    for item in items[:ACKS_SHOWN]:
        line = "• " + ack_line(item, zone)
        if size + len(line) + 60 > SECTION_CHARS:
            break
        lines.append(line)
        size += len(line) + 1
    if len(lines) - 1 < len(items):
        lines.append(f"…and {len(items) - (len(lines) - 1)} more: `/ssm3 status` lists them.")
    blocks.append(SectionBlock(block_id=block_id("acked", nonce), text=md("\n".join(lines))))
    return blocks


def answer_modal(message: SlackMessage, title: str = MODAL_TITLE) -> dict[str, Any]:
    """A modal carrying `message`: how a click on the Home tab is answered."""
    return View(
        type="modal",
        title=plain(title, 24),
        close=plain("Close", 24),
        blocks=message.blocks[:VIEW_BLOCKS],
    ).to_dict()
