"""Plain-text renderings for the terminal: the digest, a sweep's table and an association's history."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import ParamSpec

from bot.aws.history import History
from bot.core.causes import ORPHAN_REMEDY, cause_line, short_remedy
from bot.core.digest import DigestView, top_error
from bot.core.findings import CSPM
from bot.core.trend import Trend, change, sparkline
from bot.models import Orphan, ScopeStatus, SecurityHubCheck, SweepSummary, TrackedAssociation
from bot.util.clock import ago, humanize, iso
from bot.util.strings import account_label, clip, terminal_safe

ERROR_WIDTH = 70
P = ParamSpec("P")


def _for_terminal(render: Callable[P, str]) -> Callable[P, str]:
    """Control characters in the output (only AWS or people's text can carry them) become '?'."""

    @functools.wraps(render)
    def safe(*args: P.args, **kwargs: P.kwargs) -> str:
        return terminal_safe(render(*args, **kwargs))

    return safe


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Left-aligned columns sized to their widest cell."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = [indent + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in rows
    ]
    return lines


def _failing_rows(items: Sequence[TrackedAssociation], now: datetime) -> list[list[str]]:
    rows = []
    for t in items:
        a = t.association
        since = humanize(now - t.failing_since) if t.failing_since else "?"
        # A reported failure has no run to blame: say instead that a re-run will not fix it.
        # A run failure: its cause (a diagnosis's, or the rules over the stored facts), else
        # its top error.
        cause = cause_line(t)
        detail = (
            (f"cause: {cause}" if cause else top_error(a.failed_targets))
            if a.execution_failure
            else short_remedy(a)
        )
        rows.append(
            [
                clip(a.display_name, 40),
                clip(a.document_name, 32),
                account_label(a.account_id, a.account_name, 30),
                a.region,
                a.failure_kind or "",
                f"{len(a.noncompliant_instances)}/{a.total_targets}",
                since,
                clip(detail, ERROR_WIDTH if a.execution_failure else 100),
            ]
        )
    return rows


def _account(account_id: str, names: Mapping[str, str]) -> str:
    return account_label(account_id, names.get(account_id), 30)


def _orphan_lines(orphans: Sequence[Orphan], names: Mapping[str, str]) -> list[str]:
    if not orphans:
        return []
    lines = ["", f"ORPHANED COMPLIANCE ITEMS ({len(orphans)}) - SSM.3 fails these instances"]
    lines += table(
        ("INSTANCE", "ACCOUNT", "REGION", "GONE ASSOCIATION"),
        [
            [o.instance_id, _account(o.account_id, names), o.region, o.association_id]
            for o in orphans
        ],
    )
    return [*lines, f"  {ORPHAN_REMEDY}"]


def security_hub_lines(check: SecurityHubCheck | None) -> list[str]:
    """What each Security Hub on says beside the sweep, when they disagree (nothing when they
    agree): CSPM's (unless the sweep found it off) and the new hub's."""
    if check is None:
        return []
    cspm_off = bool(check.hubs) and CSPM not in check.hubs
    lines = [] if cspm_off else _hub_lines(check, "Security Hub")
    if check.v2 is not None:
        lines += _hub_lines(check.v2, "The new Security Hub")
    return lines


def _hub_lines(check: SecurityHubCheck, hub: str) -> list[str]:
    if check.agrees:
        return []
    if check.error is not None:
        return [f"{hub} ({check.region}) could not be read: {clip(check.error, 200)}"]
    lines = []
    if check.unexplained:
        lines.append(
            f"{hub} fails {len(check.unexplained)} instance(s) the sweep finds compliant "
            "(Config has not re-evaluated them yet, or does not record their compliance): "
            + ", ".join(str(k) for k in check.unexplained[:5])
            + (" …" if len(check.unexplained) > 5 else "")
        )
    if check.sweep_only:
        lines.append(
            f"The sweep finds {len(check.sweep_only)} instance(s) NON_COMPLIANT that {hub} "
            "does not fail yet (Config lag, or AWS Config not recording "
            "AWS::SSM::AssociationCompliance: see `ssm3bot doctor`)."
        )
    return lines


def trend_line(trend: Trend | None) -> str | None:
    """'Last 14 days: failing ▁▂▅█ 3 -> 12 · instances non-compliant …', when the view shows a
    trend."""
    if trend is None:
        return None

    def part(label: str, values: Sequence[int | None]) -> str:
        first_last = change(values)
        moved = f" {first_last[0]} -> {first_last[1]}" if first_last else ""
        return f"{label} {sparkline(values)}{moved}"

    return (
        f"Last {len(trend.days)} days: {part('failing', trend.failing)} · "
        f"{part('instances non-compliant', trend.noncompliant)}"
    )


