"""A small simulated estate for the Security Hub sync, every overlap spelled out, and helpers to
read the simulator's SSM.3 findings back."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.sim.fleet import Fleet, SimAssociation, SimFinding, SimInstance, failure_for

ACCOUNT, REGION = "111111111111", "eu-west-1"


@dataclass(frozen=True)
class Estate:
    """`alone`: instances only `primary` fails; `shared`: instances `primary` and `other`
    both fail; `orphaned`: an instance `primary` fails and an orphaned item fails too."""

    fleet: Fleet
    primary: str
    other: str
    alone: tuple[str, ...]
    shared: tuple[str, ...]
    orphaned: str

    @property
    def primary_instances(self) -> tuple[str, ...]:
        return (*self.alone, *self.shared, self.orphaned)


def _instance(n: int) -> str:
    return f"i-{n:017x}"


def _association(
    fleet: Fleet,
    number: int,
    name: str,
    instances: list[str],
    failing: list[str],
    *,
    account: str = ACCOUNT,
    region: str = REGION,
) -> str:
    scope = fleet.scope(account, region)
    association_id = f"{number:08x}-1111-4222-8333-444455556666"
    scope.associations[association_id] = SimAssociation(
        association_id=association_id,
        name=name,
        document="AWS-RunShellScript",
        schedule="rate(1 hour)",
        instance_ids=tuple(instances),
        created_at=datetime.now(UTC) - timedelta(days=30),
    )
    rng = random.Random(number)
    fleet.run_association(
        association_id,
        failures={i: failure_for("script_error", "AWS-RunShellScript", rng) for i in failing},
        at=datetime.now(UTC) - timedelta(minutes=10),
    )
    return association_id


def estate(alone: int = 5, shared: int = 2, healthy: int = 3) -> Estate:
    """One account-region (the Security Hub administrator's home region): `primary` fails
    `alone` + `shared` + 1 instances, `other` fails the `shared` ones, and a deleted
    association left a NON_COMPLIANT item on the last of `primary`'s."""
    fleet = Fleet(caller_account=ACCOUNT)
    scope = fleet.scope(ACCOUNT, REGION)
    total = alone + shared + 1 + healthy
    ids = [_instance(n + 1) for n in range(total)]
    for instance_id in ids:
        scope.instances[instance_id] = SimInstance(instance_id)
    mine = ids[: alone + shared + 1]
    only, both, orphaned = mine[:alone], mine[alone : alone + shared], mine[-1]
    primary = _association(fleet, 1, "patch-scan-prod", ids, mine)
    other = _association(fleet, 2, "cloudwatch-agent-prod", ids, both)
    gone = _association(fleet, 3, "retired-hardening", ids, [orphaned])
    fleet.delete_association(gone, keep_compliance=True)  # an orphaned NON_COMPLIANT item
    fleet.securityhub_home = REGION
    return Estate(fleet, primary, other, tuple(only), tuple(both), orphaned)


def big_estate(instances: int) -> tuple[Fleet, str]:
    """One association failing on `instances` instances, nothing else failing."""
    fleet = Fleet(caller_account=ACCOUNT)
    scope = fleet.scope(ACCOUNT, REGION)
    ids = [_instance(n + 1) for n in range(instances)]
    for instance_id in ids:
        scope.instances[instance_id] = SimInstance(instance_id)
    association_id = _association(fleet, 7, "patch-install-sunday", ids, ids)
    fleet.securityhub_home = REGION
    return fleet, association_id


def elsewhere(fleet: Fleet, account: str, region: str, number: int, failing: int = 2) -> list[str]:
    """Another account-region in the same Security Hub: an association failing `failing`
    instances there; their IDs."""
    if account not in fleet.accounts and account != fleet.caller_account:
        fleet.add_account(account, f"team-{number}")
    scope = fleet.scope(account, region)
    ids = [_instance(number * 1000 + n) for n in range(failing)]
    for instance_id in ids:
        scope.instances[instance_id] = SimInstance(instance_id)
    _association(fleet, number, f"team-{number}-baseline", ids, ids, account=account, region=region)
    fleet.refresh_findings()
    return ids


def suppressed_by_someone(finding: SimFinding, note: str, by: str = "ssm3-bot") -> None:
    """What another deployment (or anyone allowed BatchUpdateFindings) leaves on a finding."""
    finding.workflow_status = "SUPPRESSED"
    finding.note = {"Text": note, "UpdatedBy": by, "UpdatedAt": "2026-01-01T00:00:00Z"}


def finding(
    fleet: Fleet, instance_id: str, account: str = ACCOUNT, region: str = REGION
) -> SimFinding:
    fleet.refresh_findings()
    found = fleet.finding_for(account, region, instance_id)
    assert found is not None, f"no SSM.3 finding for {instance_id}"
    return found


def workflows(fleet: Fleet, instance_ids: tuple[str, ...] | list[str]) -> dict[str, str]:
    return {i: finding(fleet, i).workflow_status for i in instance_ids}
