"""Block Kit for every Slack surface of ssm3-bot, built on slack_sdk.models: pure, no I/O.

Three rules keep AWS-supplied text inert (an association named `<!channel> *pwned*
<http://evil|click>` must not ping, link or bold anything):
- in mrkdwn, AWS strings appear only through `inert()`: `&`, `<`, `>` escaped and the text
  set as inline code (backticks inside replaced), where Slack applies no formatting;
- elsewhere (headers, buttons, modal labels, confirm dialogs) they go into plain_text;
- a message's top-level `text` (the notification and fallback, which Slack reads as mrkdwn)
  is escaped too.
People's text (acknowledgement reasons) is escaped too, so a reason cannot ping a channel.

Every builder stays inside Slack's limits for any input: 50 blocks a message, 3000 characters
a section, and a total text budget below the size at which Slack answers `msg_blocks_too_long`.
What does not fit is summarised ("…and 212 more"); the digest's full list goes to its thread as
a CSV file (delivery.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.aws.history import History, TargetDetail
from bot.causes import ORPHAN_REMEDY, kind_label, remedy, short_remedy
from bot.clock import humanize
from bot.digest import Digest, DigestTotals, top_error
from bot.ledger import SnapshotItem
from bot.models import (
    AssociationKey,
    ComplianceItem,
    InstanceCompliance,
    Orphan,
    Scope,
    ScopeStatus,
    SecurityHubCheck,
    TrackedAssociation,
)
from bot.slack.parsing import DEFAULT_ACK, MAX_REASON, parse_duration
from bot.strings import clip

ACTION_HISTORY = "ssm3_history"
ACTION_RERUN = "ssm3_rerun"
ACTION_ACK = "ssm3_ack"
ACTION_CANCEL = "ssm3_cancel"
ACK_MODAL = "ssm3_ack_modal"

MESSAGE_BLOCKS = 50
SECTION_CHARS = 3000
HEADER_CHARS = 150
# Slack refuses a message whose blocks carry about 12k characters of text; stay well below.
TEXT_BUDGET = 9000
DIGEST_SHOWN = 20
ACK_PRESETS: tuple[tuple[str, str], ...] = (
    ("12h", "12 hours"),
    ("1d", "1 day"),
    ("3d", "3 days"),
    ("7d", "7 days"),
    ("14d", "14 days"),
    ("30d", "30 days"),
    ("90d", "90 days"),
)
DEFAULT_PRESET = next(value for value, _ in ACK_PRESETS if parse_duration(value) == DEFAULT_ACK)


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


def mention(user_id: str) -> str:
    """A user mention for IDs Slack gave us; anything else shown inert."""
    return f"<@{user_id}>" if re.fullmatch(r"[UW][A-Z0-9]{2,30}", user_id) else inert(user_id, 40)


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


# -- button values -------------------------------------------------------------------------------
def key_value(key: AssociationKey) -> str:
    return f"{key.account_id}:{key.region}:{key.association_id}"


def parse_key_value(value: str | None) -> AssociationKey | None:
    match = re.fullmatch(r"(\d{12}):([a-z0-9-]{4,30}):([0-9a-f-]{36})", value or "")
    return AssociationKey(match[1], match[2], match[3]) if match else None


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


@dataclass
class _Budget:
    """Blocks and text left in a message, so builders stop before Slack's limits."""

    blocks: int = MESSAGE_BLOCKS
    chars: int = TEXT_BUDGET
    used: list[Block] = field(default_factory=list)

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
    if digest.security_hub_disagrees and digest.security_hub is not None:
        head.append(ContextBlock(elements=[md(security_hub_line(digest.security_hub))]))
    head.extend(intro)
    budget = _Budget()
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


def rerun_note(rerun: Any, zone: ZoneInfo | None = None) -> str:
    """ "Re-run by @who at HH:MM", and the follow-up's verdict once it came."""
    note = f"↻ Re-run by {mention(rerun.by)} at {slack_date(rerun.at, '{time}', zone)}"
    if rerun.outcome == "compliant" and rerun.checked_at:
        note += f" · back to Success at {slack_date(rerun.checked_at, '{time}', zone)}"
    elif rerun.outcome == "still_failing":
        note += " · still failing afterwards"
    elif rerun.outcome == "pending":
        note += " · still running at the follow-up check"
    return note