FAILING_HEADERS = (
    "ASSOCIATION",
    "DOCUMENT",
    "ACCOUNT",
    "REGION",
    "KIND",
    "NON-COMPLIANT",
    "FOR",
    "TOP ERROR / WHAT FIXES IT",
)


@_for_terminal
def escalation_text(view: DigestView) -> str:
    digest = view.digest
    after = humanize(digest.escalate_after) if digest.escalate_after else "long"
    named = ", ".join(
        f"{t.association.display_name} "
        f"({account_label(t.key.account_id, t.association.account_name)} {t.key.region}, "
        f"{humanize(digest.generated_at - t.failing_since)})"
        for t in view.escalated_named
        if t.failing_since is not None
    )
    more = f" and {view.escalated_more} more" if view.escalated_more else ""
    return f"OLDER THAN {after}: {len(digest.escalated)} failing - {named}{more}"


def render_digest(view: DigestView) -> str:
    """The digest as a person reads it in a terminal."""
    digest = view.digest
    now = digest.generated_at
    t = digest.totals
    lines = [f"SSM.3 digest · {now:%Y-%m-%d %H:%M} UTC"]
    if digest.last_sweep and digest.last_sweep.finished_at:
        lines.append(
            f"Last sweep {ago(now - digest.last_sweep.finished_at)} "
            f"({iso(digest.last_sweep.finished_at)}): {t.scopes - t.scopes_failed} of {t.scopes} "
            f"account-regions swept, {t.associations} associations."
        )
    else:
        lines.append("No sweep has finished yet: run `ssm3bot sweep`.")
    lines += [line for line in (trend_line(view.trend),) if line]
    changes = digest.changes
    if t.failing == 0 and t.scopes_failed == 0 and not digest.orphans:
        resolved = (
            f" {len(changes.resolved)} resolved since the last digest."
            if changes and changes.resolved
            else ""
        )
        lines.append(f"All {t.associations} associations compliant.{resolved}")
        lines += security_hub_lines(view.security_hub)
        return "\n".join(lines) + "\n"
    lines.append(
        f"{t.failing} failing association{'s' if t.failing != 1 else ''} "
        f"({t.acknowledged} acknowledged) · {t.noncompliant_instances} instances non-compliant · "
        f"{t.scopes_failed} account-region{'s' if t.scopes_failed != 1 else ''} not swept"
    )
    lines += ([escalation_text(view)] if digest.escalated else []) + security_hub_lines(
        view.security_hub
    )
    if changes is not None:
        lines.append(
            f"Since the last digest ({changes.since:%Y-%m-%d %H:%M} UTC): {len(changes.new)} new, "
            f"{len(changes.resolved)} resolved, {len(changes.reopened)} reopened after an "
            "acknowledgement expired."
        )
    if digest.failing:
        lines += ["", f"FAILING ({len(digest.failing)})"]
        rows = _failing_rows(digest.failing, now)
        for row, item in zip(rows, digest.failing, strict=True):
            if digest.is_new(item):
                row[0] = "[new] " + row[0]
            if digest.is_reopened(item):
                row[0] = "[reopened] " + row[0]
        lines += table(FAILING_HEADERS, rows)
    if digest.acknowledged:
        lines += ["", f"ACKNOWLEDGED ({len(digest.acknowledged)})"]
        ack_rows = []
        for item in digest.acknowledged:
            a, ack = item.association, item.ack
            assert ack is not None
            until = (
                f"until {ack.until.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
                if ack.until
                else "no expiry"
            )
            ack_rows.append(
                [
                    clip(a.display_name, 40),
                    account_label(a.account_id, a.account_name, 30),
                    a.region,
                    ack.by,
                    until,
                    clip(ack.reason, 60),
                ]
            )
        lines += table(("ASSOCIATION", "ACCOUNT", "REGION", "BY", "UNTIL", "REASON"), ack_rows)
    if changes and changes.resolved:
        lines += ["", f"RESOLVED SINCE THE LAST DIGEST ({len(changes.resolved)})"]
        lines += table(
            ("ASSOCIATION", "DOCUMENT", "ACCOUNT", "REGION"),
            [
                [
                    clip(r.name, 40),
                    clip(r.document, 32),
                    _account(r.key.account_id, digest.account_names),
                    r.key.region,
                ]
                for r in changes.resolved
            ],
        )
    lines += _orphan_lines(digest.orphans, digest.account_names)
    if digest.scopes_failed:
        lines += ["", f"NOT SWEPT ({len(digest.scopes_failed)}) - these may hide failures"]
        lines += table(
            ("ACCOUNT", "REGION", "ERROR"),
            [
                [
                    _account(s.scope.account_id, digest.account_names),
                    s.scope.region,
                    clip(s.error, 100),
                ]
                for s in digest.scopes_failed
            ],
        )
    return "\n".join(lines) + "\n"


