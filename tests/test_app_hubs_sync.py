"""The sync across both Security Hubs on an in-memory store with a fake hub each: each hub on
gets the same acknowledgement, each keeps its own record of what the bot wrote, and the reply
says what happened in each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.findings_sync import FindingsSync
from bot.app.hubs_sync import HubsSync
from bot.app.sync_report import reply_line
from bot.core import findings as rule
from bot.core.findings import CSPM, V2
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


def acknowledged(store: Store) -> list[InstanceKey]:
    key: AssociationKey = sorted(store.associations.tracked(failing_only=True, now=NOW), key=str)[
        0
    ].key
    store.acks.acknowledge(
        key, by="U0ALICE01", reason="OPS-1", until=NOW + timedelta(days=7), now=NOW
    )
    [item] = store.associations.tracked(keys=[key], now=NOW)
    return [
        InstanceKey(key.account_id, key.region, i) for i in item.association.noncompliant_instances
    ]


def findings(instances: Sequence[InstanceKey]) -> list[rule.Finding]:
    # The same ID in both hubs (AWS does not document whether the new hub's metadata.uid is
    # CSPM's Id): the records must still be apart.
    return [
        rule.Finding(f"arn:finding/{i.instance_id}", "arn:product", i, "NEW", "FAILED")
        for i in instances
    ]


def both(store: Store, cspm: FakeHub, v2: FakeHub, on: Sequence[str]) -> HubsSync:
    def one(name: str, hub: FakeHub) -> FindingsSync:
        return FindingsSync(
            store=store,
            hub=lambda: hub,
            workflow="SUPPRESSED",
            region="eu-west-1",
            clock=lambda: NOW,
            hub_name=name,
        )

    return HubsSync(
        {CSPM: one(CSPM, cspm), V2: one(V2, v2)},
        hubs=lambda: tuple(on),
        workflow="SUPPRESSED",
        region="eu-west-1",
    )


def test_each_hub_on_gets_the_acknowledgement_and_keeps_its_own_record(memory: Store) -> None:
    covered = acknowledged(memory)
    cspm, v2 = FakeHub(findings(covered)), FakeHub(findings(covered))
    report = both(memory, cspm, v2, (CSPM, V2)).run(scopes=[SCOPE], focus=covered)
    assert (
        [u.workflow for u, _ in cspm.writes] == [u.workflow for u, _ in v2.writes] == ["SUPPRESSED"]
    )
    assert report.hub == CSPM
    assert report.also is not None
    assert report.also.hub == V2
    n = len(covered)
    assert reply_line(report) == (
        f"Security Hub CSPM: {n} SSM.3 findings set SUPPRESSED. "
        f"New Security Hub: {n} SSM.3 findings set SUPPRESSED."
    )
    assert {r.written_workflow for r in memory.findings.in_scopes().values()} == {"SUPPRESSED"}
    assert {r.written_workflow for r in memory.findings_v2.in_scopes().values()} == {"SUPPRESSED"}
    audited = [e.detail or "" for e in memory.audit.entries() if e.action == "securityhub_sync"]
    assert sum("the new Security Hub: SUPPRESSED" in d for d in audited) == 1


def test_only_the_hubs_on_are_synced_and_none_on_is_said(memory: Store) -> None:
    covered = acknowledged(memory)
    cspm, v2 = FakeHub(findings(covered)), FakeHub(findings(covered))
    report = both(memory, cspm, v2, (V2,)).run(scopes=[SCOPE])
    assert (cspm.writes, len(v2.writes)) == ([], 1)
    assert reply_line(report).startswith("New Security Hub: ")
    assert memory.findings.in_scopes() == {}
    nothing = both(memory, cspm, v2, ()).run(scopes=[SCOPE])
    assert nothing.error == "neither Security Hub is on for the bot's account in eu-west-1"


def test_one_hub_unreadable_does_not_stop_the_other(memory: Store) -> None:
    covered = acknowledged(memory)
    cspm, v2 = FakeHub(findings(covered), down="throttled"), FakeHub(findings(covered))
    report = both(memory, cspm, v2, (CSPM, V2)).run(scopes=[SCOPE], actor="U0ALICE01")
    assert len(v2.writes) == 1
    line = reply_line(report)
    assert line.startswith("Security Hub CSPM not updated (throttled): the acknowledgement stands")
    assert f"New Security Hub: {len(covered)} SSM.3 findings set SUPPRESSED." in line
