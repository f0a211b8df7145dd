"""The audit log: every action people took through the bot, append-only (a trigger refuses
updates and deletes), for auditors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.models import AssociationKey, AuditEntry
from bot.store.db import Database
from bot.util.clock import iso, parse_iso


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
        """Append one entry to the audit log and return its id."""
        with self.db.write() as db:
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

    def entries(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        sql = "SELECT * FROM audit WHERE at >= ? ORDER BY id DESC"
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
            )
            for r in self.db.rows(sql, params)
        ]
