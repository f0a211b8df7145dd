"""Making things happen in the simulated fleet between sweeps: an association starts failing,
or comes back."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from bot.sim.fleet import Fleet, failure_for
from tests.support.virtual_time import FakeClock


def fail(fleet: Fleet, association_id: str, at: datetime | None = None) -> None:
    """Its next run fails on its first instance (a permissions error)."""
    _, association = fleet.find_association(association_id)
    instance = association.instance_ids[0]
    fleet.run_association(
        association_id,
        failures={instance: failure_for("permissions", association.document, random.Random(3))},
        at=at,
    )


def healthy(fleet: Fleet, account_id: str | None = None, region: str = "eu-west-1") -> str:
    """A healthy association's ID (in the caller's account unless given)."""
    scope = fleet.scope(account_id or fleet.caller_account, region)
    return next(a.association_id for a in scope.associations.values() if a.status == "Success")


def breaks_after(
    fleet: Fleet, clock: FakeClock, account_id: str | None = None, region: str = "eu-west-1"
) -> str:
    """A healthy association starts failing 10 minutes after the sweep just made, and the clock
    moves on an hour: a streak that began after the first sweep, as an alert needs (the store
    keeps seconds, so a failure in the same second as that sweep would not count)."""
    victim = healthy(fleet, account_id, region)
    fail(fleet, victim, at=clock.now + timedelta(minutes=10))
    clock.now += timedelta(hours=1)
    return victim
