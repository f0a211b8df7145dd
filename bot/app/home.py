"""Who sees the Home tab: a person who opens it is remembered, and after each sweep the tabs
of those who opened it lately are published again, so the dashboard they return to is current
(Slack keeps a published view until the app publishes another)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.store import Store

RECENT = timedelta(days=7)  # an opener's tab is kept current this long
MOST = 50  # tabs republished after one sweep (views.publish is Tier 4: 100+ a minute)


class HomeAudience:
    def __init__(self, *, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def opened(self, user: str) -> None:
        if user:
            self.store.home_viewers.opened(user, self.clock())

    def recent(self) -> list[str]:
        """Whose tabs to publish again: who opened it within RECENT, at most MOST."""
        return self.store.home_viewers.since(self.clock() - RECENT, MOST)