def association_buttons(item: TrackedAssociation, *, confirm: bool = True) -> ActionsBlock:
    a = item.association
    value = key_value(a.key)
    rerun = ButtonElement(
        text=plain("Re-run", 75),
        action_id=ACTION_RERUN,
        value=value,
        confirm=rerun_confirm(item) if confirm else None,
    )
    return ActionsBlock(
        block_id=f"a:{value}"[:255],
        elements=[
            ButtonElement(text=plain("History", 75), action_id=ACTION_HISTORY, value=value),
            rerun,
            ButtonElement(text=plain("Acknowledge", 75), action_id=ACTION_ACK, value=value),
        ],
    )


def rerun_confirm(item: TrackedAssociation) -> ConfirmObject:
    """The digest button's dialog: for a failure a re-run will not fix, that and what would."""
    a = item.association
    if a.failure_kind == "reported":
        return ConfirmObject(
            title=plain("A re-run will not fix it", 100),
            text=plain(f"{clip(a.display_name, 60)}: {remedy(a)}", 300),
            confirm=plain("Re-run anyway", 30),
            deny=plain("Cancel", 30),
        )
    return ConfirmObject(
        title=plain("Re-run this association?", 100),
        text=plain(
            f"Run {clip(a.display_name, 80)} again now on its targets in {a.account_id} "
            f"{a.region} (StartAssociationsOnce)?",
            300,
        ),
        confirm=plain("Re-run", 30),
        deny=plain("Cancel", 30),
    )


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


def ack_line(item: TrackedAssociation, zone: ZoneInfo | None = None) -> str:
    a, ack = item.association, item.ack
    where = f"{escape(a.account_id)} {escape(a.region)}"
    if ack is None:
        return f"{inert(a.display_name, 60)} · {where}"
    until = f"until {slack_date(ack.until, zone=zone)}" if ack.until else "with no expiry"
    return (
        f"{inert(a.display_name, 60)} · {where} · by {mention(ack.by)} {until} · "
        f"_{escape(clip(ack.reason, 120))}_"
    )


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


# -- alerts on new failures ------------------------------------------------------------------------
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
    budget = _Budget()
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


# -- status of one association -------------------------------------------------------------------
STATUS_INSTANCES = 5


def association_status(
    item: TrackedAssociation,
    *,
    now: datetime,
    rerun: Any = None,
    zone: ZoneInfo | None = None,
) -> SlackMessage:
    a = item.association
    counts = ", ".join(f"{k} {v}" for k, v in sorted(a.counts.items())) or "no targets"
    lines = [
        f"*{inert(a.display_name, 80)}* · {inert(a.document_name, 60)}",
        f"{escape(a.account_id)} · {escape(a.region)} · {inert(a.association_id, 40)}",
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
        error = top_error(a.failed_targets)
        if error:
            lines.append(f"Top error: {inert(error, 300)}")
        mark = ":warning: " if a.failure_kind == "reported" else ""
        lines.append(f"{mark}{escape(remedy(a))}")
    if item.ack is not None:
        lines.append("Acknowledged: " + ack_line(item, zone))
    blocks: list[Block] = [SectionBlock(text=md("\n".join(lines)))]
    if rerun is not None:
        blocks.append(ContextBlock(elements=[md(rerun_note(rerun, zone))]))
    if a.failing:
        blocks.append(association_buttons(item))
    return SlackMessage(text=escape(f"{clip(a.display_name, 80)}: {a.status}"), blocks=blocks)


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
) -> list[Block]:
    """What SSM.3 sees for one managed instance, as the last sweep stored it: where it is
    NON_COMPLIANT, its Association items, the failing associations and orphaned items that make
    it so; or that the store finds it compliant."""
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
            f"NON_COMPLIANT in {escape(scope.account_id)} {escape(scope.region)} "
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
                f"association {inert(o.association_id, 40)} (gone) in {escape(o.account_id)} "
                f"{escape(o.region)}"
                for o in orphans[:ITEMS_SHOWN]
            )
        )
        lines.append(escape(ORPHAN_REMEDY))
    return [SectionBlock(text=md(_fit("\n".join(lines))))]


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


