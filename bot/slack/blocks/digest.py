"""The channel digest (and the `status` reply): counts and the 14-day trend, failing
associations, the acknowledged ones, orphaned items, scopes not swept, Security Hub's
disagreements.

A failing association is a section (row.py) with the contract's three buttons, History,
Re-run and Acknowledge, in an actions block under it wherever the message holds them: every
row of a short digest, the most urgent rows of a long one; the other rows carry the same
actions in the section's menu, one block a row, so a long digest shows twice the rows. Every
block_id carries the render's nonce, fresh on each edit. What does not fit is summarised
("…and 212 more"); the digest's full list goes to its thread as a CSV file (delivery.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.core.causes import ORPHAN_REMEDY
from bot.core.digest import Digest, DigestView
from bot.core.findings import CSPM
from bot.core.routing import mention_markup
from bot.core.trend import Trend, change, sparkline
from bot.models import Orphan, ScopeStatus, SecurityHubCheck, TrackedAssociation
from bot.slack.blocks.association import ack_line, association_buttons
from bot.slack.blocks.base import (
    DIGEST_TEXT_BUDGET,
    HEADER_CHARS,
    MESSAGE_BLOCKS,
    SECTION_CHARS,
    Budget,
    SlackMessage,
    account,
    block_id,
    escape,
    fit,
    inert,
    md,
    new_nonce,
    plain,
    plural,
    slack_date,
    text_chars,
)
from bot.slack.blocks.row import failing_row, plan_rows
from bot.util.clock import humanize

if TYPE_CHECKING:
    from bot.models import SnapshotItem

DIGEST_SHOWN = 40  # rows at most (twice what a message held with an actions block a row)


# -- the digest ----------------------------------------------------------------------------------
def digest_message(
    view: DigestView,
    *,
    title: str = "SSM.3 digest",
    overflow_hint: str = "The full list is in the thread as a CSV file.",
    buttons: bool = True,
    shown: int = DIGEST_SHOWN,
    intro: Sequence[Block] = (),
    nonce: str | None = None,
) -> SlackMessage:
    """The channel digest (and the `status` reply): counts, the failing associations with their
    menus, the acknowledged ones compactly, orphaned items, the scopes not swept, and where
    Security Hub disagrees. `intro` (blocks the caller built safely) goes under the counts.
    `nonce` marks every block_id (a fresh one by default). What to show is the view's."""
    digest, zone, reruns = view.digest, view.zone, view.reruns
    t = digest.totals
    nonce = nonce or new_nonce()
    names = digest.account_names
    unacked = t.failing - t.acknowledged
    if t.failing or t.scopes_failed:
        headline = f"{title}: {plural(unacked, 'failing association')}"
    elif digest.orphans:
        headline = f"{title}: {plural(len(digest.orphans), 'orphaned compliance item')}"
    else:
        headline = f"{title}: all {plural(t.associations, 'association')} compliant"
    fallback = (
        f"{headline} ({t.acknowledged} acknowledged), {plural(t.noncompliant_instances, 'instance')} "
        f"non-compliant, {plural(t.scopes_failed, 'account-region')} not swept."
    )
    head: list[Block] = [
        HeaderBlock(block_id=block_id("head", nonce), text=plain(headline, HEADER_CHARS)),
        SectionBlock(block_id=block_id("counts", nonce), text=md(counts_line(view))),
    ]
    head += _warnings(view, nonce)
    head.extend(intro)
    budget = Budget(max_blocks=MESSAGE_BLOCKS, max_chars=DIGEST_TEXT_BUDGET)
    budget.add(head)

    tail: list[Block] = []
    if digest.orphans:
        tail += [
            DividerBlock(block_id=block_id("rule", nonce, 1)),
            orphans_section(digest.orphans, names=names, block=block_id("orphans", nonce)),
        ]
    acked_hidden = 0
    if digest.acknowledged:
        section, acked_hidden = _acknowledged_section(
            digest.acknowledged, zone, block=block_id("acked", nonce)
        )
        tail += [DividerBlock(block_id=block_id("rule", nonce, 2)), section]
    if digest.scopes_failed:
        tail.append(scopes_section(digest.scopes_failed, names, block_id("unswept", nonce)))
    if digest.changes is not None and digest.changes.resolved:
        tail.append(_resolved_section(digest.changes.resolved, names, block_id("resolved", nonce)))

    more_line = 1  # the "…and N more" section, when needed
    tail_chars = sum(text_chars(b) for b in tail) + 200

    def row(index: int, item: TrackedAssociation, full: bool) -> list[Block]:
        """A row: its section, and the contract's three buttons when `full` (else its menu)."""
        blocks: list[Block] = [
            failing_row(
                item,
                digest.generated_at,
                rerun=reruns.get(item.key),
                menu=buttons and not full,
                zone=zone,
                badge=_badge(digest, item),
                block=block_id("row", nonce, index),
            )
        ]
        if full:
            blocks.append(association_buttons(item, block=block_id("act", nonce, index)))
        return blocks

    planned = list(enumerate(digest.failing[: max(0, shown)]))
    compact = [row(i, item, False) for i, item in planned]
    full = [row(i, item, True) for i, item in planned] if buttons else compact
    rows = plan_rows(
        compact,
        full,
        blocks=budget.blocks - len(tail) - more_line - 1,
        chars=budget.chars - tail_chars,
    )
    shown_rows = len(rows)
    if rows:
        budget.add([DividerBlock(block_id=block_id("rule", nonce, 0))])
    for group in rows:
        budget.add(group)
    hidden = len(digest.failing) - shown_rows
    if hidden:
        budget.add(
            [
                SectionBlock(
                    block_id=block_id("more", nonce),
                    text=md(
                        f"…and *{hidden}* more failing "
                        f"{'association' if hidden == 1 else 'associations'}. {overflow_hint}"
                    ),
                )
            ]
        )
    budget.add(tail)
    if digest.all_clear and t.associations:
        budget.add(
            [
                ContextBlock(
                    block_id=block_id("clear", nonce),
                    elements=[md("Nothing to do. The next digest comes on schedule.")],
                )
            ]
        )
    return SlackMessage(
        text=fallback,
        blocks=budget.used,
        overflow=bool(hidden or acked_hidden),
        hidden=hidden,
    )


