"""The Security Hub sync use case on an in-memory store with a fake Security Hub: what an
acknowledgement covers goes to SSM3_ACK_WORKFLOW, what it no longer covers back to NEW, each
write audited, and a Security Hub that cannot be read reported in a few words."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.findings_sync import FindingsSync
from bot.app.sync_report import reply_line
from bot.core import findings as rule
from bot.models import AssociationKey, InstanceKey, Scope
from bot.store import Store
from tests.fakes.estate import store_estate
from tests.support.ports import FakeHub

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SCOPE = Scope("111111111111", "eu-west-1")


@pytest.fixture
def memory() -> Store:
    store = Store(":memory:")
    store_estate(store, failing=2, healthy=1, now=NOW)
    return store


def first(store: Store) -> AssociationKey:
    return sorted(store.associations.tracked(failing_only=True, now=NOW), key=str)[0].key


def instances(store: Store, key: AssociationKey) -> list[InstanceKey]:
    [item] = store.associations.tracked(keys=[key], now=NOW)
    return [
        InstanceKey(key.account_id, key.region, i) for i in item.association.noncompliant_instances
    ]


def finding(
    instance: InstanceKey, workflow: str = "NEW", note_by: str | None = None
) -> rule.Finding:
    return rule.Finding(
        finding_id=f"arn:finding/{instance.instance_id}",
        product_arn="arn:product/securityhub",
        instance=instance,
        workflow=workflow,
        compliance="FAILED",
        note_text="acknowledged" if note_by else None,
        note_by=note_by,
    )


def sync(store: Store, hub: FakeHub) -> FindingsSync:
    return FindingsSync(
        store=store, hub=lambda: hub, workflow="SUPPRESSED", region="eu-west-1", clock=lambda: NOW
    )


def test_an_acknowledged_association_s_findings_are_suppressed_and_audited(memory: Store) -> None:
    key = first(memory)
    memory.acks.acknowledge(
        key, by="U0ALICE01", reason="OPS-1", until=NOW + timedelta(days=7), now=NOW
    )
    covered = instances(memory, key)
    hub = FakeHub([finding(i) for i in covered])

    report = sync(memory, hub).run(scopes=[SCOPE], actor="U0ALICE01", focus=covered)

    [(update, ids)] = hub.writes
    assert update.workflow == "SUPPRESSED"
    assert sorted(i for i, _ in ids) == sorted(f"arn:finding/{i.instance_id}" for i in covered)
    assert (report.set, report.reopened, report.error) == (len(covered), 0, None)
    assert reply_line(report) == f"Security Hub: {len(covered)} SSM.3 findings set SUPPRESSED."
    assert [e.outcome for e in memory.audit.entries() if e.action == "securityhub_sync"]
    assert hub.closed == 1


def test_an_unacknowledged_instance_stays_new(memory: Store) -> None:
    key = first(memory)
    hub = FakeHub([finding(i) for i in instances(memory, key)])
    report = sync(memory, hub).run(scopes=[SCOPE])
    assert hub.writes == []
    assert (report.set, report.reopened) == (0, 0)
    assert reply_line(report) == "Security Hub: no SSM.3 finding to change."


def test_a_finding_the_bot_holds_goes_back_to_new_when_the_acknowledgement_ends(
    memory: Store,
) -> None:
    key = first(memory)
    until = NOW + timedelta(days=7)
    memory.acks.acknowledge(key, by="U0ALICE01", reason="OPS-1", until=until, now=NOW)
    hub = FakeHub([finding(i) for i in instances(memory, key)])
    sync(memory, hub).run(scopes=[SCOPE])
    [(written, _)] = hub.writes  # the store records this deployment writing them, this note
    held = [
        replace(finding(i, "SUPPRESSED", note_by=rule.MARKER), note_text=written.note)
        for i in instances(memory, key)
    ]
    memory.acks.unacknowledge(key, by="U0ALICE01", now=NOW)

    report = sync(memory, FakeHub(held)).run(scopes=[SCOPE], actor="U0ALICE01")

    assert report.reopened == len(held)
    assert "set back to NEW" in reply_line(report, what="removal of the acknowledgement")


def test_a_security_hub_that_cannot_be_read_is_reported_and_audited_for_a_person(
    memory: Store,
) -> None:
    report = sync(memory, FakeHub(down="throttled")).run(scopes=[SCOPE], actor="U0ALICE01")
    assert report.error == "throttled"
    assert reply_line(report).startswith("Security Hub not updated (throttled)")
    [entry] = [e for e in memory.audit.entries() if e.action == "securityhub_sync"]
    assert entry.outcome == "not_updated"
    sync(memory, FakeHub(down="throttled")).run(scopes=[SCOPE])  # the bot's own sync: logged only
    assert len([e for e in memory.audit.entries() if e.action == "securityhub_sync"]) == 1
