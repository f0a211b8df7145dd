"""The channel digest (and the `status` reply): counts, failing associations with their
buttons, the acknowledged ones, orphaned items, scopes not swept, Security Hub's disagreements.

What does not fit is summarised ("…and 212 more"); the digest's full list goes to its thread
as a CSV file (delivery.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, SectionBlock

from bot.causes import ORPHAN_REMEDY, kind_label, short_remedy
from bot.clock import humanize
from bot.core.routing import mention_markup
from bot.digest import Digest, DigestTotals, top_error
from bot.models import AssociationKey, Orphan, ScopeStatus, SecurityHubCheck, TrackedAssociation
from bot.slack.blocks.association import ack_line, association_buttons, rerun_note
from bot.slack.blocks.base import (
    HEADER_CHARS,
    MESSAGE_BLOCKS,
    SECTION_CHARS,
    Budget,
    SlackMessage,
    escape,
    fit,
    inert,
    md,
    plain,
    plural,
    slack_date,
    text_chars,
)

if TYPE_CHECKING:
    from bot.models import SnapshotItem

DIGEST_SHOWN = 20


# -- the digest ----------------------------------------------------------------------------------
def digest_message(
    digest: Digest,
    *,
    reruns: Mapping[AssociationKey, Any] | None = None,
    title: str = "SSM.3 digest",
    overflow_hint: str = "The full list is in the thread as a CSV file.",
    buttons: bool = True,
    zone: ZoneInfo | None = None,
    shown: int = DIGEST_SHOWN,
    intro: Sequence[Block] = (),
) -> SlackMessage:
    """The channel digest (and the `status` reply): counts, the failing associations with their
    buttons, the acknowledged ones compactly, orphaned items, the scopes not swept, and where
    Security Hub disagrees. `intro` (blocks the caller built safely) goes under the counts."""
    t = digest.totals
    reruns = reruns or {}
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
        HeaderBlock(text=plain(headline, HEADER_CHARS)),
        SectionBlock(text=md(_counts_line(t, digest, zone))),
    ]
    head += _warnings(digest)
    head.extend(intro)
    budget = Budget(max_blocks=MESSAGE_BLOCKS)
    budget.add(head)

    tail: list[Block] = []
    if digest.orphans:
        tail += [DividerBlock(), orphans_section(digest.orphans)]
    acked_hidden = 0
    if digest.acknowledged:
        section, acked_hidden = _acknowledged_section(digest.acknowledged, zone)
        tail += [DividerBlock(), section]
    if digest.scopes_failed:
        tail.append(_scopes_section(digest.scopes_failed))
    if digest.changes is not None and digest.changes.resolved:
        tail.append(_resolved_section(digest.changes.resolved))

    rows: list[list[Block]] = [
        _failing_blocks(
            item,
            digest.generated_at,
            reruns.get(item.key),
            buttons,
            zone,
            badge=_badge(digest, item),
        )
        for item in digest.failing[: max(0, shown)]
    ]
    more_line = 1  # the "…and N more" section, when needed
    shown_rows: list[list[Block]] = []
    tail_chars = sum(text_chars(b) for b in tail) + 200
    for row in rows:
        group = ([DividerBlock()] if not shown_rows else []) + row
        if not budget.fits(group, reserve_blocks=len(tail) + more_line, reserve_chars=tail_chars):
            break
        budget.add(group)
        shown_rows.append(row)
    hidden = len(digest.failing) - len(shown_rows)
    if hidden:
        budget.add(
            [
                SectionBlock(
                    text=md(
                        f"…and *{hidden}* more failing "
                        f"{'association' if hidden == 1 else 'associations'}. {overflow_hint}"
                    )
                )
            ]
        )
    budget.add(tail)
    if digest.all_clear and t.associations:
        budget.add(
            [ContextBlock(elements=[md("Nothing to do. The next digest comes on schedule.")])]
        )
    return SlackMessage(
        text=fallback,
        blocks=budget.used,
        overflow=bool(hidden or acked_hidden),
        hidden=hidden,
    )


def _counts_line(t: DigestTotals, digest: Digest, zone: ZoneInfo | None) -> str:
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
    changes = digest.changes
    if changes is not None:
        line += (
            f"\nSince the last digest ({slack_date(changes.since, zone=zone)}): "
            f"*{len(changes.new)}* new · *{len(changes.resolved)}* resolved · "
            f"*{len(changes.reopened)}* reopened after an acknowledgement expired."
        )
    return line


def association_line(item: TrackedAssociation, now: datetime, badge: str = "") -> str:
    """Name, document, where, how it fails SSM.3 and on how many instances, for how long, the
    top error; for a failure a re-run will not fix, what would (mrkdwn)."""
    a = item.association
    since = humanize(now - item.failing_since) if item.failing_since else "?"
    where = (
        f"{escape(a.account_id)} · {escape(a.region)} · {escape(kind_label(a))} · "
        f"*{len(a.noncompliant_instances)}* "
        f"{'instance' if len(a.noncompliant_instances) == 1 else 'instances'} non-compliant"
    )
    if a.failure_kind != "reported" or a.run_failed:
        failed = a.failed_target_count or len(a.failed_targets)
        where += f" · *{failed}/{a.total_targets}* targets failed"
    lines = [
        f"{badge}*{inert(a.display_name, 80)}* · {inert(a.document_name, 60)}",
        f"{where} · failing for *{since}*",
    ]
    error = top_error(a.failed_targets)
    if error:
        lines.append(f"Top error: {inert(error, 200)}")
    if a.failure_kind == "reported":  # in full in status, History and the re-run dialog
        lines.append(f":warning: {escape(short_remedy(a))}")
    return "\n".join(lines)


ESCALATED_NAMED = 5


def _warnings(digest: Digest) -> list[Block]:
    """Under the counts: failures past the escalation age, and Security Hub disagreeing."""
    blocks: list[Block] = []
    if digest.escalated:
        blocks.append(SectionBlock(text=md(escalation_line(digest))))
    if digest.security_hub_disagrees and digest.security_hub is not None:
        blocks.append(ContextBlock(elements=[md(security_hub_line(digest.security_hub))]))
    return blocks


def escalation_line(digest: Digest) -> str:
    """Failures older than SSM3_ESCALATE_AFTER, oldest first, naming the route's mention:
    the ones a team has let slide (mrkdwn)."""
    old = digest.escalated
    after = humanize(digest.escalate_after) if digest.escalate_after else "long"
    named = ", ".join(
        f"*{inert(t.association.display_name, 60)}* ({escape(t.key.account_id)} "
        f"{escape(t.key.region)}, {humanize(digest.generated_at - t.failing_since)})"
        for t in old[:ESCALATED_NAMED]
        if t.failing_since is not None
    )
    more = f" and {len(old) - ESCALATED_NAMED} more" if len(old) > ESCALATED_NAMED else ""
    who = f" {mention_markup(digest.mentions)}" if digest.mentions else ""
    return fit(
        f":alarm_clock: *{plural(len(old), 'failure')} older than {after}*{who}: {named}{more}"
    )


def security_hub_line(check: SecurityHubCheck) -> str:
    """Where Security Hub's SSM.3 findings and the sweep disagree, in one line (mrkdwn)."""
    region = escape(check.region)
    if check.error is not None:
        return (
            f":grey_question: Security Hub ({region}) could not be read: {inert(check.error, 200)}"
        )
    parts = []
    if check.unexplained:
        parts.append(
            f"Security Hub fails *{len(check.unexplained)}* "
            f"{'instance' if len(check.unexplained) == 1 else 'instances'} the sweep finds "
            f"compliant{_few(check.unexplained)} (Config lag, or Config not recording "
            "AWS::SSM::AssociationCompliance)"
        )
    if check.sweep_only:
        parts.append(
            f"the sweep finds *{len(check.sweep_only)}* "
            f"{'instance' if len(check.sweep_only) == 1 else 'instances'} NON_COMPLIANT that "
            f"Security Hub passes{_few(check.sweep_only)} (Config lag)"
        )
    text = "; ".join(parts) or "Security Hub agrees with the sweep"
    return f":shield: {text[0].upper()}{text[1:]}."


