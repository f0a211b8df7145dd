"""The evidence report's tables (registered among the numbered migrations in bot/store/db.py):
every failure streak, the summaries that outlive the raw sweep rows, and the scheduled report's
claims. The functions' names are recorded in each database forever: never rename one."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlite_utils import Database as SqliteDatabase

# A status that ends a failing streak in the status history (Pending carries it on).
_ENDS = {"Success": "resolved", "Deleted": "deleted", "Unswept": "unswept"}


def m012_failure_streaks(db: SqliteDatabase) -> None:
    """Every failing streak (start, end, kind, how it ended), kept for the evidence report;
    filled from what the older tables know: the streaks failing now (associations), ended
    streaks that were alerted (alerts), and the runs that failed and recovered (status history)."""
    db.table("failure_streaks").create(
        {
            "account_id": str,
            "region": str,
            "association_id": str,
            "started_at": str,  # the streak's failing_since
            "ended_at": str,  # NULL: still open
            "ended_how": str,  # resolved | deleted | unswept
            "failure_kind": str,  # execution | reported (NULL: not known, backfilled)
            "association_name": str,
            "document_name": str,
            "source": str,  # recorded | backfill
        },
        pk=("account_id", "region", "association_id", "started_at"),
        not_null={"source"},
        defaults={"source": "recorded"},
    )
    db.table("failure_streaks").create_index(["started_at"])
    db.table("failure_streaks").create_index(["ended_at"])
    _backfill(db)


def m012_report_evidence(db: SqliteDatabase) -> None:
    """Summaries the report reads, so the bulky per-sweep rows may be pruned once summarised:
    each day's figures (its last sweep's, Security Hub's agreement) and each account-region's
    reads per UTC day (when, and whether it was swept); and which process posted which
    period's report (claimed once across processes, like a digest)."""
    db.table("daily_figures").create(
        {
            "day": str,  # YYYY-MM-DD in `zone`
            "zone": str,  # SSM3_TIMEZONE when it was summarised
            "sweeps": int,
            "sweep_id": str,
            "at": str,
            "associations": int,
            "failing": int,
            "acknowledged": int,
            "noncompliant_instances": int,
            "scopes": int,
            "scopes_failed": int,
            "securityhub_checks": int,
            "securityhub_agreed": int,
            "securityhub_failed_instances": int,
            "securityhub_explained": int,
            "securityhub_unexplained": int,
            "securityhub_sweep_only": int,
            "securityhub_error": str,
        },
        pk="day",
    )
    db.table("scope_days").create(
        {
            "day": str,  # YYYY-MM-DD in UTC
            "account_id": str,  # "*" with region "*": the whole sweeps of that day
            "region": str,
            "reads": str,  # JSON [[epoch seconds, 1 ok | 0 failed], ...] in time order
        },
        pk=("day", "account_id", "region"),
    )
    # Reads of a period start from its sweeps (then their scopes, by the primary key).
    db.table("sweeps").create_index(["started_at"], if_not_exists=True)
    db.table("report_posts").create(
        {
            "since": str,
            "until": str,
            "channel": str,
            "slot": str,  # the scheduled fire time that posted it
            "claimed_by": str,
            "claimed_at": str,
            "posted_at": str,
            "file_id": str,
            "sha256": str,
        },
        pk=("since", "until", "channel"),
    )


def _backfill(db: SqliteDatabase) -> None:
    names = {
        _key(row): row
        for row in db.query(
            "SELECT account_id, region, association_id, association_name, document_name, "
            "failing_since, failing, sync_compliance, noncompliant_instances FROM associations"
        )
    }
    failed: dict[tuple[str, str, str], set[str]] = {}
    for row in db.query(
        "SELECT account_id, region, association_id, instance_id FROM failed_targets"
    ):
        failed.setdefault(_key(row), set()).add(row["instance_id"])
    streaks: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    def add(
        key: tuple[str, str, str], start: str, end: str | None, how: str | None, kind: str | None
    ) -> None:
        known = streaks.setdefault(key, [])
        if any(_overlaps(start, end, s["started_at"], s["ended_at"]) for s in known):
            return
        row = names.get(key, {})
        known.append(
            {
                "account_id": key[0],
                "region": key[1],
                "association_id": key[2],
                "started_at": start,
                "ended_at": end,
                "ended_how": how,
                "failure_kind": kind,
                "association_name": row.get("association_name"),
                "document_name": row.get("document_name") or "",
                "source": "backfill",
            }
        )

    for key, row in names.items():  # failing now: the exact start, the kind as stored
        if row["failing_since"]:
            add(key, row["failing_since"], None, None, _kind(row, failed.get(key, set())))
    for row in db.query(  # alerted streaks that ended: their exact start and end
        "SELECT account_id, region, association_id, failing_since, min(resolved_at) AS ended "
        "FROM alerts WHERE resolved_at IS NOT NULL GROUP BY account_id, region, association_id, "
        "failing_since"
    ):
        add(_key(row), row["failing_since"], row["ended"], "resolved", None)
    opened: dict[tuple[str, str, str], str] = {}
    for row in db.query(  # runs that failed and recovered: from the sweep that saw each change
        "SELECT account_id, region, association_id, at, new_status FROM status_changes ORDER BY id"
    ):
        key = _key(row)
        if row["new_status"] == "Failed":
            opened.setdefault(key, row["at"])
        elif row["new_status"] in _ENDS and key in opened:
            add(key, opened.pop(key), row["at"], _ENDS[row["new_status"]], "execution")
    rows = [streak for known in streaks.values() for streak in known]
    if rows:
        db.table("failure_streaks").insert_all(rows, ignore=True)


def _key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    return (row["account_id"], row["region"], row["association_id"])


def _kind(row: Mapping[str, Any], failed: set[str]) -> str | None:
    """What bot.models.Association.failure_kind says, from the stored columns."""
    if not row["failing"]:
        return None  # carried through a re-run (Pending): the kind is not known
    if row["sync_compliance"] == "MANUAL":
        return "reported"
    noncompliant = json.loads(row["noncompliant_instances"] or "[]")
    return "execution" if all(i in failed for i in noncompliant) else "reported"


def _overlaps(start: str, end: str | None, other_start: str, other_end: str | None) -> bool:
    return (other_end is None or start < other_end) and (end is None or other_start < end)
