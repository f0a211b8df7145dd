"""The 14-day trend: a sparkline (pure), each day's figure from its last whole sweep, and the
digest and Home tab that show it, read from stored sweeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app.digests import build_digest
from bot.core.digest import DigestView
from bot.core.trend import GAP, change, daily, since, sparkline
from bot.models import SweepSummary
from bot.render.text import render_digest
from bot.slack import blocks as kit
from bot.store import Store
from tests.fakes.estate import store_estate

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ([], ""),
        ([0, 0, 0], "▁▁▁"),
        ([0, 1, 8], "▁▂█"),
        ([1, 100], "▂█"),  # any failure shows above zero
        ([4, None, 8, 2], f"▅{GAP}█▃"),
        ([None, None], GAP * 2),
        ([7, 7, 7], "███"),
    ],
)
def test_sparkline(values: list[int | None], line: str) -> None:
    assert sparkline(values) == line


def test_change_needs_two_known_days() -> None:
    assert change([None, 3]) is None
    assert change([5, None, 3, None]) == (5, 3)


def sweep(at: datetime, *, scopes: int, failing: int, instances: int) -> SweepSummary:
    return SweepSummary(
        sweep_id=f"s{at:%d%H%M}",
        started_at=at - timedelta(minutes=1),
        finished_at=at,
        scopes=scopes,
        failing=failing,
        noncompliant_instances=instances,
    )


def test_a_day_is_its_last_whole_sweep_in_the_zone() -> None:
    zone = ZoneInfo("America/New_York")
    sweeps = [
        sweep(NOW - timedelta(days=20), scopes=4, failing=99, instances=99),  # too old
        sweep(NOW - timedelta(days=2, hours=3), scopes=4, failing=6, instances=10),
        sweep(NOW - timedelta(days=2, hours=2), scopes=4, failing=5, instances=9),  # last whole
        sweep(NOW - timedelta(days=2, hours=1), scopes=1, failing=1, instances=1),  # one scope
        sweep(NOW - timedelta(hours=1), scopes=4, failing=3, instances=4),
        sweep(NOW + timedelta(hours=1), scopes=4, failing=0, instances=0),  # after `now`
    ]
    trend = daily(sweeps, now=NOW, zone=zone)
    assert len(trend.days) == 14
    assert trend.days[-1] == NOW.astimezone(zone).date()  # 04:00 there: still the 28th
    assert trend.failing[-3:] == (5, None, 3)
    assert trend.noncompliant[-3:] == (9, None, 4)
    assert trend.failing[:-3] == (None,) * 11
    assert trend.known == 2
    assert since(NOW, zone) == datetime(2026, 11, 15, tzinfo=zone)


def test_the_digest_and_home_tab_show_the_trend_from_stored_sweeps(store: Store) -> None:
    for days_ago, failing in ((3, 8), (2, 6), (0, 2)):
        store_estate(store, failing=failing, now=NOW - timedelta(days=days_ago))
    digest = build_digest(store, NOW)
    assert digest.trend is not None
    assert digest.trend.failing[-4:] == (8, 6, None, 2)
    assert digest.trend.noncompliant[-4:] == (16, 12, None, 4)
    header = kit.digest_message(DigestView(digest)).blocks_json()[1]["text"]["text"]
    assert f"Last 14 days: failing `{GAP * 10}█▇{GAP}▃` 8 → *2*" in header
    assert f"instances non-compliant `{GAP * 10}█▇{GAP}▃` 16 → *4*" in header
    home = kit.home_view(DigestView(digest), health=None)
    assert header in [b.get("text", {}).get("text") for b in home["blocks"]]
    assert "Last 14 days: failing ··········█▇·▃ 8 -> 2" in render_digest(DigestView(digest))
