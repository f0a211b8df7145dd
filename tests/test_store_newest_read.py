"""The store keeps the newest read of an account-region: a long sweep's read that began before
an event's re-read, and is stored after it, changes nothing (it stays on the sweep's record)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.models import Association, Scope, ScopeResult
from bot.store import Store

SCOPE = Scope("222222222222", "eu-west-1")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def association(status: str) -> Association:
    return Association(
        account_id=SCOPE.account_id,
        region=SCOPE.region,
        association_id="8d6c0e2a-1b3f-4c5d-9e7f-0a1b2c3d4e5f",
        association_name="patching",
        document_name="AWS-RunPatchBaseline",
        status=status,
        detailed_status=status,
        counts={status: 1},
        last_execution_at=NOW,
    )


def read(status: str, began: datetime) -> ScopeResult:
    return ScopeResult(SCOPE, True, None, (association(status),), began, 0.1, 2)


def test_an_older_read_stored_later_leaves_the_newer_one_in_place(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.sweeps.begin("long-sweep", NOW, 1, "schedule")
    store.sweeps.begin("event", NOW, 1, "event", "partial")
    assert store.associations.save_scope("event", read("Failed", NOW + timedelta(seconds=5)), NOW)
    # The sweep read the scope at NOW, before the failure, and only now gets to store it.
    assert not store.associations.save_scope("long-sweep", read("Success", NOW), NOW)
    [tracked] = store.associations.tracked()
    assert tracked.association.status == "Failed"
    assert [s.scope for s in store.sweeps.sweep_scopes("long-sweep")] == [SCOPE], "on record"
    # A later read does replace it, within the same second too.
    assert store.associations.save_scope(
        "long-sweep", read("Success", NOW + timedelta(seconds=5, microseconds=1)), NOW
    )
    assert store.associations.tracked()[0].association.status == "Success"
    store.close()


def test_the_last_sweep_is_never_a_partial_read(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.sweeps.begin("full", NOW, 6, "schedule")
    store.sweeps.finish("full", NOW + timedelta(minutes=1))
    store.sweeps.begin("event", NOW + timedelta(minutes=5), 1, "event", "partial")
    store.sweeps.finish("event", NOW + timedelta(minutes=5))
    last = store.sweeps.last()
    assert last is not None
    assert (last.sweep_id, last.coverage) == ("full", "full")
    store.sweeps.begin("triage", NOW + timedelta(minutes=60), 0, "schedule", "triage")
    store.sweeps.finish("triage", NOW + timedelta(minutes=60))
    assert store.sweeps.last().sweep_id == "triage"  # type: ignore[union-attr]
    assert store.sweeps.last(full=True).sweep_id == "full"  # type: ignore[union-attr]
    store.close()
