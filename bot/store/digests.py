"""Digest messages posted to Slack (the digest_posts table), so a later change edits the
message in place instead of posting a new one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.clock import iso, parse_iso
from bot.models import DigestPost
from bot.store.db import Database


class Digests:
    def __init__(self, db: Database) -> None:
        self.db = db

    def remember(
        self, channel: str, ts: str, *, now: datetime, sweep_id: str | None = None
    ) -> DigestPost:
        with self.db.write() as db:
            db.table("digest_posts").insert(
                {"channel": channel, "ts": ts, "posted_at": iso(now), "sweep_id": sweep_id},
                replace=True,
            )
        return DigestPost(channel, ts, now, sweep_id)

    def get(self, channel: str, ts: str) -> DigestPost | None:
        rows = self.db.rows(
            "SELECT * FROM digest_posts WHERE channel = ? AND ts = ?", (channel, ts)
        )
        return _digest_post(rows[0]) if rows else None

    def latest(self, channel: str | None = None) -> DigestPost | None:
        """The most recently posted digest (in `channel`, when given)."""
        rows = self.db.rows(
            "SELECT * FROM digest_posts WHERE ? IS NULL OR channel = ? ORDER BY id DESC LIMIT 1",
            (channel, channel),
        )
        return _digest_post(rows[0]) if rows else None


def _digest_post(row: Mapping[str, Any]) -> DigestPost:
    return DigestPost(
        channel=row["channel"],
        ts=row["ts"],
        posted_at=parse_iso(row["posted_at"]),  # type: ignore[arg-type]
        sweep_id=row["sweep_id"],
    )
