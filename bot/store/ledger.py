"""The ledger of what the scheduler did: digest runs, alerts and leases, kept in SQLite.

Deciding from rows instead of memory is what makes restarts and a second `serve` process safe:
a digest slot or an alert is claimed by inserting its row, and only the claimant posts it. A
claim that was never completed (the claimant died) goes stale and may be taken over.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from bot.clock import iso, parse_iso
from bot.models import AssociationKey, DigestRun, SnapshotItem
from bot.store.db import Database

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

    # -- digests ------------------------------------------------------------------------------
    def claim_digest(self, slot: datetime, kind: str, now: datetime) -> bool:
        """True when this process may post the digest for `slot` (first claim, or a stale one)."""
        with self.db.write() as db:
            rows = self.db.rows("SELECT * FROM digest_runs WHERE slot = ?", (iso(slot),))
            if rows:
                row = rows[0]
                claimed_at = parse_iso(row["claimed_at"])
                stale = (
                    row["posted_at"] is None
                    and claimed_at is not None
                    and now - claimed_at > STALE_CLAIM
                )
                if not stale:
                    return False
            db.table("digest_runs").insert(
                {
                    "slot": iso(slot),
                    "kind": kind,
                    "claimed_by": self.holder,
                    "claimed_at": iso(now),
                },
                replace=True,
            )
            return True

    def digest_posted(
        self, slot: datetime, *, channel: str, ts: str, snapshot: list[SnapshotItem], now: datetime
    ) -> None:
        with self.db.write() as db:
            db.table("digest_runs").update(
                str(iso(slot)),
                {
                    "posted_at": iso(now),
                    "channel": channel,
                    "ts": ts,
                    "snapshot": json.dumps([item.to_json() for item in snapshot]),
                },
            )

    def digest_failed(self, slot: datetime) -> None:
        """Give the claim back so the next tick (or another process) can try again."""
        with self.db.write() as db:
            db.execute("DELETE FROM digest_runs WHERE slot = ? AND posted_at IS NULL", [iso(slot)])

    def last_digest(self) -> DigestRun | None:
        """The most recent digest that was actually posted."""
        rows = self.db.rows(
            "SELECT * FROM digest_runs WHERE posted_at IS NOT NULL ORDER BY slot DESC LIMIT 1"
        )
        return _run(rows[0]) if rows else None

    def run_for_message(self, channel: str, ts: str) -> DigestRun | None:
        """The scheduled digest that Slack message is, if it is one."""
        rows = self.db.rows("SELECT * FROM digest_runs WHERE channel = ? AND ts = ?", (channel, ts))
        return _run(rows[0]) if rows else None

    def previous_digest(self, before: datetime) -> DigestRun | None:
        """The posted digest before the one for slot `before` (what an update compares with)."""
        rows = self.db.rows(
            "SELECT * FROM digest_runs WHERE posted_at IS NOT NULL AND slot < ? "
            "ORDER BY slot DESC LIMIT 1",
            (iso(before),),
        )
        return _run(rows[0]) if rows else None

    # -- alerts -------------------------------------------------------------------------------
    def claim_alert(self, key: AssociationKey, failing_since: datetime, now: datetime) -> bool:
        """True once per failing streak, across processes."""
        with self.db.write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO alerts (account_id, region, association_id, failing_since, "
                "claimed_by, claimed_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    key.account_id,
                    key.region,
                    key.association_id,
                    iso(failing_since),
                    self.holder,
                    iso(now),
                ],
            )
            return cursor.rowcount == 1

    def release_alert(self, key: AssociationKey, failing_since: datetime) -> None:
        """Give an unposted alert back so the next sweep tries again."""
        with self.db.write() as db:
            db.execute(
                "DELETE FROM alerts WHERE account_id = ? AND region = ? AND association_id = ? "
                "AND failing_since = ? AND posted_at IS NULL",
                [key.account_id, key.region, key.association_id, iso(failing_since)],
            )

    def alert_posted(
        self, key: AssociationKey, failing_since: datetime, *, channel: str, ts: str, now: datetime
    ) -> None:
        with self.db.write() as db:
            db.table("alerts").update(
                (key.account_id, key.region, key.association_id, iso(failing_since)),
                {"posted_at": iso(now), "channel": channel, "ts": ts},
            )

    def alerted(self, key: AssociationKey, failing_since: datetime) -> bool:
        return bool(
            self.db.rows(
                "SELECT 1 FROM alerts WHERE account_id = ? AND region = ? AND association_id = ? "
                "AND failing_since = ?",
                (key.account_id, key.region, key.association_id, iso(failing_since)),
            )
        )

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


def _run(row: dict[str, Any]) -> DigestRun:
    slot = parse_iso(row["slot"])
    assert slot is not None
    return DigestRun(
        slot=slot,
        kind=row["kind"],
        posted_at=parse_iso(row["posted_at"]),
        channel=row["channel"],
        ts=row["ts"],
        snapshot=tuple(
            SnapshotItem.from_json(item) for item in json.loads(row["snapshot"] or "[]")
        ),
    )
