"""`ssm3bot health`: the sweep period from the cron schedule, the verdict, and the command as
Docker's HEALTHCHECK runs it (the real console script, exit 0 or 1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.crontab import cron_trigger, crontab_weekdays
from bot.core.health import assess, sweep_period
from bot.models import Scope, ScopeResult, SweepSummary
from bot.store import Store
from bot.util.clock import utcnow
from tests.support.processes import ssm3bot

BERLIN = ZoneInfo("Europe/Berlin")


def _at(text: str, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


# -- the schedule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("*", "*"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("6,0", "sat,sun"),
        ("*/2", "sun,tue,thu,sat"),
        ("1-5/2", "mon,wed,fri"),
        ("mon-fri", "mon-fri"),
    ],
)
def test_crontab_weekday_numbers_mean_what_crontab_means(field: str, expected: str) -> None:
    assert crontab_weekdays(field) == expected


def test_weekdays_one_to_five_fire_monday_to_friday() -> None:
    # APScheduler 3's own from_crontab would fire this Tuesday to Saturday.
    trigger = cron_trigger("0 9 * * 1-5", "UTC")
    moment = trigger.get_next_fire_time(None, datetime(2026, 11, 22, tzinfo=UTC))  # a Sunday
    days = []
    for _ in range(6):
        days.append(f"{moment:%a}")
        moment = trigger.get_next_fire_time(moment, moment)
    assert days == ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon"]


@pytest.mark.parametrize("weekday", ["8", "5-1", "1/0"])
def test_an_impossible_weekday_is_refused(weekday: str) -> None:
    with pytest.raises(ValueError, match="weekday"):
        cron_trigger(f"0 9 * * {weekday}", "UTC")


@pytest.mark.parametrize(
    ("schedule", "now", "period"),
    [
        ("0 * * * *", "2026-11-28 10:30", timedelta(hours=1)),
        ("*/15 * * * *", "2026-11-28 10:31", timedelta(minutes=15)),
        ("0 9 * * *", "2026-11-28 08:00", timedelta(days=1)),
        # Weekdays only: Monday just after nine still allows for the quiet weekend before it,
        ("0 9 * * 1-5", "2026-11-30 09:00:30", timedelta(days=3)),
        # ... on Saturday the next sweep is Monday's,
        ("0 9 * * 1-5", "2026-11-28 12:00", timedelta(days=3)),
        # ... and by Wednesday a day is a day.
        ("0 9 * * 1-5", "2026-12-02 10:00", timedelta(days=1)),
        # The spring-forward day is 23 hours long; the gap after it is a full day.
        ("0 9 * * *", "2026-03-29 10:00", timedelta(days=1)),
        ("0 9 * * *", "2026-03-29 08:00", timedelta(days=1)),
        # October 1st to November 1st is 31 days and the hour summer time gave back.
        ("0 0 1 * *", "2026-11-15 00:00", timedelta(days=31, hours=1)),
    ],
)
def test_sweep_period_around_now(schedule: str, now: str, period: timedelta) -> None:
    assert sweep_period(schedule, "Europe/Berlin", _at(now)) == period


# -- the verdict ----------------------------------------------------------------------------------


NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _summary(finished_ago: timedelta | None, scopes: int = 4, failed: int = 0) -> SweepSummary:
    finished = NOW - finished_ago if finished_ago is not None else None
    started = (finished or NOW) - timedelta(seconds=20)
    return SweepSummary("s1", started, finished, scopes=scopes, scopes_failed=failed)


def test_never_swept_is_unhealthy_and_says_so() -> None:
    report = assess(last_sweep=None, period=HOUR, now=NOW, where="/data/ssm3.db")
    assert not report.healthy
    assert report.lines == (
        "unhealthy: no sweep has finished yet in /data/ssm3.db; sweeps are due every 1h, "
        "so up to 2h is healthy",
    )


@pytest.mark.parametrize(
    ("age", "healthy"),
    [
        (timedelta(minutes=5), True),
        (timedelta(minutes=119), True),
        (2 * HOUR, True),
        (2 * HOUR + timedelta(seconds=1), False),
        (timedelta(days=3), False),
    ],
)
def test_the_last_finished_sweep_may_be_two_periods_old(age: timedelta, healthy: bool) -> None:
    report = assess(last_sweep=_summary(age), period=HOUR, now=NOW)
    assert report.healthy is healthy
    assert report.lines[0].startswith("healthy:" if healthy else "unhealthy:")
    assert report.last_sweep_at == NOW - age
    assert report.max_age == 2 * HOUR


def test_a_recent_sweep_that_reached_nothing_is_unhealthy() -> None:
    """A bot that can read no account-region shows nothing about compliance: not healthy."""
    report = assess(last_sweep=_summary(timedelta(minutes=5), failed=4), period=HOUR, now=NOW)
    assert not report.healthy
    assert report.lines == (
        "unhealthy: the last sweep finished 5m ago (2026-11-28T11:55:00Z) but reached none of "
        "its 4 account-regions (run `ssm3bot sweep` to see why)",
    )
    stale = assess(last_sweep=_summary(timedelta(hours=3), failed=4), period=HOUR, now=NOW)
    assert not stale.healthy
    assert stale.lines[0].startswith("unhealthy: the last sweep finished 3h ago")
    assert "reached none of its 4 account-regions" in stale.lines[1]


def test_a_sweep_that_reached_some_account_regions_is_healthy_with_a_note() -> None:
    report = assess(last_sweep=_summary(timedelta(minutes=5), failed=3), period=HOUR, now=NOW)
    assert report.healthy
    assert report.lines[1] == "note: 3 of 4 account-regions were not swept"


def test_the_last_digest_is_reported_when_known() -> None:
    report = assess(
        last_sweep=_summary(timedelta(minutes=5)),
        period=HOUR,
        now=NOW,
        last_digest_at=NOW - timedelta(hours=3),
    )
    assert report.lines[-1] == "last digest: 3h ago (2026-11-28T09:00:00Z)"


# -- the command ----------------------------------------------------------------------------------


def _finished_sweep(store: Store, sweep_id: str, finished: datetime) -> None:
    store.sweeps.begin(sweep_id, finished - timedelta(seconds=30), 1, "test")
    scope = Scope("111111111111", "eu-west-1")
    store.associations.save_scope(
        sweep_id, ScopeResult(scope, True, None, (), finished, 1.0, 1), finished
    )
    store.sweeps.finish(sweep_id, finished)


def test_health_command_passes_after_a_recent_sweep_and_fails_on_a_stale_one(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ssm3.db"
    store = Store(db)
    _finished_sweep(store, "old", utcnow() - timedelta(hours=3))
    env = {"SSM3_DB_PATH": str(db)}

    stale = ssm3bot(["health"], env, tmp_path)
    assert stale.returncode == 1
    assert stale.stdout.startswith("unhealthy: the last sweep finished 3h ago")

    _finished_sweep(store, "recent", utcnow() - timedelta(minutes=10))
    fresh = ssm3bot(["health"], env, tmp_path)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert fresh.stdout.startswith("healthy: the last sweep finished 10m ago")
    assert fresh.stderr == ""

    # A daily schedule gives the same three-hour-old sweep two days of grace.
    daily = ssm3bot(["health"], {**env, "SSM3_SWEEP_SCHEDULE": "0 6 * * *"}, tmp_path)
    assert daily.returncode == 0
    assert "due every 1d, so up to 2d is healthy" in daily.stdout


def test_a_sweep_that_never_finished_does_not_count(tmp_path: Path) -> None:
    db = tmp_path / "ssm3.db"
    store = Store(db)
    _finished_sweep(store, "old", utcnow() - timedelta(hours=5))
    store.sweeps.begin("killed", utcnow() - timedelta(minutes=1), 4, "schedule")  # never finished
    result = ssm3bot(["health"], {"SSM3_DB_PATH": str(db)}, tmp_path)
    assert result.returncode == 1
    assert "finished 5h ago" in result.stdout


def test_health_without_a_database_is_unhealthy_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "missing.db"
    result = ssm3bot(["health"], {"SSM3_DB_PATH": str(db)}, tmp_path)
    assert result.returncode == 1
    assert result.stdout == (
        f"unhealthy: no sweep has finished yet in {db} (no such file yet); "
        "sweeps are due every 1h, so up to 2h is healthy\n"
    )
    assert not db.exists()


def test_health_with_a_bad_schedule_is_a_configuration_error(tmp_path: Path) -> None:
    result = ssm3bot(["health"], {"SSM3_SWEEP_SCHEDULE": "0 9 * * 9"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("ssm3bot: SSM3_SWEEP_SCHEDULE:")
    assert len(result.stderr.splitlines()) == 1
