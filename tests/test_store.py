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
    store.begin_sweep(sweep_id, now, 1, "test")
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
    store.save_scope(sweep_id, result, now)
    store.finish_sweep(sweep_id, now)


def test_a_new_database_is_migrated_to_the_latest_schema(tmp_path: Path) -> None:
    store = Store(tmp_path / "new.db")
    assert store.schema_version >= 1
    assert migrations.pending(store.db) == []
    assert {"sweeps", "associations", "failed_targets", "status_changes", "acks", "audit"} <= set(
        store.db.table_names()
    )
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    version = store.schema_version
    store.close()
    again = Store(tmp_path / "new.db")  # re-opening applies nothing twice
    assert again.schema_version == version


def test_summary_counts_what_the_sweep_stored(store: Store) -> None:
    _save(store, "s1", NOW, _association())
    summary = store.last_sweep()
    assert summary is not None
    assert (summary.associations, summary.failing, summary.noncompliant_instances) == (1, 1, 1)
    assert summary.aws_calls == 3


def test_acknowledge_unacknowledge_and_expire(store: Store) -> None:
    _save(store, "s1", NOW, _association())
    store.acknowledge(KEY, by="U1", reason="known", until=NOW + timedelta(hours=12), now=NOW)
    (tracked,) = store.tracked(now=NOW)
    assert tracked.ack is not None
    assert (tracked.ack.by, tracked.ack.reason) == ("U1", "known")

    assert store.expire_acks(NOW + timedelta(hours=11)) == []
    expired = store.expire_acks(NOW + timedelta(hours=12))
    assert [key for key, _ in expired] == [KEY]
    assert store.tracked(now=NOW)[0].ack is None

    store.acknowledge(KEY, by="U2", reason="again", until=None, now=NOW)
    assert store.unacknowledge(KEY, by="U3", now=NOW)
    assert not store.unacknowledge(KEY, by="U3", now=NOW)
    assert store.tracked(now=NOW)[0].ack is None


def test_an_ack_past_its_expiry_is_not_active_even_before_the_expiry_job(store: Store) -> None:
    _save(store, "s1", NOW, _association())
    store.acknowledge(KEY, by="U1", reason="r", until=NOW + timedelta(hours=1), now=NOW)
    assert store.tracked(now=NOW + timedelta(hours=2))[0].ack is None


def test_recovery_ends_the_acknowledgement(store: Store) -> None:
    _save(store, "s1", NOW, _association())
    store.acknowledge(KEY, by="U1", reason="r", until=None, now=NOW)
    _save(store, "s2", NOW + timedelta(hours=1), _association("Success"))
    _save(store, "s3", NOW + timedelta(hours=2), _association())
    (tracked,) = store.tracked(now=NOW + timedelta(hours=2))
    assert tracked.ack is None, "a new failing streak needs a new acknowledgement"


def test_pending_keeps_the_streak(store: Store) -> None:
    _save(store, "s1", NOW, _association())
    first = store.tracked()[0].failing_since
    _save(store, "s2", NOW + timedelta(hours=1), _association("Pending"))
    _save(store, "s3", NOW + timedelta(hours=2), _association())
    assert store.tracked()[0].failing_since == first == NOW - timedelta(days=2)


def test_the_audit_log_is_append_only(store: Store) -> None:
    entry = store.audit(
        actor="U1", action="rerun", outcome="started", now=NOW, key=KEY, channel="C1"
    )
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("UPDATE audit SET outcome = 'refused' WHERE id = ?", [entry])
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("DELETE FROM audit")
    (row,) = store.audit_entries()
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
                store.audit(actor=f"U{n}", action="ack", outcome=str(i), now=NOW)
                store.tracked()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.audit_entries()) == 200


def test_two_processes_share_the_file(tmp_path: Path) -> None:
    one, two = Store(tmp_path / "shared.db"), Store(tmp_path / "shared.db")
    _save(one, "s1", NOW, _association())
    two.acknowledge(KEY, by="U1", reason="seen from the other process", until=None, now=NOW)
    assert one.tracked(now=NOW)[0].ack is not None
    assert one.integrity_check() == "ok"


