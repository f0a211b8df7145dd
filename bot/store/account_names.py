"""Account names as Organizations lists them, kept so every surface can show a name people
know beside a 12-digit account ID (and keeps showing it while the account list is cached)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.store.db import Database
from bot.util.clock import iso


class AccountNames:
    def __init__(self, db: Database) -> None:
        self.db = db

    def remember(self, names: Mapping[str, str | None], *, now: datetime) -> None:
        """Store the names just listed; an account listed without a name loses its old one."""
        rows = [
            {"account_id": account_id, "name": name, "seen_at": iso(now)}
            for account_id, name in names.items()
        ]
        with self.db.write():
            self.db.insert_many("account_names", [r for r in rows if r["name"]])
            for row in rows:
                if not row["name"]:
                    self.db.execute(
                        "DELETE FROM account_names WHERE account_id = ?", (row["account_id"],)
                    )

    def names(self) -> dict[str, str]:
        """Every known account name, by account ID."""
        rows = self.db.rows("SELECT account_id, name FROM account_names WHERE name IS NOT NULL")
        return {row["account_id"]: row["name"] for row in rows}