def _few(keys: Sequence[Any], limit: int = 3) -> str:
    shown = ", ".join(inert(k.instance_id, 30) for k in keys[:limit])
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return f": {shown}{more}" if shown else ""


def orphans_section(orphans: Sequence[Orphan], limit: int = 10) -> SectionBlock:
    """NON_COMPLIANT items whose association is gone: where, and the one thing that clears them."""
    lines = [f"*Orphaned compliance items ({len(orphans)})*"]
    for o in orphans[:limit]:
        lines.append(
            f"• {inert(o.instance_id, 30)} · {escape(o.account_id)} · {escape(o.region)} · "
            f"association {inert(o.association_id, 40)} (gone)"
        )
    if len(orphans) > limit:
        lines.append(f"…and {len(orphans) - limit} more.")
    lines.append(escape(ORPHAN_REMEDY))
    return SectionBlock(text=md("\n".join(lines)))


def _badge(digest: Digest, item: TrackedAssociation) -> str:
    if digest.is_reopened(item):
        return "*Reopened* · "
    return "*New* · " if digest.is_new(item) else ""


def _failing_blocks(
    item: TrackedAssociation,
    now: datetime,
    rerun: Any,
    buttons: bool,
    zone: ZoneInfo | None,
    *,
    badge: str = "",
) -> list[Block]:
    blocks: list[Block] = [SectionBlock(text=md(association_line(item, now, badge)))]
    if rerun is not None:
        blocks.append(ContextBlock(elements=[md(rerun_note(rerun, zone))]))
    if buttons:
        blocks.append(association_buttons(item))
    return blocks


def _acknowledged_section(
    items: Sequence[TrackedAssociation], zone: ZoneInfo | None, limit: int = 10
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
    return SectionBlock(text=md("\n".join(lines))), hidden


def _scopes_section(scopes: Sequence[ScopeStatus], limit: int = 8) -> SectionBlock:
    lines = [f"*Not swept ({len(scopes)})*: these account-regions may hide failures"]
    for scope in scopes[:limit]:
        lines.append(
            f"• {escape(scope.scope.account_id)} {escape(scope.scope.region)}: {inert(scope.error, 160)}"
        )
    if len(scopes) > limit:
        lines.append(f"…and {len(scopes) - limit} more.")
    return SectionBlock(text=md("\n".join(lines)))


def _resolved_section(items: Sequence[SnapshotItem], limit: int = 8) -> SectionBlock:
    lines = [f"*Resolved since the last digest ({len(items)})*"]
    for item in items[:limit]:
        lines.append(
            f"• {inert(item.name, 60)} · {inert(item.document, 40)} · "
            f"{escape(item.key.account_id)} {escape(item.key.region)}"
        )
    if len(items) > limit:
        lines.append(f"…and {len(items) - limit} more.")
    return SectionBlock(text=md("\n".join(lines)))
