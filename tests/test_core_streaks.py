"""The streak rules as plain functions: when a failure starts and ends, what is news, and the
re-run cooldown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.streaks import alertable, cooling_down, failing_since, streak_ended
from bot.models import Association, FailedTarget

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def association(status: str = "Failed", *, failing: bool = True, **changes: object) -> Association:
    values: dict[str, object] = {
        "account_id": "111111111111",
        "region": "eu-west-1",
        "association_id": "a",
        "association_name": None,
        "document_name": "AWS-RunShellScript",
        "status": status,
        "detailed_status": status,
        "counts": {"Failed": 1} if status == "Failed" else {"Success": 1},
        "last_execution_at": NOW - HOUR,
        "failed_targets": (FailedTarget("i-1"),) if status == "Failed" else (),
        "failing_evidence_since": NOW - 5 * HOUR if status == "Failed" else None,
        "noncompliant_instances": ("i-1",) if failing else (),
    }
    values.update(changes)
    return Association(**values)  # type: ignore[arg-type]


def since(a: Association, carried: datetime | None = None, **before: object) -> datetime | None:
    options: dict[str, object] = {"was_failing": carried is not None, "last_seen_at": None}
    options.update(before)
    return failing_since(a, carried=carried, now=NOW, **options)  # type: ignore[arg-type]


def test_a_new_run_failure_starts_at_its_first_failed_run() -> None:
    assert since(association()) == NOW - 5 * HOUR


def test_a_new_streak_never_starts_before_the_sweep_that_saw_it_healthy() -> None:
    assert since(association(), last_seen_at=NOW - 2 * HOUR) == NOW - 2 * HOUR


def test_a_reported_failure_starts_when_a_sweep_first_saw_it() -> None:
    reported = association("Success", failing_evidence_since=None)
    assert since(reported) == NOW


@pytest.mark.parametrize("status", ["Failed", "Success"])
def test_a_streak_keeps_its_start_while_it_fails(status: str) -> None:
    assert since(association(status), carried=NOW - 9 * HOUR) == NOW - 9 * HOUR


def test_pending_carries_the_streak_and_healthy_ends_it() -> None:
    pending = association("Pending", failing=False, counts={})
    assert since(pending, carried=NOW - 9 * HOUR) == NOW - 9 * HOUR
    assert since(association("Success", failing=False), carried=NOW - 9 * HOUR) is None


def test_only_an_ended_streak_ends_the_acknowledgement() -> None:
    assert streak_ended(NOW, None)
    assert not streak_ended(NOW, NOW)
    assert not streak_ended(None, None)
    assert not streak_ended(None, NOW)


@pytest.mark.parametrize(
    ("started", "first_ok", "news"),
    [
        (NOW, NOW - HOUR, True),
        (NOW - 2 * HOUR, NOW - HOUR, False),
        (NOW, None, False),
        (None, NOW, False),
    ],
)
def test_only_a_streak_begun_after_the_first_sweep_is_news(
    started: datetime | None, first_ok: datetime | None, news: bool
) -> None:
    assert alertable(started, first_ok) is news


@pytest.mark.parametrize(
    ("started", "failed", "waits"),
    [
        (NOW - timedelta(seconds=299), False, True),
        (NOW - timedelta(seconds=300), False, False),
        (NOW - timedelta(seconds=10), True, False),  # it never started: try again now
        (None, False, False),
    ],
)
def test_the_rerun_cooldown(started: datetime | None, failed: bool, waits: bool) -> None:
    assert cooling_down(started, failed, NOW, 300) is waits
