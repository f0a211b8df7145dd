"""Every failing streak, recorded as a scope's save starts and ends it (kept for the evidence
report long after the association's own row moved on): start, end, kind and how it ended."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.models import Association, Scope
from bot.models.evidence import StreakEnd, StreakRecord
from bot.store.db import Database
from bot.util.clock import iso, parse_iso

_ENDS: tuple[StreakEnd, ...] = ("resolved", "deleted", "unswept")


class FailureStreaks:
    def __init__(self, db: Database) -> None:
        self.db = db

    def track(
        self,
        previous: Mapping[str, Mapping[str, Any]],
        saved: Sequence[tuple[Association, Mapping[str, Any]]],
        gone: Iterable[str],
        scope: Scope,
        now: datetime,
    ) -> None:
        """One scope's save: `previous` its association rows before, `saved` each association
        with its new row, `gone` the association IDs no longer there. Inside the save's write."""
        failing: list[dict[str, Any]] = []
        ended: list[tuple[Mapping[str, Any], StreakEnd]] = []
        for association, row in saved:
            before = previous.get(association.association_id)
            old = before["failing_since"] if before else None
            if old and old != row["failing_since"]:
                ended.append((before, "resolved"))  # type: ignore[arg-type]
            if row["failing_since"] and association.failing:
                failing.append(_streak_row(row, association.failure_kind))
        ended += [(previous[a], "deleted") for a in gone if previous[a]["failing_since"]]
        with self.db.write() as db:
            if failing:
                db.conn.executemany(
                    "INSERT INTO failure_streaks (account_id, region, association_id, started_at, "
                    "failure_kind, association_name, document_name) VALUES (:account_id, "
                    ":region, :association_id, :started_at, :failure_kind, :association_name, "
                    ":document_name) ON CONFLICT (account_id, region, association_id, started_at) "
                    "DO UPDATE SET failure_kind = excluded.failure_kind, "
                    "association_name = excluded.association_name, "
                    "document_name = excluded.document_name",
                    failing,
                )
            for before, how in ended:
                self._end(before, how, now)

    def _end(self, before: Mapping[str, Any], how: StreakEnd, now: datetime) -> None:
        """End the streak that `before` (an association's row) was in; a streak this table
        never saw starting (older than it) is recorded as it ends."""
        self.db.execute(
            "INSERT OR IGNORE INTO failure_streaks (account_id, region, association_id, "
            "started_at, association_name, document_name) VALUES (?, ?, ?, ?, ?, ?)",
            (
                before["account_id"],
                before["region"],
                before["association_id"],
                before["failing_since"],
                before["association_name"],
                before["document_name"] or "",
            ),
        )
        self.db.execute(
            "UPDATE failure_streaks SET ended_at = ?, ended_how = ? WHERE account_id = ? AND "
            "region = ? AND association_id = ? AND started_at = ? AND ended_at IS NULL",
            (
                iso(now),
                how,
                before["account_id"],
                before["region"],
                before["association_id"],
                before["failing_since"],
            ),
        )

    def end_scope(self, scope: Scope, now: datetime) -> int:
        """The account-region is no longer swept: its open streaks end (`unswept`)."""
        with self.db.write():
            return self.db.execute(
                "UPDATE failure_streaks SET ended_at = ?, ended_how = 'unswept' "
                "WHERE account_id = ? AND region = ? AND ended_at IS NULL",
                (iso(now), scope.account_id, scope.region),
            )

    def open_during(self, since: datetime, until: datetime) -> list[StreakRecord]:
        """Every streak open at some moment of [since, until), oldest first."""
        rows = self.db.rows(
            "SELECT s.*, n.name AS account_name FROM failure_streaks s "
            "LEFT JOIN account_names n ON n.account_id = s.account_id "
            "WHERE s.started_at < ? AND (s.ended_at IS NULL OR s.ended_at > ?) "
            "ORDER BY s.started_at, s.account_id, s.region, s.association_id",
            (iso(until), iso(since)),
        )
        return [_record(row) for row in rows]

    def prune(self, before: datetime) -> int:
        """Forget streaks that ended before `before` (kept at least 400 days)."""
        with self.db.write():
            return self.db.execute(
                "DELETE FROM failure_streaks WHERE ended_at IS NOT NULL AND ended_at < ?",
                (iso(before),),
            )


def _streak_row(row: Mapping[str, Any], kind: str | None) -> dict[str, Any]:
    return {
        "account_id": row["account_id"],
        "region": row["region"],
        "association_id": row["association_id"],
        "started_at": row["failing_since"],
        "failure_kind": kind,
        "association_name": row["association_name"],
        "document_name": row["document_name"] or "",
    }


def _record(row: Mapping[str, Any]) -> StreakRecord:
    started = parse_iso(row["started_at"])
    assert started is not None
    how = row["ended_how"]
    return StreakRecord(
        account_id=row["account_id"],
        region=row["region"],
        association_id=row["association_id"],
        association_name=row["association_name"],
        document_name=row["document_name"] or "",
        failure_kind=row["failure_kind"],
        started_at=started,
        ended_at=parse_iso(row["ended_at"]),
        ended_how=how if how in _ENDS else None,
        source="backfill" if row["source"] == "backfill" else "recorded",
        account_name=row.get("account_name"),
    )
