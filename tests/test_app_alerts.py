"""Alerts on an in-memory store with a recording publisher: one per failing streak and channel,
never for an acknowledged failure, and edited to say resolved when the streak ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app.alerts import AlertDesk
from bot.app.digests import DigestComposer
from bot.core.routing import Channel, Route
from bot.store import Store
from tests.fakes.estate import store_estate
from tests.support.recording import RecordingPublisher

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MAIN = "C0MAIN0001"


def test_a_new_streak_is_told_once_and_its_alert_resolved_when_it_ends() -> None:
    store = Store(":memory:")
    store_estate(store, failing=0, healthy=3, now=START)  # watching, nothing failing
    later = START + timedelta(hours=3)  # the new streaks begin after watching began
    keys = store_estate(store, failing=2, healthy=1, now=later)
    store.acks.acknowledge(
        keys[1], by="U0ALICE01", reason="OPS-1", until=later + timedelta(days=1), now=later
    )
    publisher, failures = RecordingPublisher(), []
    clock = [later]
    alerts = AlertDesk(
        store=store,
        book=DigestComposer(store=store, channels=[Channel(MAIN, (Route(MAIN, everything=True),))]),
        publisher=publisher,
        clock=lambda: clock[0],
        failed=lambda what, doing, exc: failures.append(what),
        count=lambda n: None,
    )
    assert alerts.new_failures() == 1
    assert alerts.new_failures() == 0, "one alert a streak and channel"
    assert [t.key for t in publisher.alerts] == [keys[0]]  # never the acknowledged one

    clock[0] = later + timedelta(hours=1)
    store_estate(store, failing=0, healthy=3, now=clock[0])  # all compliant again
    assert alerts.resolve() >= 1
    [(message, states, _)] = publisher.alert_updates
    assert message.channel == MAIN
    assert all(s.resolved_at is not None for s in states if s.key == keys[0])
    assert failures == []