def counts_line(view: DigestView) -> str:
    digest, zone = view.digest, view.zone
    t = digest.totals
    line = (
        f"*{t.failing - t.acknowledged}* failing · *{t.acknowledged}* acknowledged · "
        f"*{t.noncompliant_instances}* instances non-compliant · "
        f"*{t.scopes_failed}* account-regions not swept"
    )
    last = digest.last_sweep
    if last and last.finished_at:
        line += (
            f"\nLast sweep {slack_date(last.finished_at, zone=zone)}: "
            f"{t.scopes - t.scopes_failed} of {t.scopes} account-regions, "
            f"{plural(t.associations, 'association')}."
        )
    else:
        line += "\nNo sweep has finished yet: try `/ssm3 sweep`."
    trend = trend_line(view.trend)
    if trend:
        line += "\n" + trend
    changes = digest.changes
    if changes is not None:
        line += (
            f"\nSince the last digest ({slack_date(changes.since, zone=zone)}): "
            f"*{len(changes.new)}* new · *{len(changes.resolved)}* resolved · "
            f"*{len(changes.reopened)}* reopened after an acknowledgement expired."
        )
    return line


def trend_line(trend: Trend | None) -> str | None:
    """The last 14 days as two sparklines (mrkdwn), when the view shows a trend."""
    if trend is None:
        return None

    def part(label: str, values: Sequence[int | None]) -> str:
        moved = change(values)
        figures = f" {moved[0]} → *{moved[1]}*" if moved else ""
        return f"{label} `{sparkline(values)}`{figures}"

    return (
        f"Last {len(trend.days)} days: {part('failing', trend.failing)} · "
        f"{part('instances non-compliant', trend.noncompliant)}"
    )


def _warnings(view: DigestView, nonce: str) -> list[Block]:
    """Under the counts: failures past the escalation age, and Security Hub disagreeing."""
    blocks: list[Block] = []
    if view.digest.escalated:
        blocks.append(
            SectionBlock(block_id=block_id("escalated", nonce), text=md(escalation_line(view)))
        )
    if view.security_hub is not None:
        blocks.append(
            ContextBlock(
                block_id=block_id("hub", nonce),
                elements=[md(security_hub_line(view.security_hub))],
            )
        )
    return blocks


def escalation_line(view: DigestView) -> str:
    """Failures older than SSM3_ESCALATE_AFTER, oldest first, naming the route's mention:
    the ones a team has let slide (mrkdwn)."""
    digest = view.digest
    old = digest.escalated
    after = humanize(digest.escalate_after) if digest.escalate_after else "long"
    named = ", ".join(
        f"*{inert(t.association.display_name, 60)}* "
        f"({account(t.key.account_id, t.association.account_name)} "
        f"{escape(t.key.region)}, {humanize(digest.generated_at - t.failing_since)})"
        for t in view.escalated_named
        if t.failing_since is not None
    )
    more = f" and {view.escalated_more} more" if view.escalated_more else ""
    who = f" {mention_markup(digest.mentions)}" if digest.mentions else ""
    return fit(
        f":alarm_clock: *{plural(len(old), 'failure')} older than {after}*{who}: {named}{more}"
    )


