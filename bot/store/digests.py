"""Digest messages (the digest_messages table), one per (slot, channel): which process claimed
a scheduled digest, where it was posted and what it reported, so a restart or a second `serve`
never posts it twice, later changes edit it in place, and the next digest says what changed.

A claim is made by inserting the row and only the claimant posts; a claim that was never
completed (the claimant died) goes stale and may be taken over.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.models import DigestMessage, SnapshotItem
from bot.store.db import Database
from bot.util.clock import iso, parse_iso

STALE_CLAIM = timedelta(minutes=10)
MANUAL = "manual"


class Digests:
    def __init__(self, db: Database, holder: str) -> None:
        self.db = db
        self.holder = holder

    # -- scheduled digests ----------------------------------------------------------------------
    def claim(self, slot: datetime, channel: str, kind: str, now: datetime) -> bool:
        """True when this process may post `channel`'s digest for `slot` (the first claim, or a
        stale one)."""
        with self.db.write() as db:
            rows = self.db.rows(
                "SELECT * FROM digest_messages WHERE slot = ? AND channel = ?", (iso(slot), channel)
            )
            if rows and held(rows[0], now):
                return False
            db.table("digest_messages").insert(
                {
                    "slot": iso(slot),
                    "channel": channel,
                    "kind": kind,
                    "claimed_by": self.holder,
                    "claimed_at": iso(now),
                },
                replace=True,
            )
            return True

    def posted(
        self,
        slot: datetime,
        channel: str,
        *,
        ts: str,
        now: datetime,
        sweep_id: str | None,
        snapshot: Sequence[SnapshotItem],
    ) -> DigestMessage:
        with self.db.write() as db:
            db.table("digest_messages").update(
                (str(iso(slot)), channel),
                {
                    "posted_at": iso(now),
                    "ts": ts,
                    "sweep_id": sweep_id,
                    "snapshot": json.dumps([item.to_json() for item in snapshot]),
                },
            )
        found = self.get(channel, ts)
        assert found is not None
        return found

    def failed(self, slot: datetime, channel: str) -> None:
        """Give the claim back so the next tick (or another process) can try again."""
        with self.db.write() as db:
            db.execute(
                "DELETE FROM digest_messages WHERE slot = ? AND channel = ? AND posted_at IS NULL",
                [iso(slot), channel],
            )

    # -- posted by hand -------------------------------------------------------------------------
    def remember_manual(
        self,
        channel: str,
        ts: str,
        *,
        now: datetime,
        sweep_id: str | None,
        snapshot: Sequence[SnapshotItem] = (),
    ) -> DigestMessage:
        """A digest posted outside the schedule (`sweep --post`): edited in place like the rest,
        compared with nothing, and never the "previous digest" of a scheduled one."""
        with self.db.write() as db:
            db.table("digest_messages").insert(
                {
                    "slot": iso(now),
                    "channel": channel,
                    "kind": MANUAL,
                    "claimed_by": self.holder,
                    "claimed_at": iso(now),
                    "posted_at": iso(now),
                    "ts": ts,
                    "sweep_id": sweep_id,
                    "snapshot": json.dumps([item.to_json() for item in snapshot]),
                },
                replace=True,
            )
        found = self.get(channel, ts)
        assert found is not None
        return found

    # -- reading --------------------------------------------------------------------------------
    def get(self, channel: str, ts: str) -> DigestMessage | None:
        """The digest that Slack message is, if it is one."""
        rows = self.db.rows(
            "SELECT * FROM digest_messages WHERE channel = ? AND ts = ?", (channel, ts)
        )
        return _message(rows[0]) if rows else None

    def latest(self, channel: str | None = None) -> DigestMessage | None:
        """The most recently posted digest (in `channel`, when given), scheduled or by hand."""
        rows = self.db.rows(
            "SELECT * FROM digest_messages WHERE posted_at IS NOT NULL "
            "AND (? IS NULL OR channel = ?) ORDER BY posted_at DESC, slot DESC LIMIT 1",
            (channel, channel),
        )
        return _message(rows[0]) if rows else None

    def last_scheduled(self, channel: str | None = None) -> DigestMessage | None:
        """The most recent scheduled digest actually posted (in `channel`, when given)."""
        rows = self.db.rows(
            "SELECT * FROM digest_messages WHERE posted_at IS NOT NULL AND kind != ? "
            "AND (? IS NULL OR channel = ?) ORDER BY slot DESC LIMIT 1",
            (MANUAL, channel, channel),
        )
        return _message(rows[0]) if rows else None

    def previous(self, channel: str, before: datetime) -> DigestMessage | None:
        """`channel`'s posted scheduled digest before slot `before` (what it compares with)."""
        rows = self.db.rows(
            "SELECT * FROM digest_messages WHERE posted_at IS NOT NULL AND kind != ? "
            "AND channel = ? AND slot < ? ORDER BY slot DESC LIMIT 1",
            (MANUAL, channel, iso(before)),
        )
        return _message(rows[0]) if rows else None

    def for_slot(self, slot: datetime) -> list[DigestMessage]:
        """Every channel's posted digest for a scheduled slot."""
        rows = self.db.rows(
            "SELECT * FROM digest_messages WHERE slot = ? AND kind != ? AND posted_at IS NOT NULL "
            "ORDER BY channel",
            (iso(slot), MANUAL),
        )
        return [_message(row) for row in rows]


def held(row: Mapping[str, Any], now: datetime) -> bool:
    """Whether a claim row still holds: posted, or claimed too recently to be a dead process's
    (scheduled reports are claimed the same way: bot/store/report_posts.py)."""
    claimed_at = parse_iso(row["claimed_at"])
    return row["posted_at"] is not None or claimed_at is None or now - claimed_at <= STALE_CLAIM


def _message(row: Mapping[str, Any]) -> DigestMessage:
    slot = parse_iso(row["slot"])
    assert slot is not None
    return DigestMessage(
        slot=slot,
        channel=row["channel"],
        kind=row["kind"],
        posted_at=parse_iso(row["posted_at"]),
        ts=row["ts"],
        sweep_id=row["sweep_id"],
        snapshot=tuple(
            SnapshotItem.from_json(item) for item in json.loads(row["snapshot"] or "[]")
        ),
    )
