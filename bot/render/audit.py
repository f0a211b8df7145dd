"""The audit log as compliance evidence: a terminal table, JSON rows and CSV. Pure, no I/O.

Entries carry text people typed (a refused slash command's reason, an acknowledgement's
reason) and names AWS supplied, so every form is defended against its own kind of mischief:
control characters never reach a terminal, and no CSV cell can run as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.models import AuditEntry
from bot.render.spreadsheet import safe_cell
from bot.render.text import table
from bot.util.clock import iso
from bot.util.strings import clip, terminal_safe

FIELDS = (
    "id",
    "at",
    "actor",
    "action",
    "outcome",
    "account_id",
    "region",
    "association_id",
    "channel",
    "detail",
    "repeats",  # a refusal: the same person's further refusals within a minute, counted here
)
DETAIL_WIDTH = 60


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    """One entry as a flat record with the contract's timestamp format."""
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "outcome": entry.outcome,
        "account_id": entry.account_id,
        "region": entry.region,
        "association_id": entry.association_id,
        "channel": entry.channel,
        "detail": entry.detail,
        "repeats": entry.repeats,
    }


def audit_json(entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    return [audit_row(entry) for entry in entries]


def audit_csv(entries: Sequence[AuditEntry]) -> str:
    """CSV with a header row; empty cells for missing values."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    for entry in entries:
        row = audit_row(entry)
        writer.writerow([_cell(row[name]) for name in FIELDS])
    return out.getvalue()


def render_audit(entries: Sequence[AuditEntry], since: datetime | None) -> str:
    """The table a person reads in a terminal, oldest first like any log."""
    scope = f" since {iso(since)}" if since else ""
    if not entries:
        return f"No audit entries{scope}.\n"
    rows = [
        [
            iso(e.at) or "",
            _plain(e.actor, 24),
            _plain(e.action, 16),
            _plain(e.outcome, 16),
            _plain(_where(e), 60),
            _plain(e.channel, 12),
            _plain(_detail(e), DETAIL_WIDTH),
        ]
        for e in entries
    ]
    headers = ("AT", "ACTOR", "ACTION", "OUTCOME", "ASSOCIATION", "CHANNEL", "DETAIL")
    lines = [f"AUDIT LOG ({len(entries)} entries{scope}, UTC)", *table(headers, rows)]
    return "\n".join(lines) + "\n"


def _detail(entry: AuditEntry) -> str | None:
    if not entry.repeats:
        return entry.detail
    return f"(+{entry.repeats} more within a minute) {entry.detail or ''}".strip()


def _where(entry: AuditEntry) -> str:
    parts = [entry.account_id, entry.region, entry.association_id]
    return "/".join(p for p in parts if p) if entry.association_id else ""


def _plain(text: str | None, width: int) -> str:
    return clip(terminal_safe(text or "", " "), width)


def _cell(value: object) -> object:
    return safe_cell(value) if value is None or isinstance(value, str) else value
