"""Who sees the Home tab, on an in-memory store: whoever opened it within a week, newest first,
and nobody without a user ID."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app.home import RECENT, HomeAudience
from bot.store import Store

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_the_recent_openers_are_kept_current() -> None:
    store = Store(":memory:")
    clock = [NOW - RECENT - timedelta(hours=1)]
    audience = HomeAudience(store=store, clock=lambda: clock[0])
    audience.opened("U0STALE01")
    clock[0] = NOW - timedelta(hours=2)
    audience.opened("U0ALICE01")
    clock[0] = NOW
    audience.opened("U0BOB0001")
    audience.opened("")
    assert audience.recent() == ["U0BOB0001", "U0ALICE01"]