def security_hub_line(check: SecurityHubCheck) -> str:
    """Where each Security Hub's SSM.3 findings and the sweep disagree, in one line (mrkdwn):
    CSPM's (unless the sweep found it off), then the new hub's."""
    cspm_off = bool(check.hubs) and CSPM not in check.hubs
    said = [] if cspm_off else [_hub_line(check, "Security Hub")]
    if check.v2 is not None:
        said.append(_hub_line(check.v2, "the new Security Hub"))
    return fit(" ".join(said) or ":shield: Neither Security Hub was read.")


def _hub_line(check: SecurityHubCheck, hub: str) -> str:
    region = escape(check.region)
    if check.error is not None:
        return f":grey_question: {hub[0].upper()}{hub[1:]} ({region}) could not be read: {inert(check.error, 200)}"
    parts = []
    if check.unexplained:
        parts.append(
            f"{hub} fails *{len(check.unexplained)}* "
            f"{'instance' if len(check.unexplained) == 1 else 'instances'} the sweep finds "
            f"compliant{_few(check.unexplained)} (Config lag, or Config not recording "
            "AWS::SSM::AssociationCompliance)"
        )
    if check.sweep_only:
        parts.append(
            f"the sweep finds *{len(check.sweep_only)}* "
            f"{'instance' if len(check.sweep_only) == 1 else 'instances'} NON_COMPLIANT that "
            f"{hub} passes{_few(check.sweep_only)} (Config lag)"
        )
    text = "; ".join(parts) or f"{hub} agrees with the sweep"
    return f":shield: {text[0].upper()}{text[1:]}."


def _few(keys: Sequence[Any], limit: int = 3) -> str:
    shown = ", ".join(inert(k.instance_id, 30) for k in keys[:limit])
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return f": {shown}{more}" if shown else ""


def orphans_section(
    orphans: Sequence[Orphan],
    limit: int = 10,
    *,
    names: Mapping[str, str] | None = None,
    block: str | None = None,
) -> SectionBlock:
    """NON_COMPLIANT items whose association is gone: where, and the one thing that clears them."""
    known = names or {}
    lines = [f"*Orphaned compliance items ({len(orphans)})*"]
    for o in orphans[:limit]:
        lines.append(
            f"• {inert(o.instance_id, 30)} · {account(o.account_id, known.get(o.account_id))} · "
            f"{escape(o.region)} · association {inert(o.association_id, 40)} (gone)"
        )
    if len(orphans) > limit:
        lines.append(f"…and {len(orphans) - limit} more.")
    lines.append(escape(ORPHAN_REMEDY))
    return SectionBlock(block_id=block, text=md("\n".join(lines)))


def _badge(digest: Digest, item: TrackedAssociation) -> str:
    if digest.is_reopened(item):
        return "*Reopened* · "
    return "*New* · " if digest.is_new(item) else ""


def _acknowledged_section(
    items: Sequence[TrackedAssociation],
    zone: ZoneInfo | None,
    limit: int = 10,
    *,
    block: str | None = None,
) -> tuple[SectionBlock, int]:
    lines = [f"*Acknowledged ({len(items)})*"]
    size = len(lines[0])
    shown = 0
    for item in items[:limit]:
        line = "• " + ack_line(item, zone)
        if size + len(line) + 120 > SECTION_CHARS:
            break
        lines.append(line)
        size += len(line) + 1
        shown += 1
    hidden = len(items) - shown
    if hidden:
        lines.append(f"…and {hidden} more acknowledged (in the CSV).")
    return SectionBlock(block_id=block, text=md("\n".join(lines))), hidden


def scopes_section(
    scopes: Sequence[ScopeStatus], names: Mapping[str, str], block: str, limit: int = 8
) -> SectionBlock:
    lines = [f"*Not swept ({len(scopes)})*: these account-regions may hide failures"]
    for scope in scopes[:limit]:
        where = account(scope.scope.account_id, names.get(scope.scope.account_id))
        lines.append(f"• {where} {escape(scope.scope.region)}: {inert(scope.error, 160)}")
    if len(scopes) > limit:
        lines.append(f"…and {len(scopes) - limit} more.")
    return SectionBlock(block_id=block, text=md("\n".join(lines)))


def _resolved_section(
    items: Sequence[SnapshotItem], names: Mapping[str, str], block: str, limit: int = 8
) -> SectionBlock:
    lines = [f"*Resolved since the last digest ({len(items)})*"]
    for item in items[:limit]:
        lines.append(
            f"• {inert(item.name, 60)} · {inert(item.document, 40)} · "
            f"{account(item.key.account_id, names.get(item.key.account_id))} "
            f"{escape(item.key.region)}"
        )
    if len(items) > limit:
        lines.append(f"…and {len(items) - limit} more.")
    return SectionBlock(block_id=block, text=md("\n".join(lines)))
