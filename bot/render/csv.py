"""The failing associations as CSV: one row per failing association, for a spreadsheet or
an auditor. Pure: no I/O; the Slack code uploads what this returns, the CLI prints it.

Cells that a spreadsheet would run as a formula (=, +, -, @ and friends at the start) are
prefixed with an apostrophe: association names, error text and ack reasons come from AWS
and from people, and must not become formulas on someone's desktop.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from bot.clock import iso
from bot.digest import Digest, top_error
from bot.models import TrackedAssociation

COLUMNS = (
    "account_id",
    "region",
    "association_id",
    "association_name",
    "document_name",
    "failed_instances",
    "total_instances",
    "failing_since",
    "top_error",
    "acknowledged_by",
    "acknowledged_until",
    "acknowledged_reason",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str | None) -> str:
    """A cell that spreadsheet software shows as text, never evaluates."""
    text = value or ""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def failing_row(tracked: TrackedAssociation) -> list[str]:
    """One failing association as a CSV row, in COLUMNS order."""
    a, ack = tracked.association, tracked.ack
    return [
        a.account_id,
        a.region,
        a.association_id,
        safe_cell(a.association_name),
        safe_cell(a.document_name),
        str(a.failed_target_count),
        str(a.total_targets),
        iso(tracked.failing_since) or "",
        safe_cell(top_error(a.failed_targets)),
        safe_cell(ack.by) if ack else "",
        (iso(ack.until) or "") if ack else "",
        safe_cell(ack.reason) if ack else "",
    ]


def failing_csv(items: Iterable[TrackedAssociation]) -> str:
    """The failing ones of `items` as CSV text with a header row, in the order given."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(failing_row(t) for t in items if t.association.failing)
    return out.getvalue()


def digest_csv(digest: Digest) -> str:
    """Every failing association of the digest, unacknowledged first, each in urgency order."""
    return failing_csv((*digest.failing, *digest.acknowledged))