def test_rerun_cooldown_is_claimed_once(store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.models import AssociationKey

    key = AssociationKey("111111111111", "eu-west-1", "a" * 8 + "-0000-4000-8000-" + "0" * 12)
    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    first, fresh = store.claim_rerun(key, by="U1", now=now, cooldown_s=300, channel="C1")
    assert fresh
    again, fresh = store.claim_rerun(key, by="U2", now=now + timedelta(seconds=299), cooldown_s=300)
    assert not fresh
    assert again == first
    store.finish_rerun(first.id, outcome="failed", now=now)
    retry, fresh = store.claim_rerun(key, by="U2", now=now + timedelta(seconds=10), cooldown_s=300)
    assert fresh
    assert retry.by == "U2"
    later, fresh = store.claim_rerun(key, by="U3", now=now + timedelta(seconds=311), cooldown_s=300)
    assert fresh
    assert later.by == "U3"
    assert store.reruns_since(now + timedelta(seconds=300)) == {key: later}


def test_digest_posts_are_remembered(store: Store) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert store.latest_digest() is None
    store.remember_digest("C1", "1.1", now=now, sweep_id="s1")
    store.remember_digest("C2", "2.2", now=now)
    assert store.latest_digest("C1") is not None
    assert store.latest_digest("C1").ts == "1.1"  # type: ignore[union-attr]
    assert store.latest_digest().ts == "2.2"  # type: ignore[union-attr]
    assert store.digest_post("C2", "2.2") is not None
    assert store.digest_post("C2", "9.9") is None


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
    store.begin_sweep("s2", NOW, 1, "test")
    store.save_scope("s2", ScopeResult(other, True, None, (theirs,), NOW, 0.1, 3), NOW)

    (found,) = store.tracked(keys=[theirs.key])
    assert found.association.failed_targets == theirs.failed_targets
    assert store.tracked(keys=[]) == []
    assert [t.key for t in store.find(mine.association_id)] == [mine.key]

    prior = store.prior_drilldowns(Scope(KEY.account_id, KEY.region))
    assert set(prior) == {mine.association_id}
    assert prior[mine.association_id].failed_targets == mine.failed_targets
    assert prior[mine.association_id].execution_id == mine.execution_id
    assert store.prior_drilldowns(other)[theirs.association_id].failed_target_count == 2


def test_recovery_through_a_rerun_in_flight_ends_the_acknowledgement(store: Store) -> None:
    _save(store, "s1", NOW, _association())
    store.acknowledge(KEY, by="U1", reason="patch window", until=NOW + timedelta(days=90), now=NOW)
    _save(store, "s2", NOW + timedelta(hours=1), _association("Pending"))  # re-run running
    _save(store, "s3", NOW + timedelta(hours=2), _association("Success"))
    later = NOW + timedelta(days=20)
    _save(store, "s4", later, _association(failing_evidence_since=later - timedelta(hours=1)))
    (tracked,) = store.tracked(now=later)
    assert tracked.ack is None, "a new failure weeks later is not born acknowledged"


def test_a_failure_older_than_the_first_sweep_is_never_alertable(store: Store) -> None:
    _save(store, "s1", NOW, _association())  # failing since two days before the bot looked
    assert store.alertable_failures() == []
    for hours, status in ((1, "Failed"), (2, "Pending"), (3, "Failed")):  # a re-run, still failing
        _save(store, f"r{hours}", NOW + timedelta(hours=hours), _association(status))
    assert store.alertable_failures() == []


def test_a_streak_that_began_after_the_first_sweep_is_alertable(store: Store) -> None:
    _save(store, "s1", NOW, _association("Success"))
    began = NOW + timedelta(minutes=30)
    _save(store, "s2", NOW + timedelta(hours=1), _association(failing_evidence_since=began))
    assert store.alertable_failures() == [(KEY, began)]
