"""The one digest composer on an in-memory store: each channel gets its routes' associations
and its escalations from one reading of the store, the whole estate gets SSM3_CHANNEL's view,
and the view holds what every renderer shows (trend, escalations named, re-runs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app.digests import DigestComposer
from bot.core.digest import ESCALATED_NAMED
from bot.core.routing import Channel, Route
from bot.store import Store
from tests.fakes.estate import store_estate

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MAIN, TEAM = "C0MAIN0001", "C0TEAM0001"
CHANNELS = [
    Channel(MAIN, (Route(channel=MAIN, everything=True),)),
    Channel(
        TEAM, (Route(channel=TEAM, accounts=frozenset({"222222222222"}), mention="S0TEAM001"),)
    ),
]


@pytest.fixture
def memory() -> Store:
    store = Store(":memory:")
    store_estate(store, failing=7, now=NOW - timedelta(days=10))  # old: past 7 days
    store_estate(store, failing=2, now=NOW - timedelta(hours=1), account_id="222222222222")
    return store


def composer(store: Store, **kwargs: object) -> DigestComposer:
    return DigestComposer(
        store=store,
        channels=CHANNELS,
        escalate_after=timedelta(days=7),
        **kwargs,  # type: ignore[arg-type]
    )


def test_each_channel_is_cut_from_one_reading(
    memory: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[bool] = []
    tracked = memory.associations.tracked
    monkeypatch.setattr(
        memory.associations, "tracked", lambda **kw: reads.append(True) or tracked(**kw)
    )
    books = composer(memory)
    reading = books.read(NOW)
    main, team = (books.for_channel(reading, c.id) for c in CHANNELS)
    assert len(reads) == 1, "both channels from one read of the failing associations"
    assert main.digest.totals.failing == 9
    assert {t.key.account_id for t in team.digest.failing} == {"222222222222"}


def test_escalations_name_the_oldest_and_the_route_s_mention(memory: Store) -> None:
    books = composer(memory)
    reading = books.read(NOW)
    main = books.for_channel(reading, MAIN)
    team = books.for_channel(reading, TEAM)
    assert len(main.digest.escalated) == 7
    assert len(main.escalated_named) == ESCALATED_NAMED
    assert main.escalated_more == 7 - ESCALATED_NAMED
    assert team.digest.escalated == ()  # the team's failures are an hour old


def test_the_whole_estate_is_ssm3_channel_s_view_in_the_zone_with_recent_reruns(
    memory: Store,
) -> None:
    item = memory.associations.tracked(failing_only=True, now=NOW)[0]
    memory.reruns.claim(item.key, by="U0OPS0001", now=NOW - timedelta(minutes=5), cooldown_s=60)
    zone = ZoneInfo("Pacific/Kiritimati")
    books = composer(memory, zone=zone)
    view = books.whole(NOW, reruns_since=NOW - timedelta(days=1))
    assert view.zone == zone
    assert len(view.digest.escalated) == 7
    assert set(view.reruns) == {item.key}
    assert books.whole(NOW).reruns == {}  # a post shows no re-runs until they happen
    assert view.trend is not None  # two days with a sweep: a trend to show
    assert view.trend.known == 2