def _fit(text: str, limit: int = SECTION_CHARS) -> str:
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


# -- history -------------------------------------------------------------------------------------
def history_message(
    history: History, *, now: datetime, zone: ZoneInfo | None = None
) -> SlackMessage:
    key = history.key
    name = history.association_name or key.association_id
    head: list[Block] = [
        HeaderBlock(text=plain(f"History: {name}", HEADER_CHARS)),
        SectionBlock(
            text=md(
                f"{inert(history.document_name, 60)} · {escape(key.account_id)} · "
                f"{escape(key.region)} · {inert(key.association_id, 40)}"
            )
        ),
    ]
    if history.failure_kind == "reported" and history.remedy:
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
        head.append(SectionBlock(text=md(_fit(_compliance_text(history, zone)))))
    budget = _Budget()
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


_OUTPUT_URL = re.compile(r"^https://[A-Za-z0-9.-]+\.amazonaws\.com/[A-Za-z0-9._~/%+=:@!$*,;-]*$")


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
            f"<{url}|Output in S3>" if _OUTPUT_URL.match(url) else f"Output: {inert(url, 300)}"
        )
    return "\n".join(lines)


# -- re-run --------------------------------------------------------------------------------------
def rerun_confirmation(item: TrackedAssociation, *, rerun_can_fix: bool) -> SlackMessage:
    """The slash command's confirm step: what will run, and the button that runs it. For a
    failure a re-run will not fix, it says so and what would, and offers it only 'anyway'."""
    a = item.association
    lines = [
        f"Re-run *{inert(a.display_name, 80)}* now in {escape(a.account_id)} {escape(a.region)}?",
        f"It runs {inert(a.document_name, 60)} again on its {plural(a.total_targets, 'target')} "
        "(StartAssociationsOnce).",
    ]
    if a.failure_kind == "reported":
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


# -- acknowledge modal ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AckContext:
    """What the modal must remember between opening and submission (private_metadata)."""

    key: AssociationKey
    channel: str | None = None
    message_ts: str | None = None
    response_url: str | None = None

    def dumps(self) -> str:
        data = {
            "k": key_value(self.key),
            "c": self.channel,
            "t": self.message_ts,
            "r": self.response_url,
        }
        return json.dumps({k: v for k, v in data.items() if v})[:3000]

    @classmethod
    def loads(cls, text: str | None) -> AckContext | None:
        try:
            data = json.loads(text or "")
        except ValueError:
            return None
        key = parse_key_value(data.get("k")) if isinstance(data, dict) else None
        if key is None:
            return None
        return cls(key, data.get("c"), data.get("t"), data.get("r"))


def ack_expiry(
    duration: timedelta | None, now: datetime, zone: ZoneInfo
) -> tuple[str, date | None]:
    """The form's initial expiry for `/ssm3 ack ID for DURATION` without a reason: the preset of
    that length, else the date it ends on (the date field wins over the preset), else (a span
    ending today, which the date field cannot say) the shortest preset at least as long."""
    if duration is None:
        return DEFAULT_PRESET, None
    spans = {value: parse_duration(value) for value, _ in ACK_PRESETS}
    exact = next((value for value, span in spans.items() if span == duration), None)
    if exact is not None:
        return exact, None
    ends = (now + duration).astimezone(zone).date()
    if ends > now.astimezone(zone).date():
        return DEFAULT_PRESET, ends
    return next(value for value, span in spans.items() if span >= duration), None


