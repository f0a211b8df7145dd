"""Small answers worth keeping for a while (the organisation's account list)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from bot.store.db import Database
from bot.util.clock import iso, parse_iso


class Cache:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, name: str, *, max_age: timedelta, now: datetime) -> Any:
        """A value stored by `put` no longer ago than `max_age`, else None."""
        rows = self.db.rows("SELECT value, stored_at FROM cache WHERE name = ?", (name,))
        stored = parse_iso(rows[0]["stored_at"]) if rows else None
        if stored is None or not timedelta(0) <= now - stored <= max_age:
            return None
        return json.loads(rows[0]["value"])

    def put(self, name: str, value: Any, *, now: datetime) -> None:
        with self.db.write() as db:
            db.table("cache").insert(
                {"name": name, "value": json.dumps(value), "stored_at": iso(now)}, replace=True
            )
