"""Acknowledgements: who accepted a failure, why and until when, and how each one ended."""

from __future__ import annotations

from datetime import datetime

from bot.models import Ack, AssociationKey
from bot.models.evidence import AckRecord
from bot.store.db import Database
from bot.store.rows import row_key, to_ack
from bot.util.clock import iso, parse_iso


class Acks:
    def __init__(self, db: Database) -> None:
        self.db = db

    def active(self, now: datetime | None = None) -> dict[tuple[str, str, str], Ack]:
        """The acknowledgements in force at `now` (any not ended, when `now` is None)."""
        moment = iso(now) if now else None
        found = self.db.rows(
            "SELECT * FROM acks WHERE ended_at IS NULL AND (until IS NULL OR ? IS NULL OR until > ?) "
            "ORDER BY id",
            (moment, moment),
        )
        return {row_key(r): to_ack(r) for r in found}

    def acknowledge(
        self,
        key: AssociationKey,
        *,
        by: str,
        reason: str,
        until: datetime | None,
        now: datetime,
        by_name: str | None = None,
    ) -> Ack:
        """Record an acknowledgement, replacing any active one for the same association."""
        with self.db.write() as db:
            self.end(key, now, by=by, reason="replaced")
            db.table("acks").insert(
                {
                    "account_id": key.account_id,
                    "region": key.region,
                    "association_id": key.association_id,
                    "by": by,
                    "reason": reason,
                    "created_at": iso(now),
                    "until": iso(until),
                    "by_name": by_name,
                }
            )
        return Ack(by=by, reason=reason, created_at=now, until=until, by_name=by_name)

    def unacknowledge(self, key: AssociationKey, *, by: str, now: datetime) -> bool:
        """End the active acknowledgement; False when there was none."""
        with self.db.write():
            return self.end(key, now, by=by, reason="unacknowledged") > 0

    def expire(self, now: datetime) -> list[tuple[AssociationKey, Ack]]:
        """End acknowledgements whose expiry has passed; return them so they can be announced."""
        with self.db.write() as db:
            found = self.db.rows(
                "SELECT * FROM acks WHERE ended_at IS NULL AND until IS NOT NULL AND until <= ?",
                (iso(now),),
            )
            for row in found:
                db.table("acks").update(row["id"], {"ended_at": iso(now), "end_reason": "expired"})
        return [(AssociationKey(*row_key(r)), to_ack(r)) for r in found]

    def ended(self, *, reason: str, since: datetime) -> list[tuple[AssociationKey, Ack]]:
        """Acknowledgements that ended for `reason` (e.g. expired) after `since`."""
        found = self.db.rows(
            "SELECT * FROM acks WHERE end_reason = ? AND ended_at > ? ORDER BY id",
            (reason, iso(since)),
        )
        return [(AssociationKey(*row_key(r)), to_ack(r)) for r in found]

    def end(self, key: AssociationKey, now: datetime, *, by: str | None, reason: str) -> int:
        """End the association's active acknowledgement (a streak ended, it was deleted or is
        no longer swept); how many ended. Inside a caller's write, part of its transaction."""
        with self.db.write():
            return self.db.execute(
                "UPDATE acks SET ended_at = ?, ended_by = ?, end_reason = ? "
                "WHERE account_id = ? AND region = ? AND association_id = ? AND ended_at IS NULL",
                (iso(now), by, reason, key.account_id, key.region, key.association_id),
            )

    def overlapping(self, since: datetime, until: datetime) -> list[AckRecord]:
        """Every acknowledgement in force at some moment of [since, until), however it ended."""
        rows = self.db.rows(
            "SELECT * FROM acks WHERE created_at < ? AND coalesce(ended_at, until, '9999') > ? "
            "AND coalesce(until, '9999') > ? ORDER BY created_at, id",
            (iso(until), iso(since), iso(since)),
        )
        return [
            AckRecord(
                account_id=r["account_id"],
                region=r["region"],
                association_id=r["association_id"],
                by=r["by"],
                by_name=r.get("by_name"),
                reason=r["reason"] or "",
                created_at=parse_iso(r["created_at"]),  # type: ignore[arg-type]
                until=parse_iso(r["until"]),
                ended_at=parse_iso(r["ended_at"]),
                end_reason=r["end_reason"],
            )
            for r in rows
        ]
