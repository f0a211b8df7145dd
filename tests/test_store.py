"""The store: migrations, acknowledgements, the append-only audit log, and use from many threads."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import (
    Association,
    AssociationKey,
    FailedTarget,
    InstanceCompliance,
    Scope,
    ScopeResult,
)
from bot.store import Store, migrations
from bot.util.clock import utcnow
from tests.support.raw_db import raw_database

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
KEY = AssociationKey("111111111111", "eu-west-1", "11111111-2222-4333-8444-555555555555")


def _association(status: str = "Failed", **changes: object) -> Association:
    values: dict[str, object] = {
        "account_id": KEY.account_id,
        "region": KEY.region,
        "association_id": KEY.association_id,
        "association_name": "patch-scan-prod",
        "document_name": "AWS-RunPatchBaseline",
        "status": status,
        "detailed_status": status,
        "counts": {"Failed": 1, "Success": 2} if status == "Failed" else {"Success": 3},
        "last_execution_at": NOW - timedelta(hours=1),
        "execution_id": "aaaaaaaa-2222-4333-8444-555555555555" if status == "Failed" else None,
        "failed_targets": (FailedTarget("i-0123456789abcdef0", "Failed", "1", "exit 1", None),)
        if status == "Failed"
        else (),
        "failed_target_count": 1 if status == "Failed" else 0,
        "failing_evidence_since": NOW - timedelta(days=2) if status == "Failed" else None,
        "sync_compliance": "AUTO" if status == "Failed" else None,
        "noncompliant_instances": ("i-0123456789abcdef0",) if status == "Failed" else (),
    }
    values.update(changes)
    return Association(**values)  # type: ignore[arg-type]


def _save(store: Store, sweep_id: str, now: datetime, *associations: Association) -> None:
    store.sweeps.begin(sweep_id, now, 1, "test")
    noncompliant = tuple(
        InstanceCompliance(i, now, 1)
        for i in dict.fromkeys(i for a in associations for i in a.noncompliant_instances)
    )
    result = ScopeResult(
        Scope(KEY.account_id, KEY.region),
        True,
        None,
        associations,
        now,
        0.1,
        3,
        noncompliant=noncompliant,
    )
    store.associations.save_scope(sweep_id, result, now)
    store.sweeps.finish(sweep_id, now)


def test_a_new_database_is_migrated_to_the_latest_schema(tmp_path: Path) -> None:
    store = Store(tmp_path / "new.db")
    assert store.schema_version >= 1
    with raw_database(store) as db:
        assert migrations.pending(db.sqlite) == []
        assert {"sweeps", "associations", "failed_targets", "status_changes", "acks", "audit"} <= (
            set(db.sqlite.table_names())
        )
        assert db.rows("PRAGMA journal_mode")[0]["journal_mode"] == "wal"
    version = store.schema_version
    store.close()
    again = Store(tmp_path / "new.db")  # re-opening applies nothing twice
    assert again.schema_version == version


def test_summary_counts_what_the_sweep_stored(store: Store) -> None:
    _save(store, "s1", NOW, _association())
    summary = store.sweeps.last()
    assert summary is not None
    assert (summary.associations, summary.failing, summary.noncompliant_instances) == (1, 1, 1)
    assert summary.aws_calls == 3


def test_acknowledge_unacknowledge_and_expire(store: Store) -> None:
    _save(store, "s1", NOW, _association())
    store.acks.acknowledge(KEY, by="U1", reason="known", until=NOW + timedelta(hours=12), now=NOW)
    (tracked,) = store.associations.tracked(now=NOW)
    assert tracked.ack is not None
    assert (tracked.ack.by, tracked.ack.reason) == ("U1", "known")

    assert store.acks.expire(NOW + timedelta(hours=11)) == []
    expired = store.acks.expire(NOW + timedelta(hours=12))
    assert [key for key, _ in expired] == [KEY]
    assert store.associations.tracked(now=NOW)[0].ack is None

    store.acks.acknowledge(KEY, by="U2", reason="again", until=None, now=NOW)
    assert store.acks.unacknowledge(KEY, by="U3", now=NOW)
    assert not store.acks.unacknowledge(KEY, by="U3", now=NOW)
    assert store.associations.tracked(now=NOW)[0].ack is None


def test_an_ack_past_its_expiry_is_not_active_even_before_the_expiry_job(store: Store) -> None:
    _save(store, "s1", NOW, _association())
    store.acks.acknowledge(KEY, by="U1", reason="r", until=NOW + timedelta(hours=1), now=NOW)
    assert store.associations.tracked(now=NOW + timedelta(hours=2))[0].ack is None


def test_recovery_ends_the_acknowledgement(store: Store) -> None:
    _save(store, "s1", NOW, _association())
    store.acks.acknowledge(KEY, by="U1", reason="r", until=None, now=NOW)
    _save(store, "s2", NOW + timedelta(hours=1), _association("Success"))
    _save(store, "s3", NOW + timedelta(hours=2), _association())
    (tracked,) = store.associations.tracked(now=NOW + timedelta(hours=2))
    assert tracked.ack is None, "a new failing streak needs a new acknowledgement"


def test_pending_keeps_the_streak(store: Store) -> None:
    _save(store, "s1", NOW, _association())
    first = store.associations.tracked()[0].failing_since
    _save(store, "s2", NOW + timedelta(hours=1), _association("Pending"))
    _save(store, "s3", NOW + timedelta(hours=2), _association())
    assert store.associations.tracked()[0].failing_since == first == NOW - timedelta(days=2)


def test_the_audit_log_is_append_only(store: Store) -> None:
    entry = store.audit.record(
        actor="U1", action="rerun", outcome="started", now=NOW, key=KEY, channel="C1"
    )
    with pytest.raises(sqlite3.DatabaseError, match="append-only"), raw_database(store) as db:
        db.execute("UPDATE audit SET outcome = 'refused' WHERE id = ?", [entry])
    with pytest.raises(sqlite3.DatabaseError, match="append-only"), raw_database(store) as db:
        db.execute("DELETE FROM audit")
    (row,) = store.audit.entries()
    assert (row.actor, row.action, row.outcome, row.association_id, row.channel) == (
        "U1",
        "rerun",
        "started",
        KEY.association_id,
        "C1",
    )


def test_many_threads_write_at_once(store: Store) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                store.audit.record(actor=f"U{n}", action="ack", outcome=str(i), now=NOW)
                store.associations.tracked()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.audit.entries()) == 200


def test_two_processes_share_the_file(tmp_path: Path) -> None:
    one, two = Store(tmp_path / "shared.db"), Store(tmp_path / "shared.db")
    _save(one, "s1", NOW, _association())
    two.acks.acknowledge(KEY, by="U1", reason="seen from the other process", until=None, now=NOW)
    assert one.associations.tracked(now=NOW)[0].ack is not None
    assert one.integrity_check() == "ok"


def test_rerun_cooldown_is_claimed_once(store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.models import AssociationKey

    key = AssociationKey("111111111111", "eu-west-1", "a" * 8 + "-0000-4000-8000-" + "0" * 12)
    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    first, fresh = store.reruns.claim(key, by="U1", now=now, cooldown_s=300, channel="C1")
    assert fresh
    again, fresh = store.reruns.claim(
        key, by="U2", now=now + timedelta(seconds=299), cooldown_s=300
    )
    assert not fresh
    assert again == first
    store.reruns.finish(first.id, outcome="failed", now=now)
    retry, fresh = store.reruns.claim(key, by="U2", now=now + timedelta(seconds=10), cooldown_s=300)
    assert fresh
    assert retry.by == "U2"
    later, fresh = store.reruns.claim(
        key, by="U3", now=now + timedelta(seconds=311), cooldown_s=300
    )
    assert fresh
    assert later.by == "U3"
    assert store.reruns.started_since(now + timedelta(seconds=300)) == {key: later}


def test_digest_messages_are_one_record_per_slot_and_channel(store: Store) -> None:
    from datetime import UTC, datetime

    nine = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    tomorrow = nine + timedelta(days=1)
    assert store.digests.latest() is None
    # Each channel's digest for a slot is claimed once, whichever process asks.
    assert store.digests.claim(nine, "C0MAIN0001", "scheduled", nine)
    assert store.digests.claim(nine, "C0TEAM0001", "scheduled", nine)
    assert not store.digests.claim(nine, "C0TEAM0001", "scheduled", nine)
    store.digests.posted(nine, "C0MAIN0001", ts="1.1", now=nine, sweep_id="s1", snapshot=())
    store.digests.posted(nine, "C0TEAM0001", ts="1.2", now=nine, sweep_id="s1", snapshot=())
    by_hand = store.digests.remember_manual(
        "C0TEAM0001", "1.3", now=nine + timedelta(hours=2), sweep_id="s2"
    )
    assert by_hand.kind == "manual"
    assert not by_hand.scheduled
    assert store.digests.claim(tomorrow, "C0TEAM0001", "catch-up", tomorrow)
    store.digests.posted(tomorrow, "C0TEAM0001", ts="2.2", now=tomorrow, sweep_id="s3", snapshot=())

    assert [m.channel for m in store.digests.for_slot(nine)] == ["C0MAIN0001", "C0TEAM0001"]
    assert store.digests.latest("C0TEAM0001").ts == "2.2"  # type: ignore[union-attr]
    assert store.digests.latest("C0MAIN0001").ts == "1.1"  # type: ignore[union-attr]
    # A digest posted by hand is never what the next scheduled one compares with.
    previous = store.digests.previous("C0TEAM0001", tomorrow)
    assert previous is not None
    assert previous.ts == "1.2"
    assert store.digests.previous("C0MAIN0001", nine) is None
    assert store.digests.get("C0TEAM0001", "1.3") == by_hand
    assert store.digests.get("C0TEAM0001", "9.9") is None


def test_a_stale_digest_claim_is_taken_over_and_a_failed_one_given_back(store: Store) -> None:
    from datetime import UTC, datetime

    nine = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert store.digests.claim(nine, "C0MAIN0001", "scheduled", nine)
    assert not store.digests.claim(nine, "C0MAIN0001", "scheduled", nine + timedelta(minutes=5))
    assert store.digests.claim(nine, "C0MAIN0001", "scheduled", nine + timedelta(minutes=11))
    store.digests.failed(nine, "C0MAIN0001")
    assert store.digests.claim(nine, "C0MAIN0001", "catch-up", nine + timedelta(minutes=12))


def test_an_old_database_keeps_its_digests_and_alerts(tmp_path: Path) -> None:
    """Databases from before digest messages were one record: their scheduled digest (with
    its snapshot), a digest posted by hand and a posted alert all survive the upgrade."""
    import sqlite3

    from sqlite_utils import Database as SqliteDatabase

    path = tmp_path / "old.db"
    old = SqliteDatabase(sqlite3.connect(path))
    migrations.apply(old, stop_before="m009_digest_messages")
    old["digest_runs"].insert(
        {
            "slot": "2026-11-28T09:00:00Z",
            "kind": "scheduled",
            "claimed_by": "h",
            "claimed_at": "2026-11-28T09:00:00Z",
            "posted_at": "2026-11-28T09:00:01Z",
            "channel": "C0MAIN0001",
            "ts": "1.1",
            "snapshot": "[]",
        }
    )
    old["digest_posts"].insert_all(
        [
            {
                "channel": "C0MAIN0001",
                "ts": "1.1",
                "posted_at": "2026-11-28T09:00:01Z",
                "sweep_id": "s1",
            },
            {
                "channel": "C0MAIN0001",
                "ts": "1.5",
                "posted_at": "2026-11-28T11:00:00Z",
                "sweep_id": "s2",
            },
        ]
    )
    old["alerts"].insert(
        {
            "account_id": "111111111111",
            "region": "eu-west-1",
            "association_id": "a1",
            "failing_since": "2026-11-28T08:00:00Z",
            "claimed_by": "h",
            "claimed_at": "2026-11-28T08:00:00Z",
            "posted_at": "2026-11-28T08:00:01Z",
            "channel": "C0MAIN0001",
            "ts": "0.9",
        }
    )
    old.conn.close()

    store = Store(path)
    scheduled = store.digests.last_scheduled("C0MAIN0001")
    assert scheduled is not None
    assert (scheduled.ts, scheduled.sweep_id) == ("1.1", "s1")
    manual = store.digests.latest("C0MAIN0001")
    assert manual is not None
    assert (manual.ts, manual.kind) == ("1.5", "manual")
    key = AssociationKey("111111111111", "eu-west-1", "a1")
    [message] = store.ledger.alert_messages(key)
    assert (message.channel, message.ts) == ("C0MAIN0001", "0.9")
    store.close()


def test_lookups_by_key_and_by_scope_return_only_their_own_failures(store: Store) -> None:
    other = Scope("222222222222", "us-east-1")
    mine = _association()
    theirs = _association(
        account_id=other.account_id,
        region=other.region,
        association_id="99999999-2222-4333-8444-555555555555",
        failed_targets=(
            FailedTarget("i-0aaaaaaaaaaaaaaaa", "Failed", "2", "exit 2", None),
            FailedTarget("i-0bbbbbbbbbbbbbbbb", "Failed", "2", "exit 2", None),
        ),
        failed_target_count=2,
    )
    _save(store, "s1", NOW, mine)
    store.sweeps.begin("s2", NOW, 1, "test")
    store.associations.save_scope("s2", ScopeResult(other, True, None, (theirs,), NOW, 0.1, 3), NOW)

    (found,) = store.associations.tracked(keys=[theirs.key])
    assert found.association.failed_targets == theirs.failed_targets
    assert store.associations.tracked(keys=[]) == []
    assert [t.key for t in store.associations.find(mine.association_id, now=utcnow())] == [mine.key]

    prior = store.associations.prior_drilldowns(Scope(KEY.account_id, KEY.region))
    assert set(prior) == {mine.association_id}
    assert prior[mine.association_id].failed_targets == mine.failed_targets
    assert prior[mine.association_id].execution_id == mine.execution_id
    assert (
        store.associations.prior_drilldowns(other)[theirs.association_id].failed_target_count == 2
    )


def test_recovery_through_a_rerun_in_flight_ends_the_acknowledgement(store: Store) -> None:
    _save(store, "s1", NOW, _association())
    store.acks.acknowledge(
        KEY, by="U1", reason="patch window", until=NOW + timedelta(days=90), now=NOW
    )
    _save(store, "s2", NOW + timedelta(hours=1), _association("Pending"))  # re-run running
    _save(store, "s3", NOW + timedelta(hours=2), _association("Success"))
    later = NOW + timedelta(days=20)
    _save(store, "s4", later, _association(failing_evidence_since=later - timedelta(hours=1)))
    (tracked,) = store.associations.tracked(now=later)
    assert tracked.ack is None, "a new failure weeks later is not born acknowledged"


def test_a_failure_older_than_the_first_sweep_is_never_alertable(store: Store) -> None:
    _save(store, "s1", NOW, _association())  # failing since two days before the bot looked
    assert store.associations.alertable_failures() == []
    for hours, status in ((1, "Failed"), (2, "Pending"), (3, "Failed")):  # a re-run, still failing
        _save(store, f"r{hours}", NOW + timedelta(hours=hours), _association(status))
    assert store.associations.alertable_failures() == []


def test_a_streak_that_began_after_the_first_sweep_is_alertable(store: Store) -> None:
    _save(store, "s1", NOW, _association("Success"))
    began = NOW + timedelta(minutes=30)
    _save(store, "s2", NOW + timedelta(hours=1), _association(failing_evidence_since=began))
    assert store.associations.alertable_failures() == [(KEY, began)]