@_for_terminal
def render_sweep(
    summary: SweepSummary,
    scopes: Sequence[ScopeStatus],
    failing: Sequence[TrackedAssociation],
    now: datetime,
    *,
    orphans: Sequence[Orphan] = (),
    security_hub: SecurityHubCheck | None = None,
    names: Mapping[str, str] | None = None,
) -> str:
    """What `ssm3bot sweep` prints: the failing associations and the scopes not swept
    (`names`: account names from Organizations, shown beside their IDs)."""
    names = names or {}
    lines = [
        f"Sweep {summary.sweep_id}: {summary.scopes - summary.scopes_failed} of {summary.scopes} "
        f"account-regions swept in {summary.duration_s:.1f}s, {summary.associations} associations, "
        f"{summary.failing} failing ({summary.acknowledged} acknowledged), "
        f"{summary.noncompliant_instances} instances non-compliant, {summary.aws_calls} AWS calls."
    ]
    if failing:
        lines += ["", f"FAILING ({len(failing)})"]
        lines += table(
            (*FAILING_HEADERS, "ACK"),
            [
                [*r, "yes" if t.ack else ""]
                for r, t in zip(_failing_rows(failing, now), failing, strict=True)
            ],
        )
    lines += _orphan_lines(orphans, names)
    bad = [s for s in scopes if not s.ok]
    if bad:
        lines += ["", f"NOT SWEPT ({len(bad)})"]
        lines += table(
            ("ACCOUNT", "REGION", "ERROR"),
            [
                [_account(s.scope.account_id, names), s.scope.region, clip(s.error, 100)]
                for s in bad
            ],
        )
    lines += security_hub_lines(security_hub)
    if not failing and not bad and not orphans:
        lines.append("Everything swept is compliant.")
    return "\n".join(lines) + "\n"


@_for_terminal
def render_history(history: History, now: datetime) -> str:
    """An association's recent runs and why the latest failed run failed."""
    key = history.key
    account = account_label(key.account_id, history.account_name)
    lines = [
        f"{history.display_name} ({history.document_name}) · {account} {key.region} · "
        f"{key.association_id}",
    ]
    if history.reported and history.remedy:
        lines.append(f"Note: {history.kind or 'reported'} - {history.remedy}")
    elif not history.rerun_can_fix:
        lines.append(
            "Note: SyncCompliance is MANUAL - compliance comes from PutComplianceItems, "
            "so a re-run cannot fix it."
        )
    if history.compliance:
        shown = len(history.compliance)
        more = f", first {shown} shown" if shown < history.noncompliant_count else ""
        lines += [
            "",
            f"WHAT SSM.3 SEES ({history.noncompliant_count} instances NON_COMPLIANT{more})",
        ]
        for entry in history.compliance:
            lines.append(f"  {entry.instance_id}")
            for item in entry.items:
                who = (
                    "this association"
                    if item.association_id == key.association_id
                    else f"association {item.association_id}"
                )
                when = f"  {iso(item.execution_time)}" if item.execution_time else ""
                title = f"  {clip(item.title, 60)}" if item.title else ""
                lines.append(f"    {item.status}  {who}{title}{when}")
            if entry.error:
                lines.append(f"    could not read its items: {clip(entry.error, 160)}")
            elif not entry.items:
                lines.append("    no Association item reported")
    lines += ["", "RECENT EXECUTIONS"]
    rows = [
        [
            f"{e.created_at:%Y-%m-%d %H:%M}" if e.created_at else "?",
            f"({ago(now - e.created_at)})" if e.created_at else "",
            e.status,
            " ".join(f"{k}={v}" for k, v in sorted(e.counts.items())),
            e.execution_id,
        ]
        for e in history.executions
    ]
    lines += (
        table(("WHEN", "", "STATUS", "TARGETS", "EXECUTION"), rows) if rows else ["  none recorded"]
    )
    if history.failed_execution is None:
        lines += ["", "No failed or timed-out execution among the recent ones."]
        return "\n".join(lines) + "\n"
    shown = len(history.targets)
    lines += [
        "",
        f"FAILED TARGETS of {history.failed_execution.execution_id} "
        f"({history.failed_count} failed or timed out"
        f"{f', first {shown} shown' if shown < history.failed_count else ''})",
    ]
    for target in history.targets:
        lines.append(
            f"  {target.instance_id}  {target.detailed_status or ''}  [{target.agent or 'no agent data'}]"
        )
        if target.error_code or target.summary:
            lines.append(
                f"    error: {clip(': '.join(p for p in (target.error_code, target.summary) if p), 160)}"
            )
        if target.stderr:
            lines.append(f"    stderr: {clip(target.stderr, 160)}")
        lines.append(f"    likely cause: {target.cause.text}")
        if target.output_url:
            lines.append(f"    output: {target.output_url}")
    return "\n".join(lines) + "\n"
