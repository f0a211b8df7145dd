"""Triage against a full sweep for a large organisation: AWS calls, wall time, peak memory.

    python bench/triage_bench.py [--accounts 1000] [--regions 17] [--failing-every 100]
                                 [--latency-ms 20] [--concurrency 8]

The simulator runs in its own process (bench/simulator.py): --accounts accounts (SSM3_ACCOUNTS
=org) x --regions regions, each account-region with 4 associations and 6 instances, failures
(1 association on 1-2 instances) in every --failing-every-th account-region only, and
--latency-ms on every AWS call; Security Hub's findings are aggregated in the first region.

Each figure comes from a fresh bot process on the same SQLite file (the Runner as `serve`
runs it, SSM3_TRIAGE=securityhub), measured with wait4 (wall time, peak RSS) and the
simulator's own call counts:

1. a full sweep (every account-region), as the full-sweep schedule runs it;
2. a triage sweep right after it: one paginated GetFindings, then only the account-regions
   Security Hub or the store name;
3. one event's re-read of one account-region (Runner.refresh_scopes), for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from org_sweep import run_process
from simulator import FleetShape, SimProcess, total

ALL_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "sa-east-1",
)


def child(mode: str) -> int:
    """In the bot's own process: one sweep of `mode` with the settings of the environment."""
    from bot.aws.session import AwsAccess
    from bot.models import Scope
    from bot.scheduling.runner import Runner
    from bot.settings.config import Settings
    from bot.store import Store

    settings = Settings.from_env(dotenv=None)
    store = Store(settings.db_path)
    runner = Runner(
        settings=settings, store=store, access=AwsAccess.from_settings(settings), publisher=None
    )
    if mode == "event":
        summary = runner.refresh_scopes([Scope(os.environ["BENCH_ACCOUNT"], settings.regions[0])])
    else:
        summary = runner.sweep("full-schedule" if mode == "full" else "schedule")
    print(
        json.dumps(
            {"coverage": summary.coverage, "scopes": summary.scopes, "failing": summary.failing}
        )
    )
    store.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--failing-every", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--child", choices=("full", "triage", "event"))
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    shape = FleetShape(
        accounts=args.accounts,
        regions=ALL_REGIONS[: args.regions],
        associations=4,
        failing=1,
        instances=6,
        failed_instances=(1, 2),
        latency_ms=args.latency_ms,
        failing_every=args.failing_every,
    )
    print(f"fleet: {shape.describe()}; failures in every {args.failing_every}th account-region")
    with tempfile.TemporaryDirectory() as folder, SimProcess(shape) as sim:
        print(f"simulator up in {sim.start_s:.1f} s ({shape.scopes} account-regions)")
        env = sim.env(
            SSM3_ACCOUNTS="org",
            SSM3_REGIONS=",".join(shape.regions),
            SSM3_DB_PATH=str(Path(folder) / "triage.db"),
            SSM3_CONCURRENCY=str(args.concurrency),
            SSM3_TRIAGE="securityhub",
            SSM3_FULL_SWEEP_SCHEDULE="0 0 1 1 *",
            BENCH_ACCOUNT=sim.accounts[0],
        )
        sim.counts()
        rows = []
        for mode in ("full", "triage", "event"):
            run = run_process([sys.executable, __file__, "--child", mode], env)
            counts = sim.counts()
            result = json.loads(run.stdout)
            rows.append((mode, result, counts, run))
            findings = total(counts, "GetFindings")
            print(
                f"{mode:>6}: {result['coverage']}, {result['scopes']} account-regions read, "
                f"{total(counts)} AWS calls ({findings} GetFindings, "
                f"{total(counts, 'ListAssociations')} ListAssociations, "
                f"{total(counts, 'AssumeRole')} AssumeRole), {run.wall_s:.1f} s wall, "
                f"{run.cpu_s:.1f} s CPU, peak RSS {run.peak_rss_mb:.0f} MB"
            )
        full, triage = rows[0], rows[1]
        print(
            f"triage / full: {total(triage[2]) / max(1, total(full[2])):.3f} of the calls, "
            f"{triage[3].wall_s / full[3].wall_s:.3f} of the wall time"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
