"""Runs started from Slack, re-runs and fixes: the cooldown between re-runs, and the outcome the
confirm-COMPLIANT watch found."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlite_utils import Database as SqliteDatabase

from bot.core import streaks
from bot.models import AssociationKey, Rerun
from bot.store.db import Database
from bot.util.clock import iso, parse_iso


class Reruns:
    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(
        self,
        key: AssociationKey,
        *,
        by: str,
        now: datetime,
        cooldown_s: int,
        channel: str | None = None,
    ) -> tuple[Rerun, bool]:
        """Record a re-run unless one started within the cooldown: (rerun, True) when recorded,
        (the earlier one, False) when not. One transaction, so two clicks cannot both win."""
        with self.db.write() as db:
            last = self.last(key)
            if last is not None and streaks.cooling_down(
                last.at, last.outcome == "failed", now, cooldown_s
            ):
                return last, False
            rerun_id = _insert(db, key, by=by, now=now, channel=channel)
        return Rerun(rerun_id, key, by, now, channel), True

    def record_fix(
        self, key: AssociationKey, *, by: str, now: datetime, detail: str, channel: str | None
    ) -> Rerun:
        """A fix's run (no cooldown: a fix is not a second re-run; a re-run right after it is
        held by the cooldown like one after a re-run)."""
        with self.db.write() as db:
            rerun_id = _insert(db, key, by=by, now=now, channel=channel, kind="fix", detail=detail)
        return Rerun(rerun_id, key, by, now, channel, kind="fix", detail=detail)

    def last(self, key: AssociationKey) -> Rerun | None:
        rows = self.db.rows(
            "SELECT * FROM reruns WHERE account_id = ? AND region = ? AND association_id = ? "
            "ORDER BY id DESC LIMIT 1",
            (key.account_id, key.region, key.association_id),
        )
        return _rerun(rows[0]) if rows else None

    def get(self, rerun_id: int) -> Rerun | None:
        rows = self.db.rows("SELECT * FROM reruns WHERE id = ?", (rerun_id,))
        return _rerun(rows[0]) if rows else None

    def started_since(self, since: datetime) -> dict[AssociationKey, Rerun]:
        """The latest re-run of each association started at or after `since`."""
        rows = self.db.rows("SELECT * FROM reruns WHERE at >= ? ORDER BY id", (iso(since),))
        return {r.key: r for r in map(_rerun, rows)}

    def finish(self, rerun_id: int, *, outcome: str, now: datetime) -> None:
        with self.db.write() as db:
            db.table("reruns").update(rerun_id, {"outcome": outcome, "checked_at": iso(now)})


def _rerun(row: Mapping[str, Any]) -> Rerun:
    return Rerun(
        id=row["id"],
        key=AssociationKey(row["account_id"], row["region"], row["association_id"]),
        by=row["by"],
        at=parse_iso(row["at"]),  # type: ignore[arg-type]
        channel=row["channel"],
        outcome=row["outcome"],
        checked_at=parse_iso(row["checked_at"]),
        kind=row.get("kind") or "rerun",
        detail=row.get("detail"),
    )


def _insert(
    db: SqliteDatabase,
    key: AssociationKey,
    *,
    by: str,
    now: datetime,
    channel: str | None,
    **kind: str,
) -> int:
    """One reruns row (a re-run, or with kind="fix" and its detail a fix's run); its ID."""
    table = db.table("reruns")
    table.insert(
        {
            "account_id": key.account_id,
            "region": key.region,
            "association_id": key.association_id,
            "by": by,
            "at": iso(now),
            "channel": channel,
            **kind,
        }
    )
    return int(table.last_pk or 0)
