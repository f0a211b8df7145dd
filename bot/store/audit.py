"""The audit log: every action people took through the bot, append-only (a trigger refuses
updates and deletes), for auditors.

Refusals are rate-limited without losing count: a person refused again within a minute of
their last refusal entry adds no entry; that entry's count of repeats goes up instead
(`audit_repeats`, the one updatable table beside it). A flood of refusals costs one row a
person a minute, and every refusal is still counted."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.models import AssociationKey, AuditEntry
from bot.store.db import Database
from bot.util.clock import iso, parse_iso

REFUSAL_WINDOW = timedelta(minutes=1)


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        *,
        actor: str,
        action: str,
        outcome: str,
        now: datetime,
        key: AssociationKey | None = None,
        channel: str | None = None,
        detail: str | None = None,
    ) -> int:
        """Append one entry to the audit log and return its id (a refusal within a minute of
        the same person's last one: that one's id, its repeats counted)."""
        with self.db.write() as db:
            if outcome == "refused":
                counted = self._repeat(actor, now)
                if counted is not None:
                    return counted
            table = db.table("audit")
            table.insert(
                {
                    "at": iso(now),
                    "actor": actor,
                    "action": action,
                    "account_id": key.account_id if key else None,
                    "region": key.region if key else None,
                    "association_id": key.association_id if key else None,
                    "channel": channel,
                    "outcome": outcome,
                    "detail": detail,
                }
            )
            return int(table.last_pk or 0)

    def _repeat(self, actor: str, now: datetime) -> int | None:
        """Count a refusal on `actor`'s refusal entry of the last minute, if there is one."""
        rows = self.db.rows(
            "SELECT id FROM audit WHERE actor = ? AND at >= ? AND outcome = 'refused' "
            "ORDER BY id DESC LIMIT 1",
            (actor, iso(now - REFUSAL_WINDOW)),
        )
        if not rows:
            return None
        entry = int(rows[0]["id"])
        self.db.execute(
            "INSERT INTO audit_repeats (audit_id, repeats, last_at) VALUES (?, 1, ?) "
            "ON CONFLICT (audit_id) DO UPDATE SET repeats = repeats + 1, last_at = excluded.last_at",
            (entry, iso(now)),
        )
        return entry

    def last(self, actor: str, action: str, outcome: str, since: datetime) -> datetime | None:
        """When `actor` last had an entry of this action and outcome after `since`."""
        rows = self.db.rows(
            "SELECT at FROM audit WHERE actor = ? AND at > ? AND action = ? AND outcome = ? "
            "ORDER BY id DESC LIMIT 1",
            (actor, iso(since), action, outcome),
        )
        return parse_iso(rows[0]["at"]) if rows else None

    def entries(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        sql = (
            "SELECT a.*, coalesce(r.repeats, 0) AS repeats FROM audit a "
            "LEFT JOIN audit_repeats r ON r.audit_id = a.id WHERE a.at >= ? ORDER BY a.id DESC"
        )
        params: list[Any] = [iso(since) or ""]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            AuditEntry(
                id=r["id"],
                at=parse_iso(r["at"]),  # type: ignore[arg-type]
                actor=r["actor"],
                action=r["action"],
                outcome=r["outcome"],
                account_id=r["account_id"],
                region=r["region"],
                association_id=r["association_id"],
                channel=r["channel"],
                detail=r["detail"],
                repeats=int(r["repeats"]),
            )
            for r in self.db.rows(sql, params)
        ]
