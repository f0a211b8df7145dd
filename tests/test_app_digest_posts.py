"""Digest messages on an in-memory store with a recording publisher: one post per channel and
slot (even when asked twice), a refused post given back for the next tick, and every edit
showing the store as it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app.digest_posts import DigestDesk
from bot.app.digests import DigestComposer
from bot.core.routing import Channel, Route
from bot.store import Store
from tests.fakes.estate import store_estate
from tests.support.recording import RecordingPublisher

NOW = datetime(2026, 12, 1, 9, 1, tzinfo=UTC)
SLOT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MAIN = "C0MAIN0001"


def desk(store: Store, publisher: RecordingPublisher, failures: list[str]) -> DigestDesk:
    return DigestDesk(
        store=store,
        composer=DigestComposer(
            store=store, channels=[Channel(MAIN, (Route(MAIN, everything=True),))]
        ),
        publisher=publisher,
        clock=lambda: NOW,
        slot=lambda now: SLOT,
        failed=lambda what, doing, exc: failures.append(what),
        refused=lambda: failures.append("refused"),
    )


def test_the_slot_s_digest_is_posted_once_and_a_refusal_is_retried() -> None:
    store = Store(":memory:")
    store_estate(store, failing=2, now=NOW - timedelta(minutes=30))
    publisher, failures = RecordingPublisher(), []
    digests = desk(store, publisher, failures)
    publisher.fail_next = True
    assert not digests.post_due()
    assert failures == ["post_digest"]
    assert digests.post_due()
    assert not digests.post_due(), "posted once per slot and channel"
    [view] = publisher.views
    assert view.digest.totals.failing == 2
    [message] = store.digests.for_slot(SLOT)
    assert (message.channel, len(message.snapshot)) == (MAIN, 2)


def test_an_edit_shows_the_store_as_it_is_now() -> None:
    store = Store(":memory:")
    keys = store_estate(store, failing=2, now=NOW - timedelta(minutes=30))
    publisher, failures = RecordingPublisher(), []
    digests = desk(store, publisher, failures)
    assert digests.post_due()
    store.acks.acknowledge(
        keys[0], by="U0ALICE01", reason="OPS-1", until=NOW + timedelta(days=1), now=NOW
    )
    assert digests.refresh()
    [(message, edited)] = publisher.updates
    assert message.channel == MAIN
    assert [t.key for t in edited.acknowledged] == [keys[0]]
    assert failures == []
