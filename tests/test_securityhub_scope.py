"""What the Security Hub sync may write (bot/core/ownership.py), against the simulator's
Security Hub through unmodified boto3: only findings inside the account-regions this
deployment sweeps, and only findings its own store records having written. Two deployments
sharing one Security Hub administrator account (two teams, two stores) no longer undo each
other's acknowledgements, and a finding signed `ssm3-bot` by anyone else is left alone.
A write is recorded as a claim before it is sent: a process stopped in between still knows
the finding is its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app.acknowledgements import Acknowledgements
from bot.app.findings_sync import FindingsSync
from bot.app.hubs_sync import HubsSync
from bot.app.outcomes import Done
from bot.app.permissions import LocalOperator
from bot.app.sync_report import reply_line
from bot.core.findings import CSPM
from bot.models import AssociationRef, Scope
from bot.settings.config import Settings
from bot.sim.fleet import Fleet
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from bot.util.clock import utcnow
from bot.wiring.context import Context
from bot.wiring.findings import findings_sync
from tests.support.findings import (
    ACCOUNT,
    REGION,
    elsewhere,
    estate,
    finding,
    suppressed_by_someone,
    workflows,
)
from tests.support.sim import Sim

TEAM_B = "222222222222"
THEIRS = "Acknowledged in ssm3-bot: team B's baseline, by U0TEAMB01 until 2027-01-01: CHG-9"


@dataclass
class Deployment:
    """One ssm3-bot: its settings, its store, its AWS access (the same Security Hub)."""

    settings: Settings
    store: Store
    sim: Sim

    def sweep(self) -> None:
        run_sweep(settings=self.settings, access=self.sim.access(), store=self.store)

    def sync(self) -> HubsSync:
        sync = findings_sync(Context(self.settings, self.store, self.sim.access(), utcnow))
        assert sync is not None
        return sync

    def cspm_sync(self) -> FindingsSync:
        """Security Hub CSPM's own sync (the only hub on in these tests)."""
        return self.sync().syncs[CSPM]

    def cases(self) -> Acknowledgements:
        """`ssm3bot ack`'s use case: its Security Hub sync included."""
        return Acknowledgements(
            store=self.store, permissions=LocalOperator(), clock=utcnow, sync=self.sync()
        )

    def ack(self, association_id: str, reason: str = "OPS-1") -> str | None:
        done = self.cases().acknowledge(
            "U0OPS00001", AssociationRef(association_id), reason=reason,
            until=utcnow() + timedelta(days=7),
        )  # fmt: skip
        assert isinstance(done, Done)
        return reply_line(done.security_hub) if done.security_hub else None

    def unack(self, association_id: str) -> str | None:
        done = self.cases().unacknowledge("U0OPS00001", AssociationRef(association_id))
        assert isinstance(done, Done)
        return reply_line(done.security_hub) if done.security_hub else None


@pytest.fixture
def deploy(tmp_path: Path) -> Iterator[Callable[..., Deployment]]:
    stores: list[Store] = []

    def start(
        sim: Sim, accounts: tuple[str, ...], regions: tuple[str, ...] = (REGION,)
    ) -> Deployment:
        settings = Settings(
            accounts=accounts, regions=regions, securityhub="sync", securityhub_region=REGION,
            db_path=str(tmp_path / f"deployment{len(stores)}.db"), concurrency=2,
        )  # fmt: skip
        store = Store(settings.db_path)
        stores.append(store)
        return Deployment(settings, store, sim)

    yield start
    for store in stores:
        store.close()


def team_b_association(fleet: Fleet) -> str:
    [association] = [
        a.association_id
        for (account, _), scope in fleet.scopes.items()
        if account == TEAM_B
        for a in scope.associations.values()
    ]
    return association


def test_two_deployments_on_one_security_hub_keep_each_others_acknowledgements(
    make_sim: Callable[..., Sim], deploy: Callable[..., Deployment]
) -> None:
    """The review's finding: B's sweep set A's suppressed findings back to NEW."""
    world = estate()
    theirs = elsewhere(world.fleet, TEAM_B, REGION, number=9)
    sim = make_sim(world.fleet)
    team_a, team_b = deploy(sim, (ACCOUNT,)), deploy(sim, (TEAM_B,))
    team_a.sweep()
    team_b.sweep()
    team_b.ack(team_b_association(world.fleet))
    assert {finding(world.fleet, i, TEAM_B).workflow_status for i in theirs} == {"SUPPRESSED"}
    team_a.ack(world.primary)
    assert set(workflows(world.fleet, world.alone).values()) == {"SUPPRESSED"}

    for _ in range(2):  # each sweeps again: neither touches the other's findings
        team_a.sweep()
        team_b.sweep()
    assert {finding(world.fleet, i, TEAM_B).workflow_status for i in theirs} == {"SUPPRESSED"}
    assert set(workflows(world.fleet, world.alone).values()) == {"SUPPRESSED"}
    # A's records never name B's findings, and B's never A's.
    assert {r.instance.account_id for r in team_a.store.findings.in_scopes().values()} == {ACCOUNT}
    assert {r.instance.account_id for r in team_b.store.findings.in_scopes().values()} == {TEAM_B}


