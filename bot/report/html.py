"""The report as one self-contained HTML file: inline CSS and SVG, no script, no link to
anything outside it; a first page a manager reads in a minute (the period's headline figures
against the previous period's), the detail after it, and a footer with the period, the scope,
when and by which version it was made, and the SHA-256 of its JSON form. Pure: every string from
AWS or from people is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from html import escape
from zoneinfo import ZoneInfo

from bot.report.cells import NONE, Render
from bot.report.chart import daily_chart, period_days
from bot.report.model import Headline, Report
from bot.report.period import TICK, Period, is_month_start
from bot.report.sections import sections
from bot.report.style import CSS
from bot.util.clock import humanize

# (field, label, which way is better: -1 lower, 1 higher, 0 neither, how to show it)
HEADLINE = (
    ("monitored_share", "Time under monitoring", 1, "share"),
    ("sweeps", "Sweeps run", 0, "count"),
    ("gaps", "Monitoring gaps", -1, "count"),
    ("scopes_never_swept", "Account-regions never swept", -1, "count"),
    ("scopes_not_always_swept", "Account-regions not always swept", -1, "count"),
    ("streaks", "Failures open during the period", -1, "count"),
    ("new_streaks", "New failures", -1, "count"),
    ("resolved", "Failures resolved", 0, "count"),
    ("median_resolve_seconds", "Median time to resolve", -1, "span"),
    ("p90_resolve_seconds", "90th percentile time to resolve", -1, "span"),
    ("open_at_end", "Failures still open at the end", -1, "count"),
    ("noncompliant_instances_at_end", "Non-compliant instances at the end", -1, "count"),
    ("peak_noncompliant_instances", "Peak non-compliant instances in a day", -1, "count"),
    ("acknowledgements_made", "Acknowledgements made", 0, "count"),
    ("acknowledgements_expired", "Acknowledgements that expired", 0, "count"),
    ("actions", "Re-runs and fixes", 0, "count"),
    ("actions_compliant", "… confirmed compliant", 1, "count"),
    ("securityhub_days_agreed", "Days Security Hub agreed with the sweeps", 1, "count"),
)


def report_html(report: Report, sha256: str) -> str:
    zone = ZoneInfo(report.deployment.timezone)
    named = {
        (s.record.account_id, s.record.region, s.record.association_id): (
            s.record.association_name,
            s.record.document_name,
        )
        for s in report.streaks
    }
    render = Render(zone, report.account_names, named)
    title = f"SSM.3 evidence report: {period_name(report.period, zone)}"
    body = "".join(
        [
            _first_page(report, render, title),
            *sections(report, render),
            _footer(report, render, sha256),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def period_name(period: Period, zone: ZoneInfo) -> str:
    """'November 2026' for a calendar month, else its first and last day."""
    first = period.since.astimezone(zone)
    last = (period.until - TICK).astimezone(zone)
    if is_month_start(period.since, zone) and is_month_start(period.until, zone):
        if (first.year, first.month) == (last.year, last.month):
            return f"{first:%B %Y}"
        return f"{first:%B %Y} to {last:%B %Y}"
    return f"{first:%-d %b %Y} to {last:%-d %b %Y}"


def _first_page(report: Report, render: Render, title: str) -> str:
    zone = render.zone
    period, earlier = report.period, report.previous_period
    days = period_days(
        period.since.astimezone(zone).date(), (period.until - TICK).astimezone(zone).date()
    )
    chart = daily_chart(days, report.daily, "SSM.3 non-compliance per day")
    return (
        '<section class="first">'
        '<p class="kicker">AWS Security Hub control SSM.3 · State Manager association compliance</p>'
        f"<h1>{escape(title)}</h1>"
        f'<p class="period">{render.moment(period.since)} to {render.moment(period.until)} '
        f"({escape(report.deployment.timezone)}), compared with "
        f"{escape(period_name(earlier, zone))}.</p>"
        f'<p class="summary">{_summary(report)}</p>'
        f"{_headline_table(report.headline, report.previous)}"
        f"<figure>{chart}<figcaption>Each day's last sweep; a day without a sweep is left "
        "empty.</figcaption></figure>"
        "</section>"
    )


def _summary(report: Report) -> str:
    h = report.headline
    share = _share(h.monitored_share)
    gaps = f"{h.gaps} gap{'s' if h.gaps != 1 else ''} longer than " + humanize(
        report.coverage.threshold
    )
    parts = [f"Sweeps watched {share} of the period ({gaps})."]
    if h.streaks:
        resolved = f"{h.resolved} {'was' if h.resolved == 1 else 'were'} resolved"
        if h.median_resolve_seconds is not None:
            resolved += f", in a median of {_span(h.median_resolve_seconds)}"
        parts.append(
            f"{h.streaks} failure{'s' if h.streaks != 1 else ''} of SSM.3 "
            f"{'was' if h.streaks == 1 else 'were'} open during it ({h.new_streaks} new); {resolved}."
        )
    else:
        parts.append("No association failed SSM.3 during it.")
    acknowledged = sum(1 for item in report.open_items if item.acknowledged_by)
    if h.open_at_end:
        parts.append(
            f"{h.open_at_end} {'was' if h.open_at_end == 1 else 'were'} still open at the end, "
            f"{acknowledged} of them acknowledged."
        )
    else:
        parts.append("None was open at the end.")
    return escape(" ".join(parts))


def _headline_table(current: Headline, previous: Headline | None) -> str:
    rows = []
    for field, label, better, shape in HEADLINE:
        now, before = getattr(current, field), getattr(previous, field) if previous else None
        if field == "securityhub_days_agreed":
            shown = f"{now} of {current.securityhub_days_checked}"
            was = f"{before} of {previous.securityhub_days_checked}" if previous else NONE
        else:
            shown, was = _show(now, shape), _show(before, shape) if previous else NONE
        rows.append(
            f"<tr><td>{escape(label)}</td><td class='n now'>{escape(shown)}</td>"
            f"<td class='n'>{escape(was)}</td><td class='n'>{_change(now, before, better, shape)}</td></tr>"
        )
    return (
        "<table class='headline'><thead><tr><th>Figure</th><th class='n'>This period</th>"
        "<th class='n'>Previous period</th><th class='n'>Change</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _show(value: object, shape: str) -> str:
    if value is None:
        return NONE
    if shape == "share":
        return _share(float(value))  # type: ignore[arg-type]
    if shape == "span":
        return _span(int(value))  # type: ignore[call-overload]
    return str(value)


def _change(now: object, before: object, better: int, shape: str) -> str:
    if not isinstance(now, int | float) or not isinstance(before, int | float):
        return f"<span class='same'>{NONE}</span>"
    delta = now - before
    if delta == 0 or (shape == "share" and abs(delta) < 0.0005):
        return "<span class='same'>=</span>"
    arrow = "▲" if delta > 0 else "▼"
    if shape == "share":
        amount = f"{abs(delta) * 100:.1f} pts"
    elif shape == "span":
        amount = _span(int(abs(delta)))
    else:
        amount = str(abs(delta))
    tone = "same" if better == 0 else "better" if delta * better > 0 else "worse"
    return f"<span class='{tone}'>{arrow} {escape(amount)}</span>"


def _share(value: float) -> str:
    return f"{value * 100:.1f} %" if value < 1 else "100 %"


def _span(seconds: int) -> str:
    words = humanize(timedelta(seconds=seconds))
    return "under a minute" if words == "just now" else words


def _footer(report: Report, render: Render, sha256: str) -> str:
    rows: Sequence[tuple[str, str]] = (
        (
            "Period",
            f"{render.moment(report.period.since)} to {render.moment(report.period.until)} "
            f"({report.deployment.timezone})",
        ),
        ("Scope", render.scope(report)),
        (
            "Generated",
            f"{render.moment(report.generated_at)} ({report.deployment.timezone}) "
            "from the bot's store and audit log, with no AWS call",
        ),
        ("Version", f"ssm3-bot {report.version}"),
        ("SHA-256", sha256),
    )
    items = "".join(
        f"<dt>{escape(k)}</dt><dd>{'<code>' + escape(v) + '</code>' if k == 'SHA-256' else escape(v)}</dd>"
        for k, v in rows
    )
    return (
        f"<footer><dl>{items}</dl><p class='note'>The SHA-256 is of this report's JSON form "
        "(<code>ssm3bot report --format json</code> for the same period) without its "
        "<code>generated_at</code>: made again from the same store it comes out the same.</p></footer>"
    )
