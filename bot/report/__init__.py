"""The evidence report (SOC 2 / ISO 27001: the control operates): for a period, from the store
and the audit log only, sweep coverage and its gaps, SSM.3's figures each day, every failure
streak with its time to resolve, acknowledgements, re-runs and fixes with their outcomes,
Security Hub's agreement and what was open at the end; as HTML, JSON or CSV.

    period.py    which stretch of time (the last full month, the previous one, a slot's)
    figures.py   the arithmetic: gaps and coverage, percentiles, actions and their outcomes
    build.py     the use case: read the store, compute, a `Report`
    document.py  the JSON form (and its SHA-256) and the CSV form
    html.py      the HTML form (first page, footer), sections.py its detail, chart.py its SVG
    posting.py   the scheduled post to SSM3_CHANNEL, once per period, and the store's upkeep
"""

from __future__ import annotations

from typing import Literal

from bot.report.build import build_report
from bot.report.document import report_csv, report_json
from bot.report.html import report_html
from bot.report.model import Report
from bot.report.period import Period, last_full_month

Format = Literal["html", "json", "csv"]
FORMATS: tuple[Format, ...] = ("html", "json", "csv")

__all__ = ["FORMATS", "Format", "Period", "Report", "build_report", "last_full_month", "render"]


def render(report: Report, form: Format) -> tuple[str, str]:
    """The report in `form`, and the SHA-256 of its JSON form."""
    import json

    document = report_json(report)
    sha = str(document["sha256"])
    if form == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n", sha
    if form == "csv":
        return report_csv(report), sha
    return report_html(report, sha), sha
