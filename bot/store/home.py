"""Who opened the app's Home tab, and when (the home_viewers table)."""

from __future__ import annotations

from datetime import datetime

from bot.store.db import Database
from bot.util.clock import iso


class HomeViewers:
    def __init__(self, db: Database) -> None:
        self.db = db

    def opened(self, user: str, now: datetime) -> None:
        with self.db.write() as db:
            db.table("home_viewers").insert({"user_id": user, "opened_at": iso(now)}, replace=True)

    def since(self, moment: datetime, limit: int) -> list[str]:
        """The users who opened it at `moment` or later, the most recent first."""
        rows = self.db.rows(
            "SELECT user_id FROM home_viewers WHERE opened_at >= ? "
            "ORDER BY opened_at DESC, user_id LIMIT ?",
            (iso(moment), limit),
        )
        return [str(r["user_id"]) for r in rows]
