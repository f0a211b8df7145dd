"""The ledger of what the scheduler did: alerts and leases, kept in SQLite (digest messages,
claimed the same way, are bot/store/digests.py).

Deciding from rows instead of memory is what makes restarts and a second `serve` process safe:
an alert is claimed by inserting its row, and only the claimant posts it. A
claim that was never completed (the claimant died) goes stale and may be taken over.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from bot.models import AlertMessage, AssociationKey
from bot.store.db import Database
from bot.util.clock import iso, parse_iso

STALE_CLAIM = timedelta(minutes=10)


def holder_id() -> str:
    """Names this process in claims and leases: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def holder_alive(holder: str) -> bool:
    """False only when the holder ran on this host and its process no longer exists; a holder
    on another host (a second container) is trusted until its lease expires."""
    parts = holder.rsplit(":", 2)  # host:pid:suffix
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return True
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


class Ledger:
    """Claims and records, each claim in one transaction on the database core."""

    def __init__(self, db: Database, holder: str | None = None) -> None:
        self.db = db
        self.holder = holder or holder_id()

    def with_holder(self, holder: str | None = None) -> Ledger:
        """The same ledger claiming as `holder` (a fresh holder when None): a sweep claims its
        lease as a holder of its own, so two sweeps in one process exclude each other too."""
        return Ledger(self.db, holder)

    # -- alerts -------------------------------------------------------------------------------
    def claim_alert(
        self, key: AssociationKey, failing_since: datetime, channel: str, now: datetime
    ) -> bool:
        """True once per failing streak and channel, across processes."""
        with self.db.write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO alerts (account_id, region, association_id, failing_since, "
                "channel, claimed_by, claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [*_key(key, failing_since), channel, self.holder, iso(now)],
            )
            return cursor.rowcount == 1

    def release_alert(self, key: AssociationKey, failing_since: datetime, channel: str) -> None:
        """Give an unposted alert back so the next sweep tries again."""
        with self.db.write() as db:
            db.execute(
                "DELETE FROM alerts WHERE account_id = ? AND region = ? AND association_id = ? "
                "AND failing_since = ? AND channel = ? AND posted_at IS NULL",
                [*_key(key, failing_since), channel],
            )

    def alert_posted(
        self, key: AssociationKey, failing_since: datetime, *, channel: str, ts: str, now: datetime
    ) -> None:
        with self.db.write() as db:
            db.table("alerts").update(
                (*_key(key, failing_since), channel), {"posted_at": iso(now), "ts": ts}
            )

    def alerted(
        self, key: AssociationKey, failing_since: datetime, channel: str | None = None
    ) -> bool:
        """Whether this streak was claimed for an alert (in `channel`, or in any)."""
        return bool(
            self.db.rows(
                "SELECT 1 FROM alerts WHERE account_id = ? AND region = ? AND association_id = ? "
                "AND failing_since = ? AND (? IS NULL OR channel = ?)",
                (*_key(key, failing_since), channel, channel),
            )
        )

    def alert_messages(self, key: AssociationKey) -> list[AlertMessage]:
        """The posted alert messages of `key`'s streaks that are not yet marked resolved."""
        rows = self.db.rows(
            "SELECT * FROM alerts WHERE account_id = ? AND region = ? AND association_id = ? "
            "AND ts IS NOT NULL AND resolved_at IS NULL",
            (key.account_id, key.region, key.association_id),
        )
        return sorted({_alert(row) for row in rows}, key=lambda m: (m.channel, m.ts))

    def open_alerts(self) -> list[tuple[AssociationKey, datetime, AlertMessage]]:
        """Every posted alert whose streak is not marked resolved: (key, since, message)."""
        rows = self.db.rows(
            "SELECT * FROM alerts WHERE ts IS NOT NULL AND resolved_at IS NULL ORDER BY channel, ts"
        )
        return [(_alert_key(row), _since(row), _alert(row)) for row in rows]

    def alert_contents(self, message: AlertMessage) -> list[tuple[AssociationKey, datetime]]:
        """The streaks one alert message told of, in the order it told them."""
        rows = self.db.rows(
            "SELECT * FROM alerts WHERE channel = ? AND ts = ? ORDER BY rowid",
            (message.channel, message.ts),
        )
        return [(_alert_key(row), _since(row)) for row in rows]

    def alert_resolved(self, key: AssociationKey, failing_since: datetime, now: datetime) -> None:
        with self.db.write() as db:
            db.execute(
                "UPDATE alerts SET resolved_at = ? WHERE account_id = ? AND region = ? "
                "AND association_id = ? AND failing_since = ? AND resolved_at IS NULL",
                [iso(now), *_key(key, failing_since)],
            )

    def resolved_at(self, key: AssociationKey, failing_since: datetime) -> datetime | None:
        rows = self.db.rows(
            "SELECT resolved_at FROM alerts WHERE account_id = ? AND region = ? "
            "AND association_id = ? AND failing_since = ? AND resolved_at IS NOT NULL LIMIT 1",
            _key(key, failing_since),
        )
        return parse_iso(rows[0]["resolved_at"]) if rows else None

    # -- leases -------------------------------------------------------------------------------
    def acquire(self, name: str, now: datetime, ttl: timedelta) -> bool:
        """Hold `name` until now+ttl (or renew it) unless another live holder has it.

        A holder on this host whose process is gone (killed mid-sweep) holds nothing.
        """
        with self.db.write() as db:
            rows = self.db.rows("SELECT * FROM leases WHERE name = ?", (name,))
            if rows:
                holder, expires = rows[0]["holder"], parse_iso(rows[0]["expires_at"])
                held = expires is not None and expires > now and holder_alive(holder)
                if holder != self.holder and held:
                    return False
            db.table("leases").insert(
                {"name": name, "holder": self.holder, "expires_at": iso(now + ttl)}, replace=True
            )
            return True

    def release(self, name: str) -> None:
        with self.db.write() as db:
            db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", [name, self.holder])

    def lease_holder(self, name: str, now: datetime) -> str | None:
        rows = self.db.rows("SELECT * FROM leases WHERE name = ?", (name,))
        if not rows:
            return None
        expires = parse_iso(rows[0]["expires_at"])
        return rows[0]["holder"] if expires is not None and expires > now else None


def _key(key: AssociationKey, failing_since: datetime) -> tuple[str, str, str, str]:
    return key.account_id, key.region, key.association_id, str(iso(failing_since))


def _alert_key(row: dict[str, Any]) -> AssociationKey:
    return AssociationKey(row["account_id"], row["region"], row["association_id"])


def _since(row: dict[str, Any]) -> datetime:
    since = parse_iso(row["failing_since"])
    assert since is not None
    return since


def _alert(row: dict[str, Any]) -> AlertMessage:
    return AlertMessage(channel=row["channel"], ts=row["ts"])