def ack_modal(
    item: TrackedAssociation,
    context: AckContext,
    *,
    reason: str | None = None,
    preset: str = DEFAULT_PRESET,
    until: date | None = None,
) -> View:
    a = item.association
    options = [Option(text=plain(label, 75), value=value) for value, label in ACK_PRESETS]
    by_value = {option.value: option for option in options}
    initial = by_value.get(preset) or by_value[DEFAULT_PRESET]
    return View(
        type="modal",
        callback_id=ACK_MODAL,
        title=plain("Acknowledge", 24),
        submit=plain("Acknowledge", 24),
        close=plain("Cancel", 24),
        private_metadata=context.dumps(),
        blocks=[
            SectionBlock(
                text=md(
                    f"*{inert(a.display_name, 80)}* · {escape(a.account_id)} {escape(a.region)}\n"
                    "It stays in the digest, listed apart as acknowledged, until the expiry."
                )
            ),
            InputBlock(
                block_id="reason",
                label=plain("Reason", 2000),
                element=PlainTextInputElement(
                    action_id="reason",
                    multiline=True,
                    max_length=MAX_REASON,
                    initial_value=reason[:MAX_REASON] if reason else None,
                    placeholder=plain("Why this may stay failing for now, e.g. a ticket", 150),
                ),
            ),
            InputBlock(
                block_id="expiry",
                label=plain("Expires after", 2000),
                element=StaticSelectElement(
                    action_id="preset", options=options, initial_option=initial
                ),
            ),
            InputBlock(
                block_id="until",
                label=plain("Or on a date", 2000),
                optional=True,
                hint=plain("A date here wins over the preset; at most 90 days ahead.", 2000),
                element=DatePickerElement(
                    action_id="date", initial_date=until.isoformat() if until else None
                ),
            ),
        ],
    )


# -- help and audit ------------------------------------------------------------------------------
HELP_LINES = (
    "`/ssm3 status` — what is failing; narrow it with an account ID, a region, an association ID or an instance ID",
    "`/ssm3 history ASSOCIATION_ID` — recent runs, failed instances, their errors and a likely cause",
    "`/ssm3 rerun ASSOCIATION_ID` — run it again now (asks first; operators only)",
    "`/ssm3 ack ASSOCIATION_ID [for 7d] [reason…]` — acknowledge for 12h, 7d, 2w… (at most 90d); without a reason a form opens",
    "`/ssm3 unack ASSOCIATION_ID` — end the acknowledgement",
    "`/ssm3 sweep` — sweep every account-region now and report when done",
    "`/ssm3 audit` — the latest state changes and refusals",
    "`/ssm3 help` — this list",
)


def help_message(problem: str | None = None) -> SlackMessage:
    blocks: list[Block] = []
    if problem:
        blocks.append(SectionBlock(text=md(f":warning: {escape(problem)}")))
    blocks.append(
        SectionBlock(
            text=md(
                "*ssm3-bot* keeps State Manager association compliance (Security Hub SSM.3) in view.\n"
                + "\n".join(f"• {line}" for line in HELP_LINES)
                + "\nIDs may be bare (`8c1f2d3e-…`) or ARNs. The digest's buttons do the same: "
                "*History*, *Re-run*, *Acknowledge*."
            )
        )
    )
    return SlackMessage(
        text=(escape(clip(problem, 300)) + " " if problem else "")
        + "ssm3-bot commands: /ssm3 help",
        blocks=blocks,
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
        line = (
            f"• {slack_date(entry.at, zone=zone)} {mention(entry.actor)} *{escape(entry.action)}*"
            f"{where} → {escape(entry.outcome)}{detail}"
        )
        if size + len(line) + 1 > SECTION_CHARS - 100:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
    budget = _Budget()
    budget.add([HeaderBlock(text=plain(f"Audit log: latest {len(entries)}", HEADER_CHARS))])
    for chunk in chunks:
        block = SectionBlock(text=md("\n".join(chunk)))
        if not budget.fits([block], reserve_blocks=1, reserve_chars=100):
            break
        budget.add([block])
    budget.add([ContextBlock(elements=[md("All of it: `ssm3bot audit --csv`.")])])
    return SlackMessage(text=f"Audit log: latest {len(entries)}", blocks=budget.used)
