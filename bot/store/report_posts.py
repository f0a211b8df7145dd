"""Scheduled evidence reports (the report_posts table), one per period and channel: which
process claimed it and where it went, so a restart or a second `serve` never posts one twice.

Claimed as digests are (bot/store/digests.py, whose rule for a claim that still holds is used
here): the first to insert the row posts; a claim never completed (its process died) goes stale
after ten minutes and may be taken over; a failed post gives it back.
"""

from __future__ import annotations

from datetime import datetime

from bot.store.db import Database
from bot.store.digests import held
from bot.util.clock import iso, parse_iso


class ReportPosts:
    def __init__(self, db: Database, holder: str) -> None:
        self.db = db
        self.holder = holder

    def claim(
        self, since: datetime, until: datetime, channel: str, *, slot: datetime, now: datetime
    ) -> bool:
        """True when this process may post `channel`'s report for [since, until)."""
        key = (iso(since), iso(until), channel)
        with self.db.write() as db:
            rows = self.db.rows(
                "SELECT * FROM report_posts WHERE since = ? AND until = ? AND channel = ?", key
            )
            if rows and held(rows[0], now):
                return False
            db.table("report_posts").insert(
                {
                    "since": key[0],
                    "until": key[1],
                    "channel": channel,
                    "slot": iso(slot),
                    "claimed_by": self.holder,
                    "claimed_at": iso(now),
                },
                replace=True,
            )
            return True

    def posted(
        self,
        since: datetime,
        until: datetime,
        channel: str,
        *,
        now: datetime,
        file_id: str,
        sha256: str,
    ) -> None:
        with self.db.write():
            self.db.execute(
                "UPDATE report_posts SET posted_at = ?, file_id = ?, sha256 = ? "
                "WHERE since = ? AND until = ? AND channel = ?",
                (iso(now), file_id, sha256, iso(since), iso(until), channel),
            )

    def failed(self, since: datetime, until: datetime, channel: str) -> None:
        """Give the claim back so the next tick (or another process) tries again."""
        with self.db.write():
            self.db.execute(
                "DELETE FROM report_posts WHERE since = ? AND until = ? AND channel = ? "
                "AND posted_at IS NULL",
                (iso(since), iso(until), channel),
            )

    def posted_at(self, since: datetime, until: datetime, channel: str) -> datetime | None:
        rows = self.db.rows(
            "SELECT posted_at FROM report_posts WHERE since = ? AND until = ? AND channel = ?",
            (iso(since), iso(until), channel),
        )
        return parse_iso(rows[0]["posted_at"]) if rows else None
