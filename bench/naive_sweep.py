"""The naive baseline: what per-instance compliance tools do, against the same fleet.

For every account-region: DescribeInstanceInformation (paginated, 50 a page), then
DescribeInstanceAssociationsStatus for every instance; an association is failing when any
instance reports it Failed. It runs with the bot's own AwsAccess (one AssumeRole per account,
one client per account-region) and the same pool size (SSM3_CONCURRENCY), so the only
difference from `ssm3bot sweep` is the method.

    python bench/naive_sweep.py [--sample 0.1] [--seed 7] [--failing-out FILE]

The environment is read as `ssm3bot sweep` reads it (SSM3_ACCOUNTS, SSM3_REGIONS, AWS_*).
`--sample` reads a seeded fraction of the account-regions (the per-instance method makes ~500
calls per account-region, so the full organisation takes minutes); multiply by
`scale` in the output for the whole fleet. Prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bot.aws.session import AwsAccess
from bot.config import Settings
from bot.models import Scope
from bot.sweep import resolve_scopes

PAGE = 50


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def add(self, n: int = 1) -> None:
        with self._lock:
            self.calls += n


def read_scope(access: AwsAccess, scope: Scope, counter: Counter) -> set[tuple[str, str, str]]:
    """The failing associations of one account-region, asked instance by instance."""
    ssm = access.ssm(scope)
    failing: set[tuple[str, str, str]] = set()
    try:
        for page in ssm.get_paginator("describe_instance_information").paginate(
            PaginationConfig={"PageSize": PAGE}
        ):
            counter.add()
            for instance in page["InstanceInformationList"]:
                for status_page in ssm.get_paginator(
                    "describe_instance_associations_status"
                ).paginate(InstanceId=instance["InstanceId"], PaginationConfig={"PageSize": PAGE}):
                    counter.add()
                    for info in status_page["InstanceAssociationStatusInfos"]:
                        if info.get("Status") == "Failed":
                            failing.add((scope.account_id, scope.region, info["AssociationId"]))
    finally:
        ssm.close()
    return failing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=float, default=1.0, help="fraction of account-regions")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--failing-out", help="write the failing associations found as JSON")
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
    failing: set[tuple[str, str, str]] = set()
    with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
        for found in pool.map(lambda scope: read_scope(access, scope, counter), chosen):
            failing |= found
    wall = time.perf_counter() - started
    if args.failing_out:
        with open(args.failing_out, "w") as out:
            json.dump(
                {"scopes": [[s.account_id, s.region] for s in chosen], "failing": sorted(failing)},
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
                "assume_role_calls": access.assume_role_calls,
                "failing_associations": len(failing),
                "wall_s": round(wall, 2),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
