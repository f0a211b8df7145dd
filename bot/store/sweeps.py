"""Sweeps and scopes: each sweep's headline numbers, each account-region's latest outcome,
and Security Hub's cross-check of a sweep."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from bot.models import (
    AssociationKey,
    InstanceKey,
    Scope,
    ScopeStatus,
    SecurityHubCheck,
    SweepCoverage,
    SweepSummary,
)
from bot.store.acks import Acks
from bot.store.db import Database
from bot.store.failure_streaks import FailureStreaks
from bot.util.clock import iso, parse_iso


class Sweeps:
    """Sweeps begin, store their scopes (bot/store/associations.py) and finish here."""

    def __init__(self, db: Database, acks: Acks, streak_log: FailureStreaks) -> None:
        self.db = db
        self.acks = acks
        self.streak_log = streak_log

    def begin(
        self,
        sweep_id: str,
        started_at: datetime,
        scopes: int,
        trigger: str,
        coverage: SweepCoverage = "full",
    ) -> None:
        with self.db.write() as db:
            db.table("sweeps").insert(
                {
                    "id": sweep_id,
                    "started_at": iso(started_at),
                    "trigger": trigger,
                    "scopes": scopes,
                    "coverage": coverage,
                }
            )

    def finish(
        self, sweep_id: str, finished_at: datetime, duration_s: float | None = None
    ) -> SweepSummary:
        """Close a sweep and store its headline numbers (counted from what it stored)."""
        with self.db.write() as db:
            scopes = self.db.rows(
                "SELECT count(*) AS n, coalesce(sum(1 - ok), 0) AS failed, "
                "coalesce(sum(aws_calls), 0) AS calls FROM sweep_scopes WHERE sweep_id = ?",
                (sweep_id,),
            )[0]
            counts = self.db.rows(
                "SELECT count(*) AS n, coalesce(sum(failing = 1), 0) AS failing "
                "FROM associations WHERE last_sweep_id = ?",
                (sweep_id,),
            )[0]
            acknowledged = self.db.rows(
                "SELECT count(DISTINCT a.association_id) AS n FROM associations a JOIN acks k "
                "USING (account_id, region, association_id) WHERE a.last_sweep_id = ? "
                "AND a.failing = 1 AND k.ended_at IS NULL AND (k.until IS NULL OR k.until > ?)",
                (sweep_id, iso(finished_at)),
            )[0]["n"]
            # SSM.3's own number: distinct NON_COMPLIANT instances in the scopes this sweep read.
            instances = self.db.rows(
                "SELECT coalesce(sum(noncompliant_instances), 0) AS n FROM sweep_scopes "
                "WHERE sweep_id = ? AND ok = 1",
                (sweep_id,),
            )[0]["n"]
            values = {
                "finished_at": iso(finished_at),
                "scopes": scopes["n"],
                "scopes_failed": scopes["failed"],
                "associations": counts["n"],
                "failing": counts["failing"],
                "acknowledged": acknowledged,
                "noncompliant_instances": instances,
                "aws_calls": scopes["calls"],
                "duration_ms": None if duration_s is None else round(duration_s * 1000),
            }
            db.table("sweeps").update(sweep_id, values)
        summary = self.get(sweep_id)
        assert summary is not None
        return summary

    def get(self, sweep_id: str) -> SweepSummary | None:
        rows = self.db.rows("SELECT * FROM sweeps WHERE id = ?", (sweep_id,))
        return _summary(rows[0]) if rows else None

    def last(self, *, finished: bool = True, full: bool = False) -> SweepSummary | None:
        """The latest sweep of the whole configuration (full, or triage; `full`: full only).

        A partial read of a few account-regions (an event's) is never "the last sweep": it
        must not make a stalled schedule look healthy, nor hide the last cross-check."""
        kinds = ("full",) if full else ("full", "triage")
        rows = self.db.rows(
            "SELECT * FROM sweeps WHERE (? OR finished_at IS NOT NULL) "
            "AND coalesce(coverage, 'full') IN (SELECT value FROM json_each(?)) "
            "ORDER BY started_at DESC, rowid DESC LIMIT 1",
            (int(not finished), json.dumps(kinds)),
        )
        return _summary(rows[0]) if rows else None

    def finished_since(self, since: datetime) -> list[SweepSummary]:
        """Every sweep finished at or after `since`, oldest first (for the trend)."""
        rows = self.db.rows(
            "SELECT * FROM sweeps WHERE finished_at IS NOT NULL AND finished_at >= ? "
            "ORDER BY finished_at, rowid",
            (iso(since),),
        )
        return [_summary(row) for row in rows]

    def sweep_scopes(self, sweep_id: str) -> list[ScopeStatus]:
        rows = self.db.rows(
            "SELECT s.*, w.finished_at FROM sweep_scopes s JOIN sweeps w ON w.id = s.sweep_id "
            "WHERE sweep_id = ? ORDER BY account_id, region",
            (sweep_id,),
        )
        return [
            ScopeStatus(
                Scope(r["account_id"], r["region"]),
                bool(r["ok"]),
                r["error"],
                parse_iso(r["started_at"]) or parse_iso(r["finished_at"]),  # type: ignore[arg-type]
            )
            for r in rows
        ]

    def scope_states(self) -> list[ScopeStatus]:
        """Each scope's latest outcome, across sweeps (what the digest reports as not swept)."""
        rows = self.db.rows("SELECT * FROM scope_state ORDER BY account_id, region")
        return [
            ScopeStatus(
                Scope(r["account_id"], r["region"]),
                bool(r["ok"]),
                r["error"],
                parse_iso(r["swept_at"]),  # type: ignore[arg-type]
            )
            for r in rows
        ]

    def forget_other_scopes(
        self, keep: Iterable[Scope], *, sweep_id: str, now: datetime
    ) -> list[Scope]:
        """Drop what is known of account-regions no longer configured (a region dropped from
        SSM3_REGIONS, an account that left the organisation), so the digest stops reporting
        them; their sweeps and status history stay as evidence."""
        wanted = set(keep)
        with self.db.write() as db:
            known = [
                Scope(r["account_id"], r["region"])
                for r in self.db.rows("SELECT * FROM scope_state")
            ]
            gone = [scope for scope in known if scope not in wanted]
            for scope in gone:
                where = (scope.account_id, scope.region)
                rows = self.db.rows(
                    "SELECT association_id, status FROM associations WHERE account_id = ? AND region = ?",
                    where,
                )
                for row in rows:
                    key = AssociationKey(scope.account_id, scope.region, row["association_id"])
                    db.table("status_changes").insert(
                        {
                            "account_id": key.account_id,
                            "region": key.region,
                            "association_id": key.association_id,
                            "at": iso(now),
                            "sweep_id": sweep_id,
                            "old_status": row["status"],
                            "new_status": "Unswept",
                        }
                    )
                    self.acks.end(key, now, by=None, reason="unswept")
                self.streak_log.end_scope(scope, now)
                for table in (  # the sweeps' own record (sweeps, sweep_scopes) stays
                    "failed_targets",
                    "instance_compliance",
                    "orphans",
                    "associations",
                    "scope_state",
                ):
                    db.execute(f"DELETE FROM {table} WHERE account_id = ? AND region = ?", where)  # noqa: S608
        return gone

    def save_security_hub_check(self, sweep_id: str, check: SecurityHubCheck) -> None:
        def keys(found: tuple[InstanceKey, ...]) -> str:
            return json.dumps([[k.account_id, k.region, k.instance_id] for k in found])

        with self.db.write() as db:
            db.table("securityhub_checks").insert(
                {
                    "sweep_id": sweep_id,
                    "region": check.region,
                    "checked_at": iso(check.checked_at),
                    "failed_instances": check.failed_instances,
                    "explained": check.explained,
                    "unexplained": keys(check.unexplained),
                    "sweep_only": keys(check.sweep_only),
                    "error": check.error,
                    "hubs": json.dumps(list(check.hubs)),
                    "v2": None if check.v2 is None else json.dumps(_v2_json(check.v2)),
                },
                replace=True,
            )

    def security_hub_check(self, sweep_id: str | None = None) -> SecurityHubCheck | None:
        """The cross-check of `sweep_id`, or of the latest sweep that made one."""
        rows = self.db.rows(
            "SELECT c.* FROM securityhub_checks c JOIN sweeps w ON w.id = c.sweep_id "
            "WHERE ? IS NULL OR c.sweep_id = ? ORDER BY w.started_at DESC LIMIT 1",
            (sweep_id, sweep_id),
        )
        if not rows:
            return None
        row = rows[0]

        def keys(text: str | None) -> tuple[InstanceKey, ...]:
            return tuple(InstanceKey(*k) for k in json.loads(text or "[]"))

        return SecurityHubCheck(
            region=row["region"],
            checked_at=parse_iso(row["checked_at"]),  # type: ignore[arg-type]
            failed_instances=row["failed_instances"] or 0,
            explained=row["explained"] or 0,
            unexplained=keys(row["unexplained"]),
            sweep_only=keys(row["sweep_only"]),
            error=row["error"],
            hubs=tuple(json.loads(row.get("hubs") or "[]")),
            v2=_v2_check(row.get("v2")),
        )


def _v2_json(check: SecurityHubCheck) -> dict[str, Any]:
    return {
        "region": check.region,
        "checked_at": iso(check.checked_at),
        "failed_instances": check.failed_instances,
        "explained": check.explained,
        "unexplained": [[k.account_id, k.region, k.instance_id] for k in check.unexplained],
        "sweep_only": [[k.account_id, k.region, k.instance_id] for k in check.sweep_only],
        "error": check.error,
    }


def _v2_check(text: str | None) -> SecurityHubCheck | None:
    """The new hub's verdict as saved (None: it was off or not asked)."""
    if not text:
        return None
    data = json.loads(text)
    return SecurityHubCheck(
        region=str(data["region"]),
        checked_at=parse_iso(data["checked_at"]),  # type: ignore[arg-type]
        failed_instances=int(data["failed_instances"]),
        explained=int(data["explained"]),
        unexplained=tuple(InstanceKey(*k) for k in data["unexplained"]),
        sweep_only=tuple(InstanceKey(*k) for k in data["sweep_only"]),
        error=data.get("error"),
    )


def _summary(row: Mapping[str, Any]) -> SweepSummary:
    return SweepSummary(
        sweep_id=row["id"],
        started_at=parse_iso(row["started_at"]),  # type: ignore[arg-type]
        finished_at=parse_iso(row["finished_at"]),
        scopes=row["scopes"] or 0,
        scopes_failed=row["scopes_failed"] or 0,
        associations=row["associations"] or 0,
        failing=row["failing"] or 0,
        acknowledged=row["acknowledged"] or 0,
        noncompliant_instances=row["noncompliant_instances"] or 0,
        aws_calls=row["aws_calls"] or 0,
        duration_s=(row["duration_ms"] or 0) / 1000,
        coverage=row.get("coverage") or "full",
    )