def test_a_finding_outside_the_swept_account_regions_is_never_written(
    make_sim: Callable[..., Sim], deploy: Callable[..., Deployment]
) -> None:
    """Findings the aggregator shows in accounts and regions nobody configured here, signed
    ssm3-bot and SUPPRESSED (by anyone), stay exactly as they are through sweeps, an
    acknowledgement and its removal."""
    world = estate()
    other_account = elsewhere(world.fleet, TEAM_B, REGION, number=9)
    other_region = elsewhere(world.fleet, ACCOUNT, "us-east-1", number=8)
    sim = make_sim(world.fleet)
    outside = [
        *(finding(world.fleet, i, TEAM_B) for i in other_account),
        *(finding(world.fleet, i, ACCOUNT, "us-east-1") for i in other_region),
    ]
    for found in outside:
        suppressed_by_someone(found, THEIRS)
    mine = deploy(sim, (ACCOUNT,))
    mine.sweep()
    mine.ack(world.primary)
    mine.unack(world.primary)
    mine.sweep()
    for found in outside:
        assert (found.workflow_status, found.note) == (
            "SUPPRESSED",
            {"Text": THEIRS, "UpdatedBy": "ssm3-bot", "UpdatedAt": "2026-01-01T00:00:00Z"},
        )
    assert set(workflows(world.fleet, world.alone).values()) == {"NEW"}  # its own, released


def test_a_marker_is_no_proof_of_ownership_inside_the_scope_either(
    make_sim: Callable[..., Sim], deploy: Callable[..., Deployment]
) -> None:
    """In a swept account-region, a finding someone else suppressed with a note signed ssm3-bot
    is not this deployment's: not released by a sweep, not overwritten by an acknowledgement
    (left as changed by hand, audited)."""
    world = estate()
    sim = make_sim(world.fleet)
    forged = finding(world.fleet, world.alone[0])
    suppressed_by_someone(forged, THEIRS)
    mine = deploy(sim, (ACCOUNT,))
    mine.sweep()
    assert (forged.workflow_status, forged.note["Text"]) == ("SUPPRESSED", THEIRS)  # type: ignore[index]
    line = mine.ack(world.primary)
    assert line is not None
    assert "1 changed by hand in Security Hub left as they are" in line
    assert (forged.workflow_status, forged.note["Text"]) == ("SUPPRESSED", THEIRS)  # type: ignore[index]
    assert set(workflows(world.fleet, world.alone[1:]).values()) == {"SUPPRESSED"}
    mine.unack(world.primary)
    assert (forged.workflow_status, forged.note["Text"]) == ("SUPPRESSED", THEIRS)  # type: ignore[index]
    assert set(workflows(world.fleet, world.alone[1:]).values()) == {"NEW"}


class StopsAfterWriting:
    """Security Hub, and a process that stops right after its writes were sent (before it
    could record them)."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub

    def __getattr__(self, name: str) -> Any:
        return getattr(self.hub, name)

    def update(self, groups: Any) -> Any:
        self.hub.update(groups)
        raise KeyboardInterrupt("the process stopped")


def test_a_write_is_claimed_before_it_is_sent_and_settled_by_the_next_sync(
    make_sim: Callable[..., Sim], deploy: Callable[..., Deployment]
) -> None:
    world = estate()
    sim = make_sim(world.fleet)
    mine = deploy(sim, (ACCOUNT,))
    mine.sweep()
    Acknowledgements(store=mine.store, permissions=LocalOperator(), clock=utcnow).acknowledge(
        "U0OPS00001", AssociationRef(world.primary), reason="OPS-1",
        until=utcnow() + timedelta(days=7),
    )  # fmt: skip
    real = mine.cspm_sync()
    stopping = FindingsSync(
        store=mine.store, hub=lambda: StopsAfterWriting(real.hub()), workflow="SUPPRESSED",
        region=REGION, clock=utcnow,
    )  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        stopping.run(scopes=[Scope(ACCOUNT, REGION)])
    assert set(workflows(world.fleet, world.alone).values()) == {"SUPPRESSED"}
    claimed = [r for r in mine.store.findings.in_scopes().values() if r.claim is not None]
    assert {r.instance.instance_id for r in claimed} >= set(world.alone)
    assert all(r.written_workflow is None for r in claimed)

    # The next sync settles the claims by the note the findings show: they are its own, so
    # removing the acknowledgement releases them.
    mine.sweep()
    records = mine.store.findings.in_scopes()
    assert all(r.claim is None for r in records.values())
    assert {
        r.written_workflow for r in records.values() if r.instance.instance_id in world.alone
    } == {"SUPPRESSED"}
    mine.unack(world.primary)
    assert set(workflows(world.fleet, world.alone).values()) == {"NEW"}


def test_a_claim_whose_write_never_landed_is_dropped(
    make_sim: Callable[..., Sim], deploy: Callable[..., Deployment]
) -> None:
    """Stopped before anything was sent: the findings show no such note; the claims go, and
    the finding is simply claimable again (NEW, no note)."""
    world = estate()
    sim = make_sim(world.fleet)
    mine = deploy(sim, (ACCOUNT,))
    mine.sweep()

    class StopsBeforeWriting(StopsAfterWriting):
        def update(self, groups: Any) -> Any:
            raise KeyboardInterrupt("the process stopped")

    Acknowledgements(store=mine.store, permissions=LocalOperator(), clock=utcnow).acknowledge(
        "U0OPS00001", AssociationRef(world.primary), reason="OPS-1",
        until=utcnow() + timedelta(days=7),
    )  # fmt: skip
    real = mine.cspm_sync()
    stopping = FindingsSync(
        store=mine.store, hub=lambda: StopsBeforeWriting(real.hub()), workflow="SUPPRESSED",
        region=REGION, clock=utcnow,
    )  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        stopping.run(scopes=[Scope(ACCOUNT, REGION)])
    assert set(workflows(world.fleet, world.alone).values()) == {"NEW"}
    mine.sweep()  # settles (dropped), then writes anew: the acknowledgement still covers them
    assert set(workflows(world.fleet, world.alone).values()) == {"SUPPRESSED"}
    assert all(r.claim is None for r in mine.store.findings.in_scopes().values())
