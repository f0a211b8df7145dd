"""The report's arithmetic, as plain functions: gaps and what explains them, percentiles, which
re-runs and fixes were taken and the outcome each got, the periods, the chart's axis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.slots import cron_trigger
from bot.models import AssociationKey, AuditEntry, Scope
from bot.models.evidence import FLEET, Read
from bot.report.chart import axis_top
from bot.report.figures import actions_taken, checked_outcome, coverage_of, gaps_between, stats
from bot.report.period import Period, for_slot, last_full_month, previous

T0 = datetime(2026, 11, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
KEY = AssociationKey("111111111111", "eu-west-1", "8c1f2d3e-1111-4222-8333-444455556666")


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_a_gap_is_longer_than_the_threshold_and_the_period_edges_count() -> None:
    moments = [at(1), at(2), at(6), at(7)]
    assert gaps_between(moments, at(0), at(10), 2 * HOUR) == [(at(2), at(6)), (at(7), at(10))]
    assert gaps_between(moments, at(0), at(9), 2 * HOUR) == [(at(2), at(6))]  # 2 h is no gap
    assert gaps_between([], at(0), at(5), 2 * HOUR) == [(at(0), at(5))]


def test_an_account_regions_gap_inside_the_whole_configurations_is_not_listed_twice() -> None:
    hourly = [at(h) for h in range(24) if not 5 <= h <= 10]  # nothing ran from 05:00 to 10:00
    reads = [Read(FLEET, FLEET, t, True) for t in hourly]
    a, b = Scope("111111111111", "eu-west-1"), Scope("222222222222", "eu-west-1")
    reads += [Read(a.account_id, a.region, t, True) for t in hourly]
    reads += [Read(b.account_id, b.region, t, t < at(3) or t > at(14)) for t in hourly]
    never = Scope("333333333333", "eu-west-1")
    coverage = coverage_of(reads, [never], at(0), at(24), 2 * HOUR)
    assert [(g.account_id, g.start, g.end) for g in coverage.gaps] == [
        (None, at(4), at(11)),
        ("222222222222", at(2), at(15)),  # 13 h, of which 6 outside the fleet's gap
        ("333333333333", at(0), at(24)),
    ]
    assert coverage.never_swept == (never,)
    assert coverage.not_always_swept == (b,)
    assert [(s.scope, s.sweeps, s.ok, s.gaps) for s in coverage.scopes] == [
        (a, 18, 18, 0),
        (b, 18, 12, 1),
        (never, 0, 0, 1),
    ]
    assert coverage.monitored_share == pytest.approx(1 - 7 / 24)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], (0, None, None)),
        ([5], (1, 5, 5)),
        ([10, 20], (2, 15, 20)),
        ([3, 1, 2], (3, 2, 3)),
        (list(range(1, 11)), (10, 6, 9)),  # median 5.5 rounds to 6; p90: the 9th of 10
        (list(range(1, 12)), (11, 6, 10)),  # the 10th of 11 (ceil 9.9)
    ],
)
def test_median_and_nearest_rank_90th_percentile(
    values: list[int], expected: tuple[int, int | None, int | None]
) -> None:
    found = stats(values)
    assert (found.count, found.median_seconds, found.p90_seconds) == expected


def entry(n: int, hours: float, action: str, outcome: str, detail: str | None = None) -> AuditEntry:
    return AuditEntry(
        id=n,
        at=at(hours),
        actor="U0OPS00001",
        action=action,
        outcome=outcome,
        account_id=KEY.account_id,
        region=KEY.region,
        association_id=KEY.association_id,
        detail=detail,
    )


def test_reruns_and_fixes_each_get_the_first_check_that_followed_them() -> None:
    log = [
        entry(1, 1, "rerun", "refused", "cooldown"),  # changed nothing
        entry(2, 2, "rerun", "started"),
        entry(3, 2.1, "rerun_check", "compliant", "re-run by U0OPS00001"),
        entry(4, 3, "fix", "applied", "Operation: latestt → Install"),
        entry(5, 3.5, "rerun_check", "checked", '{"outcome": "still_failing"}'),
        entry(6, 4, "rerun", "started"),
        entry(7, 5, "rerun", "started"),  # the check after it belongs to this one
        entry(8, 5.2, "rerun_check", "checked", "outcome: pending after 2h"),
        entry(9, 6, "fix", "failed", "InvalidAssociationVersion"),
        entry(10, 7, "rerun", "started"),
        entry(11, 30, "rerun_check", "compliant"),  # after the period: not known in it
    ]
    found = actions_taken(reversed(log), until=at(24))
    assert [(a.kind, a.at, a.outcome, a.checked_at) for a in found] == [
        ("rerun", at(2), "compliant", at(2.1)),
        ("fix", at(3), "still_failing", at(3.5)),
        ("rerun", at(4), None, None),
        ("rerun", at(5), "pending", at(5.2)),
        ("rerun", at(7), None, None),
    ]
    assert found[1].detail == "Operation: latestt → Install"


@pytest.mark.parametrize(
    ("outcome", "detail", "expected"),
    [
        ("compliant", None, "compliant"),
        ("done", '{"outcome": "unknown", "errors": 2}', "unknown"),
        ("done", "outcome=still_failing", "still_failing"),
        ("done", "outcome: exploded", None),
        ("done", "[1, 2]", None),
        ("done", None, None),
    ],
)
def test_a_checks_outcome_is_read_from_its_outcome_or_its_detail(
    outcome: str, detail: str | None, expected: str | None
) -> None:
    assert checked_outcome(entry(1, 1, "rerun_check", outcome, detail)) == expected


BERLIN = ZoneInfo("Europe/Berlin")
SYDNEY = ZoneInfo("Australia/Sydney")


def midnight(year: int, month: int, day: int, zone: ZoneInfo) -> datetime:
    return datetime(year, month, day, tzinfo=zone).astimezone(UTC)


def test_the_default_period_is_the_last_full_calendar_month_in_the_zone() -> None:
    # 1 January 2027, 00:30 in Sydney is still 31 December in UTC.
    now = datetime(2026, 12, 31, 13, 30, tzinfo=UTC)
    assert last_full_month(now, SYDNEY) == Period(
        midnight(2026, 12, 1, SYDNEY), midnight(2027, 1, 1, SYDNEY)
    )
    assert last_full_month(now, ZoneInfo("UTC")) == Period(
        midnight(2026, 11, 1, UTC),
        midnight(2026, 12, 1, UTC),  # type: ignore[arg-type]
    )
    october = last_full_month(datetime(2026, 11, 15, tzinfo=UTC), BERLIN)
    assert october.length == timedelta(days=31, hours=1)  # summer time ends on the 25th


def test_the_previous_period_is_as_many_months_before_or_as_long_before() -> None:
    quarter = Period(midnight(2026, 7, 1, BERLIN), midnight(2026, 10, 1, BERLIN))
    assert previous(quarter, BERLIN) == Period(midnight(2026, 4, 1, BERLIN), quarter.since)
    week = Period(at(0), at(7 * 24))
    assert previous(week, BERLIN) == Period(at(-7 * 24), at(0))


@pytest.mark.parametrize(
    ("schedule", "slot", "expected"),
    [
        # The default: on the 1st, the month before.
        (
            "0 9 1 * *",
            datetime(2026, 12, 1, 9, tzinfo=BERLIN),
            (midnight(2026, 11, 1, BERLIN), midnight(2026, 12, 1, BERLIN)),
        ),
        # Weekly on Monday: the seven days before.
        (
            "30 8 * * 1",
            datetime(2026, 11, 30, 8, 30, tzinfo=BERLIN),
            (midnight(2026, 11, 23, BERLIN), midnight(2026, 11, 30, BERLIN)),
        ),
        # Every six hours: the time since the last.
        (
            "0 */6 * * *",
            datetime(2026, 11, 30, 12, tzinfo=BERLIN),
            (datetime(2026, 11, 30, 6, tzinfo=BERLIN), datetime(2026, 11, 30, 12, tzinfo=BERLIN)),
        ),
    ],
)
def test_a_scheduled_slot_reports_the_days_since_the_previous_slot(
    schedule: str, slot: datetime, expected: tuple[datetime, datetime]
) -> None:
    period = for_slot(cron_trigger(schedule, BERLIN), slot, BERLIN)
    assert (period.since, period.until) == tuple(moment.astimezone(UTC) for moment in expected)


@pytest.mark.parametrize(
    ("value", "top"), [(0, 4), (3, 4), (5, 8), (9, 20), (21, 40), (41, 80), (81, 200), (201, 400)]
)
def test_the_charts_axis_ends_on_a_round_number_in_four_whole_steps(value: int, top: int) -> None:
    assert axis_top(value) == top
    assert top % 4 == 0
