"""CSV renderings (pure): the digest's full list of failing associations, and the scopes not swept.

Posted to the digest's thread when the message itself had to summarise ("…and 212 more").
Cells that a spreadsheet would run as a formula (=, +, -, @ and friends at the start) are
prefixed with a quote (CSV injection): association names, error text and acknowledgement
reasons come from AWS and from people, and AWS allows names that start with a minus.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

from bot.core.causes import ORPHAN_REMEDY, remedy
from bot.core.digest import Digest, top_error
from bot.models import ScopeStatus, TrackedAssociation
from bot.util.clock import iso

FAILING_COLUMNS = (
    "account_id",
    "account_name",
    "region",
    "association_id",
    "association_name",
    "document_name",
    "failure_kind",
    "sync_compliance",
    "noncompliant_instances",
    "failed_instances",
    "total_instances",
    "failing_since",
    "last_execution_at",
    "top_error",
    "acknowledged_by",
    "acknowledged_until",
    "acknowledged_reason",
    "what_fixes_it",
)
SCOPE_COLUMNS = ("account_id", "account_name", "region", "swept_at", "error")
# Instances SSM.3 fails (or Security Hub says it fails) that no failing association row explains.
INSTANCE_COLUMNS = (
    "account_id",
    "account_name",
    "region",
    "instance_id",
    "finding",
    "association_id",
    "detail",
)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell that spreadsheet software shows as text, never evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _write(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return out.getvalue()


def failing_row(item: TrackedAssociation) -> list[object]:
    a, ack = item.association, item.ack
    return [
        a.account_id,
        a.account_name,
        a.region,
        a.association_id,
        a.association_name,
        a.document_name,
        a.failure_kind,
        a.sync_compliance,
        len(a.noncompliant_instances),
        a.failed_target_count or len(a.failed_targets),
        a.total_targets,
        iso(item.failing_since),
        iso(a.last_execution_at),
        top_error(a.failed_targets),
        ack.by if ack else None,
        iso(ack.until) if ack else None,
        ack.reason if ack else None,
        remedy(a),
    ]


def failing_csv(items: Iterable[TrackedAssociation]) -> str:
    """The failing ones of `items`, one row each, in the order given, with a header row."""
    return _write(FAILING_COLUMNS, (failing_row(t) for t in items if t.association.failing))


def digest_csv(digest: Digest) -> str:
    """Every failing association, unacknowledged first (in digest order), then acknowledged."""
    return failing_csv((*digest.failing, *digest.acknowledged))


def instances_csv(digest: Digest) -> str | None:
    """Orphaned items and the instances where Security Hub and the sweep disagree; None when
    there are none."""
    names = digest.account_names
    rows: list[list[object]] = [
        [
            o.account_id,
            names.get(o.account_id),
            o.region,
            o.instance_id,
            "orphan",
            o.association_id,
            ORPHAN_REMEDY,
        ]
        for o in digest.orphans
    ]
    check = digest.security_hub
    if check is not None:
        rows += [
            [
                k.account_id,
                names.get(k.account_id),
                k.region,
                k.instance_id,
                "security_hub_only",
                None,
                "Security Hub's SSM.3 finding is FAILED; the sweep finds it compliant",
            ]
            for k in check.unexplained
        ]
        rows += [
            [
                k.account_id,
                names.get(k.account_id),
                k.region,
                k.instance_id,
                "sweep_only",
                None,
                "NON_COMPLIANT per the sweep; Security Hub has no FAILED SSM.3 finding for it",
            ]
            for k in check.sweep_only
        ]
    return _write(INSTANCE_COLUMNS, rows) if rows else None


def scopes_csv(scopes: Sequence[ScopeStatus], names: Mapping[str, str] | None = None) -> str:
    """The scopes not swept; `names`: account names from Organizations."""
    known = names or {}
    return _write(
        SCOPE_COLUMNS,
        (
            [
                s.scope.account_id,
                known.get(s.scope.account_id),
                s.scope.region,
                iso(s.swept_at),
                s.error,
            ]
            for s in scopes
        ),
    )
