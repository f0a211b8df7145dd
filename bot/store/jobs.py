"""Scheduled jobs: work due later, as rows, so a restart or a deploy loses none of it.

A job is claimed by one process at a time (one UPDATE in a write transaction, like the ledger's
claims); a claim whose holder died (same host, process gone) or that is older than
STALE_CLAIM is taken over, so a job that was running when its process was killed runs again.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from bot.models import ScheduledJob
from bot.store.db import Database
from bot.store.ledger import STALE_CLAIM, holder_alive, holder_id
from bot.util.clock import iso, parse_iso


class Jobs:
    def __init__(self, db: Database, holder: str | None = None) -> None:
        self.db = db
        self.holder = holder or holder_id()

    def add(self, kind: str, due_at: datetime, payload: Mapping[str, Any], now: datetime) -> int:
        with self.db.write() as db:
            table = db.table("scheduled_jobs")
            table.insert(
                {
                    "kind": kind,
                    "due_at": iso(due_at),
                    "payload": json.dumps(dict(payload), sort_keys=True),
                    "created_at": iso(now),
                    "attempts": 0,
                }
            )
            return int(table.last_pk or 0)

    def claim(self, job_id: int, now: datetime) -> ScheduledJob | None:
        """This one job, if it is not done and nobody live holds it (due or not: its timer fired)."""
        with self.db.write():
            rows = self.db.rows(
                "SELECT * FROM scheduled_jobs WHERE id = ? AND done_at IS NULL", (job_id,)
            )
            if not rows or not self._claimable(rows[0], now):
                return None
            return self._take(rows[0], now)

    def claim_due(
        self, now: datetime, kinds: Collection[str], limit: int = 20
    ) -> list[ScheduledJob]:
        """Up to `limit` jobs of these kinds that are due and not held, oldest due first."""
        if not kinds:
            return []
        with self.db.write():
            rows = self.db.rows(
                "SELECT * FROM scheduled_jobs WHERE done_at IS NULL AND due_at <= ? "
                "AND kind IN (SELECT value FROM json_each(?)) ORDER BY due_at, id",
                (iso(now), json.dumps(sorted(kinds))),
            )
            taken: list[ScheduledJob] = []
            for row in rows:
                if len(taken) >= limit:
                    break
                if self._claimable(row, now):
                    taken.append(self._take(row, now))
            return taken

    def _claimable(self, row: Mapping[str, Any], now: datetime) -> bool:
        claimed_at = parse_iso(row["claimed_at"])
        if row["claimed_by"] is None or claimed_at is None:
            return True
        return now - claimed_at > STALE_CLAIM or not holder_alive(row["claimed_by"])

    def _take(self, row: Mapping[str, Any], now: datetime) -> ScheduledJob:
        attempts = int(row["attempts"] or 0) + 1
        self.db.execute(
            "UPDATE scheduled_jobs SET claimed_by = ?, claimed_at = ?, attempts = ? WHERE id = ?",
            [self.holder, iso(now), attempts, row["id"]],
        )
        return _job({**row, "attempts": attempts})

    def finish(self, job_id: int, now: datetime, outcome: str) -> None:
        self.db.execute(
            "UPDATE scheduled_jobs SET done_at = ?, outcome = ? WHERE id = ? AND claimed_by = ?",
            [iso(now), outcome, job_id, self.holder],
        )

    def retry(self, job_id: int, due_at: datetime, why: str) -> None:
        """Give the claim back, to be tried again at `due_at`."""
        self.db.execute(
            "UPDATE scheduled_jobs SET claimed_by = NULL, claimed_at = NULL, due_at = ?, "
            "outcome = ? WHERE id = ? AND claimed_by = ?",
            [iso(due_at), why, job_id, self.holder],
        )

    def pending(self, kind: str | None = None) -> list[ScheduledJob]:
        """Jobs not done yet (claimed or not), oldest due first."""
        rows = self.db.rows(
            "SELECT * FROM scheduled_jobs WHERE done_at IS NULL AND (? IS NULL OR kind = ?) "
            "ORDER BY due_at, id",
            (kind, kind),
        )
        return [_job(row) for row in rows]

    def outcome(self, job_id: int) -> str | None:
        rows = self.db.rows("SELECT outcome FROM scheduled_jobs WHERE id = ?", (job_id,))
        return rows[0]["outcome"] if rows else None


def _job(row: Mapping[str, Any]) -> ScheduledJob:
    due = parse_iso(row["due_at"])
    assert due is not None
    return ScheduledJob(
        id=int(row["id"]),
        kind=str(row["kind"]),
        due_at=due,
        payload=json.loads(row["payload"] or "{}"),
        attempts=int(row["attempts"] or 0),
    )
