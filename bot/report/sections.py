"""The report's detail pages, after the first: coverage, each day, every failure streak and
its time to resolve, acknowledgements, re-runs and fixes, Security Hub's agreement, and what
was open at the end. Pure HTML strings; every value is escaped."""

from __future__ import annotations

from html import escape

from bot.report.cells import NONE, Render, association, none, scopes, span, table
from bot.report.figures import Stats
from bot.report.model import Report
from bot.util.clock import humanize

KIND_LABELS = {"execution": "run failed", "reported": "reported", "unknown": "not known"}
OUTCOME_TAGS = {"compliant": "ok", "still_failing": "open", "pending": "warn", "unknown": "warn"}


def sections(report: Report, render: Render) -> list[str]:
    return [
        _coverage(report, render),
        _daily(report),
        _streaks(report, render),
        _acknowledgements(report, render),
        _actions(report, render),
        _open(report, render),
        _reading(report),
    ]


def _coverage(report: Report, render: Render) -> str:
    c = report.coverage
    threshold = humanize(c.threshold)
    parts = [
        "<section><h2>1. Monitoring coverage</h2>",
        f"<p>{c.sweeps} sweeps ran in the period ({c.full_sweeps} of every account-region"
        f"{', the rest triage sweeps' if c.sweeps > c.full_sweeps else ''}). A gap is a stretch "
        f"longer than {escape(threshold)} (twice the sweep schedule's period) without a sweep: "
        "of everything, or of one account-region while the rest were swept.</p>",
    ]
    if c.never_swept:
        parts.append(
            f"<p><span class='tag open'>never swept</span> {scopes(c.never_swept, render)}</p>"
        )
    if c.not_always_swept:
        parts.append(
            "<p><span class='tag warn'>not always swept</span> "
            f"{scopes(c.not_always_swept, render)}</p>"
        )
    parts.append("<h3>Gaps</h3>")
    parts.append(
        table(
            ("Account", "Region", "From", "To", "Length"),
            (
                (
                    render.account(g.account_id),
                    escape(g.region or "all"),
                    render.moment(g.start),
                    render.moment(g.end),
                    escape(humanize(g.length)),
                )
                for g in c.gaps
            ),
            numeric=(4,),
        )
        or none("No gap: every account-region was swept throughout.")
    )
    parts.append("<h3>Account-regions</h3>")
    parts.append(
        table(
            ("Account", "Region", "Reads", "Swept", "Gaps"),
            (
                (
                    render.account(s.scope.account_id),
                    escape(s.scope.region),
                    str(s.sweeps),
                    str(s.ok),
                    str(s.gaps),
                )
                for s in c.scopes
            ),
            numeric=(2, 3, 4),
        )
        or none("No account-region was read in the period.")
    )
    return "".join(parts) + "</section>"


def _daily(report: Report) -> str:
    rows = []
    for d in report.daily:
        if d.securityhub_checks:
            tag = "ok" if d.securityhub_agreed == d.securityhub_checks else "warn"
            agreed = (
                f"<span class='tag {tag}'>{d.securityhub_agreed} of {d.securityhub_checks}</span>"
            )
            figures = [
                str(d.securityhub_failed_instances),
                str(d.securityhub_unexplained),
                str(d.securityhub_sweep_only),
            ]
        else:
            why = "not read" if d.securityhub_error else "not checked"
            agreed = f"<span class='tag warn'>{why}</span>"
            figures = [NONE, NONE, NONE]
        rows.append(
            (
                f"<span class='nowrap'>{d.day.isoformat()}</span>",
                str(d.noncompliant_instances),
                str(d.failing),
                str(d.acknowledged),
                str(d.sweeps),
                str(d.scopes_failed),
                *figures,
                agreed,
            )
        )
    days = table(
        (
            "Day",
            "Non-compliant instances",
            "Failing associations",
            "Acknow&shy;ledged",
            "Sweeps",
            "Account-regions not swept",
            "Security Hub fails",
            "… not in the sweep",
            "… only in the sweep",
            "Sweeps agreed",
        ),
        rows,
        numeric=tuple(range(1, 10)),
    )
    errors = sorted({d.securityhub_error for d in report.daily if d.securityhub_error})
    return (
        "<section><h2>2. Each day: SSM.3 non-compliance and Security Hub's agreement</h2>"
        "<p>The figures of each day's last sweep of every account-region. Security Hub agrees "
        "with a sweep when every instance its SSM.3 findings fail is one the sweep found "
        "non-compliant, and the other way round; the three middle columns are the day's last "
        "check.</p>"
        + (days or none("No sweep in the period."))
        + "".join(
            f"<p class='note'>Security Hub could not be read: {escape(e)}</p>" for e in errors
        )
        + "</section>"
    )


def _stats_row(label: str, stats: Stats) -> tuple[str, ...]:
    return (escape(label), str(stats.count), span(stats.median_seconds), span(stats.p90_seconds))


