"""The re-run use case on an in-memory store with a fake AWS port: permission first, the
cooldown, the AWS call and what a re-run cannot fix, each audited."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.outcomes import Refusal
from bot.app.permissions import LocalOperator
from bot.app.reruns import FollowUp, Reruns, Started, StartFailed
from bot.models import AssociationRef
from bot.store import Store
from tests.fakes.estate import association_id, store_estate
from tests.support.ports import FakeAws, OnlyOps

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def memory() -> Store:
    store = Store(":memory:")
    store_estate(store, failing=2, healthy=1, now=NOW)
    return store


def reruns(store: Store, aws: FakeAws, permissions: object = None, at: datetime = NOW) -> Reruns:
    return Reruns(
        store=store,
        permissions=permissions or LocalOperator(),  # type: ignore[arg-type]
        actions=aws,
        clock=lambda: at,
        cooldown_s=300,
    )


REF = AssociationRef(association_id(0))


def test_a_rerun_starts_once_and_the_cooldown_holds_the_second(memory: Store) -> None:
    aws = FakeAws()
    first = reruns(memory, aws).start("U0OPS0001", REF)
    assert isinstance(first, Started)
    assert first.can_fix
    assert aws.started == [first.item.key]
    second = reruns(memory, aws, at=NOW + timedelta(seconds=299)).start("U0BOB0001", REF)
    assert isinstance(second, Refusal)
    assert (second.why, second.rerun) == ("cooldown", first.rerun)
    assert aws.started == [first.item.key], "the second click started nothing"
    third = reruns(memory, aws, at=NOW + timedelta(seconds=300)).start("U0BOB0001", REF)
    assert isinstance(third, Started)
    outcomes = [(e.actor, e.outcome) for e in reversed(memory.audit.entries())]
    assert outcomes == [
        ("U0OPS0001", "started"),
        ("U0BOB0001", "refused"),
        ("U0BOB0001", "started"),
    ]


def test_permission_comes_before_aws(memory: Store) -> None:
    aws = FakeAws()
    refused = reruns(memory, aws, OnlyOps()).start("U0EVE0001", REF)
    assert isinstance(refused, Refusal)
    assert refused.why == "permission"
    assert aws.started == []
    assert memory.reruns.last(refused.key) is None  # type: ignore[arg-type]


def test_an_aws_refusal_is_recorded_and_releases_the_cooldown(memory: Store) -> None:
    failed = reruns(memory, FakeAws(fail=True)).start("U0OPS0001", REF)
    assert isinstance(failed, StartFailed)
    assert "AccessDenied" in str(failed.error)
    again = reruns(memory, FakeAws()).start("U0OPS0001", REF)
    assert isinstance(again, Started), "a re-run that never started holds no cooldown"


def test_a_reported_failure_cannot_be_fixed_by_a_rerun(memory: Store) -> None:
    (stored,) = memory.associations.find(association_id(0), now=NOW)
    reported = replace(stored, association=replace(stored.association, sync_compliance="MANUAL"))
    assert not reruns(memory, FakeAws()).can_fix(reported)
    healthy = memory.associations.find(association_id(2), now=NOW)[0]
    assert reruns(memory, FakeAws(sync="MANUAL")).can_fix(healthy) is False
    assert reruns(memory, FakeAws(fail=True)).can_fix(healthy) is True  # unknown: let it ask


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("Success", "compliant"), ("Pending", "pending"), ("Failed", "still_failing")],
)
def test_the_follow_up_says_whether_it_helped_and_audits_it(
    memory: Store, status: str, outcome: str
) -> None:
    started = reruns(memory, FakeAws()).start("U0OPS0001", REF)
    assert isinstance(started, Started)
    checked = reruns(memory, FakeAws(status=status)).follow_up(started.item, started.rerun)
    assert isinstance(checked, FollowUp)
    assert checked.outcome == outcome
    assert memory.reruns.last(started.item.key).outcome == outcome  # type: ignore[union-attr]
    latest = memory.audit.entries(limit=1)[0]
    assert (latest.actor, latest.action, latest.outcome) == ("ssm3bot", "rerun_check", outcome)
