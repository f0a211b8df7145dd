"""The naive baseline: what per-instance compliance tools do, against the same fleet.

To learn Association compliance (what SSM.3 judges) instance by instance, for every
account-region:
- DescribeInstanceInformation (paginated, 50 a page): every managed instance;
- DescribeInstanceAssociationsStatus for every instance (50 a page): each association's latest
  run on it; an association whose run is Failed or TimedOut on some instance "failed to run";
- ListComplianceItems for every instance (one resource ID a call, as AWS requires;
  ComplianceType=Association, 50 a page): the compliance SSM reported for it. The instance is
  NON_COMPLIANT for SSM.3 when one of its Association items is; the association an item names
  is then failing (orphaned when the instance has no such association: it was deleted).
This catches what the runs cannot show (MANUAL patch-scanning associations that report missing
patches while every run succeeds) and ignores Patch and Custom compliance, as SSM.3 does. It
runs with the bot's own AwsAccess (one AssumeRole per account, one client per account-region)
and the same pool size (SSM3_CONCURRENCY), so the only difference from `ssm3bot sweep` is the
method.

    python bench/naive_sweep.py [--sample 0.1] [--seed 7] [--failing-out FILE]

The environment is read as `ssm3bot sweep` reads it (SSM3_ACCOUNTS, SSM3_REGIONS, AWS_*).
`--sample` reads a seeded fraction of the account-regions (the per-instance method makes ~1,000
calls per account-region of 500 instances, so the full organisation takes many minutes);
multiply by `scale` in the output for the whole fleet. Prints one JSON line of figures;
`--failing-out` writes what it found (failing associations, NON_COMPLIANT instances).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.aws.session import AwsAccess
from bot.models import Scope
from bot.settings.config import Settings
from bot.sweeping.sweep import resolve_scopes

PAGE = 50
UNSUCCESSFUL = ("Failed", "TimedOut")
ASSOCIATION = [{"Key": "ComplianceType", "Values": ["Association"], "Type": "EQUAL"}]

Key = tuple[str, str, str]  # account, region, association or instance ID


@dataclass
class Found:
    """What the per-instance reads of one account-region learnt."""

    calls: int = 0
    failing: set[Key] = field(default_factory=set)  # make an instance NON_COMPLIANT
    run_failed: set[Key] = field(default_factory=set)  # latest run Failed/TimedOut somewhere
    noncompliant: set[Key] = field(default_factory=set)  # instances SSM.3 fails
    orphans: set[Key] = field(default_factory=set)  # items of associations no longer there


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def add(self, n: int = 1) -> None:
        with self._lock:
            self.calls += n


def read_scope(access: AwsAccess, scope: Scope, counter: Counter) -> Found:
    """Association compliance of one account-region, asked instance by instance."""
    ssm = access.ssm(scope)
    found = Found()
    here = (scope.account_id, scope.region)

    def count() -> None:
        found.calls += 1
        counter.add()

    try:
        for page in ssm.get_paginator("describe_instance_information").paginate(
            PaginationConfig={"PageSize": PAGE}
        ):
            count()
            for instance in page["InstanceInformationList"]:
                instance_id = instance["InstanceId"]
                associated: set[str] = set()
                for status_page in ssm.get_paginator(
                    "describe_instance_associations_status"
                ).paginate(InstanceId=instance_id, PaginationConfig={"PageSize": PAGE}):
                    count()
                    for info in status_page["InstanceAssociationStatusInfos"]:
                        associated.add(info["AssociationId"])
                        if info.get("Status") in UNSUCCESSFUL:
                            found.run_failed.add((*here, info["AssociationId"]))
                for items_page in ssm.get_paginator("list_compliance_items").paginate(
                    ResourceIds=[instance_id],
                    ResourceTypes=["ManagedInstance"],
                    Filters=ASSOCIATION,
                    PaginationConfig={"PageSize": PAGE},
                ):
                    count()
                    for item in items_page["ComplianceItems"]:
                        if item.get("Status") != "NON_COMPLIANT":
                            continue
                        found.noncompliant.add((*here, instance_id))
                        association_id = item.get("Id", "")
                        if association_id in associated:
                            found.failing.add((*here, association_id))
                        else:
                            found.orphans.add((*here, association_id))
    finally:
        ssm.close()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=float, default=1.0, help="fraction of account-regions")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--failing-out", help="write the failing associations and NON_COMPLIANT instances as JSON"
    )
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    access = AwsAccess.from_settings(settings)
    started = time.perf_counter()
    scopes = resolve_scopes(settings, access)
    chosen = scopes
    if args.sample < 1:
        chosen = sorted(
            random.Random(args.seed).sample(scopes, max(1, round(len(scopes) * args.sample)))
        )
    counter = Counter()
    total = Found()
    per_scope: list[int] = []
    with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
        for found in pool.map(lambda scope: read_scope(access, scope, counter), chosen):
            per_scope.append(found.calls)
            total.failing |= found.failing
            total.run_failed |= found.run_failed
            total.noncompliant |= found.noncompliant
            total.orphans |= found.orphans
    wall = time.perf_counter() - started
    if args.failing_out:
        with open(args.failing_out, "w") as out:
            json.dump(
                {
                    "scopes": [[s.account_id, s.region] for s in chosen],
                    "failing": sorted(total.failing),
                    "noncompliant": sorted(total.noncompliant),
                },
                out,
            )
    print(
        json.dumps(
            {
                "scopes": len(chosen),
                "scopes_total": len(scopes),
                "scale": len(scopes) / len(chosen),
                "concurrency": settings.concurrency,
                "ssm_calls": counter.calls,
                "ssm_calls_per_scope": [min(per_scope), max(per_scope)],
                "assume_role_calls": access.assume_role_calls,
                "failing_associations": len(total.failing),
                "run_failed_associations": len(total.run_failed),
                "noncompliant_instances": len(total.noncompliant),
                "orphans": len(total.orphans),
                "wall_s": round(wall, 2),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
