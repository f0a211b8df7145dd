"""Schedule arithmetic never hangs and never goes backwards, including the repeated hour of a
daylight-saving fall-back, where APScheduler 3 alone answers with times already past."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.core.health import sweep_period
from bot.core.slots import cron_trigger, latest_fire, next_fire, period

FALL_BACK = {
    # zone: the UTC hour at which the repeated local hour begins on its fall-back night
    "Europe/Berlin": datetime(2026, 10, 25, 1, tzinfo=UTC),
    "America/New_York": datetime(2026, 11, 1, 6, tzinfo=UTC),
}
SCHEDULES = ("0 * * * *", "*/15 * * * *", "30 1 * * *", "30 2 * * *", "0 9 * * *", "0 9 * * 1-5")


def within(seconds: float, work: Callable[[], Any]) -> Any:
    """Run `work` on a thread; fail the test (instead of hanging it) if it does not return."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "schedule arithmetic did not return"
    return result[0]


@pytest.mark.parametrize("zone", sorted(FALL_BACK))
@pytest.mark.parametrize("expression", SCHEDULES)
def test_every_moment_of_the_fall_back_night_has_answers(zone: str, expression: str) -> None:
    trigger = cron_trigger(expression, ZoneInfo(zone))
    start = FALL_BACK[zone] - timedelta(hours=3)
    for step in range(0, 8 * 60, 10):  # every ten minutes, three hours either side
        now = start + timedelta(minutes=step)
        upcoming = within(5, lambda now=now: next_fire(trigger, now))
        assert upcoming is not None
        assert upcoming > now
        slot = within(5, lambda now=now: latest_fire(trigger, now))
        assert slot is not None
        assert slot <= now
        assert within(5, lambda now=now: period(trigger, now)) > timedelta(0)


def test_health_around_the_repeated_hour_in_berlin() -> None:
    """The default sweep schedule, asked at the second 02:30 of the night. (APScheduler counts
    02:00 once that night, so the gap it sees around it is up to two hours: health allows 4.)"""
    now = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    gap = within(5, lambda: sweep_period("0 * * * *", "Europe/Berlin", now))
    assert timedelta(hours=1) <= gap <= timedelta(hours=2)
    trigger = cron_trigger("0 * * * *", ZoneInfo("Europe/Berlin"))
    assert latest_fire(trigger, now) == datetime(2026, 10, 25, 1, tzinfo=UTC)
    assert next_fire(trigger, now) == datetime(2026, 10, 25, 2, tzinfo=UTC)


def test_ordinary_days_are_exact() -> None:
    trigger = cron_trigger("0 9 * * 1-5", ZoneInfo("Europe/Berlin"))
    monday_early = datetime(2026, 11, 30, 6, tzinfo=UTC)
    assert latest_fire(trigger, monday_early) == datetime(2026, 11, 27, 8, tzinfo=UTC)  # Friday
    assert next_fire(trigger, monday_early) == datetime(2026, 11, 30, 8, tzinfo=UTC)
    assert period(trigger, monday_early) == timedelta(days=3)
    leap = cron_trigger("0 0 29 2 *", ZoneInfo("UTC"))
    assert latest_fire(leap, monday_early) == datetime(2024, 2, 29, tzinfo=UTC)


def test_day_of_month_and_weekday_both_set_mean_either_as_in_crontab() -> None:
    """crontab(5): '0 9 1 * 1' runs on the 1st of each month and on every Monday."""
    trigger = cron_trigger("0 9 1 * 1", ZoneInfo("UTC"))
    fires = []
    moment = datetime(2026, 11, 28, tzinfo=UTC)  # a Saturday
    for _ in range(4):
        moment = next_fire(trigger, moment)
        assert moment is not None
        fires.append(moment.date().isoformat())
    assert fires == ["2026-11-30", "2026-12-01", "2026-12-07", "2026-12-14"]
