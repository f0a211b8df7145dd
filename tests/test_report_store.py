"""What the store keeps for the evidence report: every failure streak as sweeps start and end
it (and, for an older database, what its tables already knew), the daily summaries that let raw
sweep rows go without changing a figure, and the scheduled report's claims."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlite_utils import Database as SqliteDatabase

from bot.models import (
    Association,
    AssociationKey,
    FailedTarget,
    InstanceCompliance,
    Scope,
    ScopeResult,
)
from bot.store import Store, migrations

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SCOPE = Scope("111111111111", "eu-west-1")
A = AssociationKey(SCOPE.account_id, SCOPE.region, "8c1f2d3e-1111-4222-8333-444455556666")
B = AssociationKey(SCOPE.account_id, SCOPE.region, "9d2e3f4a-1111-4222-8333-444455556666")


def association(key: AssociationKey, status: str, *, reported: bool = False) -> Association:
    failed = status == "Failed"
    instance = "i-0123456789abcdef0"
    return Association(
        account_id=key.account_id,
        region=key.region,
        association_id=key.association_id,
        association_name=f"job-{key.association_id[:4]}",
        document_name="AWS-RunPatchBaseline",
        status=status,  # type: ignore[arg-type]
        detailed_status=status,
        counts={status: 1},
        last_execution_at=NOW - timedelta(days=1),
        failed_targets=(FailedTarget(instance, "Failed", "1", "exit 1", None),) if failed else (),
        failed_target_count=int(failed),
        failing_evidence_since=NOW - timedelta(days=1) if failed else None,
        sync_compliance="MANUAL" if reported else ("AUTO" if failed else None),
        noncompliant_instances=(instance,) if failed or reported else (),
    )


def sweep(
    store: Store, at: datetime, *associations: Association, ok: bool = True, scope: Scope = SCOPE
) -> None:
    sweep_id = f"{at:%Y%m%dT%H%M%SZ}-{scope.region}"
    store.sweeps.begin(sweep_id, at, 1, "test")
    noncompliant = tuple(
        InstanceCompliance(i, at, 1) for a in associations for i in a.noncompliant_instances
    )
    store.associations.save_scope(
        sweep_id,
        ScopeResult(
            scope,
            ok,
            None if ok else "denied",
            associations if ok else (),
            at,
            0.1,
            noncompliant=noncompliant,
        ),
        at,
    )
    store.sweeps.finish(sweep_id, at)


def streaks(store: Store) -> list[tuple[str, str | None, str | None, str | None, str | None]]:
    return [
        (
            s.association_id[:4],
            s.failure_kind,
            str(s.started_at),
            str(s.ended_at) if s.ended_at else None,
            s.ended_how,
        )
        for s in store.streaks.open_during(NOW - timedelta(days=30), NOW + timedelta(days=30))
    ]


def test_a_streak_is_recorded_when_it_starts_carries_through_a_rerun_and_ends(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "s.db")
    sweep(store, NOW, association(A, "Failed"), association(B, "Success"))
    sweep(store, NOW + timedelta(hours=1), association(A, "Pending"), association(B, "Success"))
    sweep(
        store,
        NOW + timedelta(hours=2),
        association(A, "Failed"),
        association(B, "Success", reported=True),
    )
    sweep(
        store,
        NOW + timedelta(hours=3),
        association(A, "Success"),
        association(B, "Success", reported=True),
    )
    sweep(store, NOW + timedelta(hours=4), association(A, "Success"))  # B deleted
    assert streaks(store) == [
        (
            "8c1f",
            "execution",
            str(NOW - timedelta(days=1)),
            str(NOW + timedelta(hours=3)),
            "resolved",
        ),
        (
            "9d2e",
            "reported",
            str(NOW + timedelta(hours=2)),
            str(NOW + timedelta(hours=4)),
            "deleted",
        ),
    ]
    store.close()


def test_an_account_region_no_longer_swept_ends_its_streaks(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    sweep(store, NOW, association(A, "Failed"))
    assert store.sweeps.forget_other_scopes([], sweep_id="s2", now=NOW + timedelta(hours=1))
    [(_, _, _, ended, how)] = streaks(store)
    assert (ended, how) == (str(NOW + timedelta(hours=1)), "unswept")
    store.close()


def test_an_old_database_gets_the_streaks_its_tables_already_knew(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = SqliteDatabase(sqlite3.connect(path))
    migrations.apply(old, stop_before="m012_failure_streaks")
    base = {"account_id": SCOPE.account_id, "region": SCOPE.region}
    old["associations"].insert_all(
        [
            {
                **base,
                "association_id": "now-failing",
                "association_name": "patch-scan",
                "document_name": "AWS-RunPatchBaselineAssociation",
                "status": "Success",
                "failing": 1,
                "sync_compliance": "MANUAL",
                "failing_since": "2026-10-20T08:00:00Z",
                "noncompliant_instances": '["i-1"]',
            },
            {
                **base,
                "association_id": "was-alerted",
                "association_name": "inventory",
                "document_name": "AWS-GatherSoftwareInventory",
                "status": "Success",
                "failing": 0,
                "failing_since": None,
                "noncompliant_instances": "[]",
            },
        ]
    )
    old["alerts"].insert(
        {
            **base,
            "association_id": "was-alerted",
            "failing_since": "2026-10-01T10:00:00Z",
            "channel": "C0MAIN0001",
            "claimed_by": "h",
            "claimed_at": "2026-10-01T11:00:00Z",
            "posted_at": "2026-10-01T11:00:01Z",
            "ts": "1.1",
            "resolved_at": "2026-10-03T11:00:00Z",
        }
    )
    changes = [
        ("was-alerted", "2026-10-01T11:00:00Z", "Success", "Failed"),  # the alerted streak again
        ("was-alerted", "2026-10-03T11:00:00Z", "Failed", "Success"),
        ("was-alerted", "2026-10-10T11:00:00Z", "Success", "Failed"),  # a later one, not alerted
        ("was-alerted", "2026-10-10T12:00:00Z", "Failed", "Pending"),
        ("was-alerted", "2026-10-11T12:00:00Z", "Pending", "Success"),
        ("gone", "2026-10-12T12:00:00Z", "Success", "Failed"),
        ("gone", "2026-10-13T12:00:00Z", "Failed", "Deleted"),
    ]
    old["status_changes"].insert_all(
        [
            {**base, "association_id": a, "at": at, "old_status": o, "new_status": n}
            for a, at, o, n in changes
        ]
    )
    old.conn.close()
    store = Store(path)
    found = store.streaks.open_during(
        datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    )
    assert [
        (
            s.association_id,
            s.failure_kind,
            s.started_at.day,
            s.ended_at.day if s.ended_at else None,
            s.ended_how,
            s.source,
        )
        for s in found
    ] == [
        ("was-alerted", None, 1, 3, "resolved", "backfill"),
        ("was-alerted", "execution", 10, 11, "resolved", "backfill"),
        ("gone", "execution", 12, 13, "deleted", "backfill"),
        ("now-failing", "reported", 20, None, None, "backfill"),
    ]
    assert found[0].association_name == "inventory"
    assert (found[2].association_name, found[2].document_name) == (None, "")
    store.close()


def test_summaries_give_the_same_reads_and_days_as_the_raw_rows_and_let_them_go(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "s.db")
    zone = ZoneInfo("America/New_York")
    start = datetime(2026, 11, 1, 4, tzinfo=UTC)  # midnight in New York
    for hour in range(0, 24 * 5, 3):
        sweep(
            store,
            start + timedelta(hours=hour),
            association(A, "Failed" if hour < 50 else "Success"),
            ok=hour != 30,
        )
    since, until = start, start + timedelta(days=5)
    now = until + timedelta(hours=1)  # the last day is not closed yet
    raw_reads, raw_days = (
        store.evidence.reads(since, until),
        store.evidence.days(zone, since, until, now),
    )
    assert store.evidence.summarise(zone, now) > 0
    assert store.evidence.reads(since, until) == raw_reads
    assert store.evidence.days(zone, since, until, now) == raw_days
    assert [d.day.day for d in raw_days] == [1, 2, 3, 4, 5]
    # New York leaves summer time on 1 November: a day of 25 hours, 9 sweeps three hours apart.
    assert [(d.sweeps, d.failing) for d in raw_days] == [(9, 1), (8, 1), (8, 0), (8, 0), (7, 0)]
    assert [r.ok for r in raw_reads if r.account_id == SCOPE.account_id].count(False) == 1
    later = until + timedelta(days=200)
    store.evidence.summarise(zone, later)
    gone = store.evidence.prune(later, raw_days=100, sweep_days=400, summary_days=800)
    assert gone["sweep_scopes"] == 40
    assert gone["sweeps"] == 0
    assert store.evidence.reads(since, until) == raw_reads
    assert store.evidence.days(zone, since, until, later) == raw_days
    gone = store.evidence.prune(
        later + timedelta(days=300), raw_days=100, sweep_days=400, summary_days=800
    )
    assert gone["sweeps"] == 39  # the latest sweep always stays
    assert store.sweeps.last() is not None
    store.close()


def test_nothing_is_pruned_before_it_is_summarised(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    sweep(store, NOW, association(A, "Failed"))
    sweep(store, NOW + timedelta(hours=1), association(A, "Failed"))
    gone = store.evidence.prune(
        NOW + timedelta(days=500), raw_days=100, sweep_days=400, summary_days=800
    )
    assert (gone["sweep_scopes"], gone["sweeps"]) == (0, 0)
    store.close()


def test_a_period_is_claimed_once_a_stale_claim_taken_over_and_a_failed_one_given_back(
    tmp_path: Path,
) -> None:
    one, two = Store(tmp_path / "s.db"), Store(tmp_path / "s.db")
    since, until = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    slot = until + timedelta(hours=9)
    assert one.report_posts.claim(since, until, "C0MAIN0001", slot=slot, now=slot)
    assert not two.report_posts.claim(
        since, until, "C0MAIN0001", slot=slot, now=slot + timedelta(minutes=5)
    )
    assert two.report_posts.claim(
        since, until, "C0MAIN0001", slot=slot, now=slot + timedelta(minutes=11)
    )
    two.report_posts.failed(since, until, "C0MAIN0001")
    assert one.report_posts.claim(
        since, until, "C0MAIN0001", slot=slot, now=slot + timedelta(minutes=12)
    )
    one.report_posts.posted(since, until, "C0MAIN0001", now=slot, file_id="F1", sha256="ab")
    assert two.report_posts.posted_at(since, until, "C0MAIN0001") == slot
    assert not two.report_posts.claim(
        since, until, "C0MAIN0001", slot=slot, now=slot + timedelta(days=1)
    )
    one.close()
    two.close()


def test_time_to_resolve_by_team_route(tmp_path: Path) -> None:
    from bot.core.routing import Route
    from bot.report import Period, build_report
    from bot.settings.config import Settings

    store = Store(tmp_path / "s.db")
    other = AssociationKey(SCOPE.account_id, "us-east-1", "7a1b2c3d-1111-4222-8333-444455556666")
    sweep(store, NOW, association(A, "Failed"), association(B, "Failed"))
    sweep(store, NOW + timedelta(hours=5), association(A, "Success"), association(B, "Failed"))
    sweep(store, NOW + timedelta(hours=9), association(A, "Success"), association(B, "Success"))
    east = Scope(other.account_id, other.region)
    sweep(store, NOW + timedelta(minutes=1), association(other, "Failed"), scope=east)
    sweep(store, NOW + timedelta(hours=2), association(other, "Success"), scope=east)
    settings = Settings(
        regions=("eu-west-1", "us-east-1"),
        routes=(
            Route(channel="C0PATCHING", regions=frozenset({"eu-west-1"})),
            Route(channel="C0NOBODY01", accounts=frozenset({"999999999999"})),
        ),
    )
    period = Period(NOW - timedelta(days=1), NOW + timedelta(days=1))
    report = build_report(store, settings, period, NOW + timedelta(days=2))
    by_route = {r.channel: (r.stats.count, r.stats.median_seconds) for r in report.by_route}
    day = 24 * 3600  # the failures began a day before the first sweep saw them
    assert by_route == {
        "C0PATCHING": (2, ((day + 5 * 3600) + (day + 9 * 3600)) // 2),
        "C0NOBODY01": (0, None),
        "": (1, day + 2 * 3600),  # no team route: us-east-1
    }
    store.close()