def _streaks(report: Report, render: Render) -> str:
    rows = []
    for s in report.streaks:
        r = s.record
        if s.ended_at is None:
            end = "<span class='tag open'>open</span>"
        else:
            end = f"{render.moment(s.ended_at)}<br><span class='muted'>{escape(s.ended_how or '')}</span>"
        kind = f"<span class='nowrap'>{escape(KIND_LABELS.get(r.failure_kind or 'unknown', r.failure_kind or ''))}</span>"
        if r.source == "backfill":
            kind += "<br><span class='muted'>rebuilt</span>"
        rows.append(
            (
                association(r.association_name, r.document_name, r.association_id),
                f"{render.account(r.account_id, r.account_name)}<br>{escape(r.region)}",
                kind,
                render.moment(r.started_at),
                end,
                span(s.resolve_seconds),
            )
        )
    stats = [_stats_row("All failures resolved in the period", report.time_to_resolve)]
    stats += [_stats_row(f"Kind: {KIND_LABELS.get(k, k)}", v) for k, v in report.by_kind.items()]
    stats += [
        _stats_row(f"Route: {r.channel}" if r.channel else "No team route", r.stats)
        for r in report.by_route
    ]
    return (
        "<section><h2>3. Failure streaks</h2><p>Every association that failed SSM.3 at some "
        "moment of the period, from its first failure to the sweep that found it compliant "
        "again. <em>Run failed</em>: its latest run failed, a re-run can fix it; "
        "<em>reported</em>: its document reports non-compliance (e.g. missing patches).</p>"
        + (
            table(
                (
                    "Association",
                    "Account / region",
                    "Kind",
                    "Started",
                    "Ended",
                    "Time to resolve",
                ),
                rows,
                numeric=(5,),
            )
            or none("No association failed SSM.3 in the period.")
        )
        + "<h3>Time to resolve</h3>"
        + table(("", "Resolved", "Median", "90th percentile"), stats, numeric=(1, 2, 3))
        + "<p class='note'>Median and 90th percentile (nearest rank) of the failures resolved "
        "in the period; a failure that ended because its association was deleted or no longer "
        "swept is not counted as resolved.</p></section>"
    )


def _acknowledgements(report: Report, render: Render) -> str:
    rows = []
    for a in report.acknowledgements:
        r = a.record
        ended = (
            f"{escape(a.ended)}<br><span class='muted'>{render.moment(a.ended_at)}</span>"
            if a.ended
            else "<span class='tag warn'>in force</span>"
        )
        who = escape(r.by_name or r.by) + (
            f"<br><span class='id'>{escape(r.by)}</span>" if r.by_name else ""
        )
        rows.append(
            (
                render.association(r.account_id, r.region, r.association_id),
                f"<span class='nowrap'>{who}</span>",
                escape(r.reason),
                render.moment(r.created_at),
                render.moment(r.until) if r.until else "no expiry",
                ended,
            )
        )
    return (
        "<section><h2>4. Acknowledgements</h2><p>Who accepted a failure for a while, why, and "
        "how it ended: <em>expired</em>, <em>lifted</em> by a person, <em>resolved</em> (the "
        "failure ended), <em>replaced</em> by a newer one.</p>"
        + (
            table(("Association", "By", "Reason", "From", "Until", "Ended"), rows)
            or none("No acknowledgement was in force in the period.")
        )
        + "</section>"
    )


def _actions(report: Report, render: Render) -> str:
    rows = []
    for a in report.actions:
        outcome = (
            f"<span class='tag {OUTCOME_TAGS.get(a.outcome, 'warn')}'>{escape(a.outcome)}</span>"
            f"<br><span class='muted'>{render.moment(a.checked_at)}</span>"
            if a.outcome
            else "<span class='muted'>not confirmed</span>"
        )
        rows.append(
            (
                "re-run" if a.kind == "rerun" else escape(a.kind),
                render.association(a.key.account_id, a.key.region, a.key.association_id),
                f"<span class='nowrap'>{escape(a.by)}</span>",
                render.moment(a.at),
                escape(a.detail or ""),
                outcome,
            )
        )
    return (
        "<section><h2>5. Re-runs and fixes</h2><p>Each one taken from Slack or the command "
        "line, and the outcome the bot confirmed afterwards (SSM.3's own view of the "
        "instances).</p>"
        + (
            table(("Action", "Association", "By", "At", "Detail", "Outcome"), rows)
            or none("No re-run or fix in the period.")
        )
        + "</section>"
    )


def _open(report: Report, render: Render) -> str:
    rows = [
        (
            association(
                i.streak.record.association_name,
                i.streak.record.document_name,
                i.streak.record.association_id,
            ),
            f"{render.account(i.streak.record.account_id, i.streak.record.account_name)}"
            f"<br>{escape(i.streak.record.region)}",
            render.moment(i.streak.record.started_at),
            escape(i.acknowledged_by or NONE)
            + (
                f"<br><span class='muted'>until {render.moment(i.acknowledged_until)}</span>"
                if i.acknowledged_until
                else ""
            ),
        )
        for i in report.open_items
    ]
    return (
        f"<section><h2>6. Open at the end ({len(rows)})</h2>"
        + (
            table(("Association", "Account / region", "Failing since", "Acknowledged by"), rows)
            or none("Nothing failed SSM.3 at the end of the period.")
        )
        + "</section>"
    )


def _reading(report: Report) -> str:
    return (
        "<section><h2>7. How this report is made</h2><p class='note'>From the bot's SQLite "
        "store and its append-only audit log only, with no AWS call: the sweeps (each "
        "account-region's reads), the failure streaks recorded as sweeps saw them begin and "
        "end, the acknowledgements, and the audit entries of re-runs, fixes and their checks. "
        "Everything is as known at the period's end. Streaks marked <em>rebuilt</em> were "
        "reconstructed from older records when the bot was upgraded. Every figure can be "
        "recomputed from <code>ssm3bot report --format json</code> and "
        "<code>ssm3bot audit --json</code>.</p></section>"
    )
