"""How long `ssm3bot doctor` takes on an organisation, and what one dead region costs.

    python bench/doctor_time.py [--accounts 50] [--regions 4] [--latency 0.02]

The simulated AWS (in this process, on loopback) answers every call after `--latency`
seconds; the fake Slack Web API answers at once. Doctor runs with its own AWS options (two
attempts, 3 s connect and 10 s read timeouts) and SSM3_CONCURRENCY account-regions at a time,
first on a healthy organisation, then with one region's endpoint dropping every connection.
Prints wall time, AWS calls and checklist lines for each.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.aws.session import AwsAccess
from bot.doctor import run_doctor
from bot.doctor.aws import ACCESS_OPTIONS
from bot.settings.config import Settings
from bot.sim.fleet import Fault, Latency, generate_fleet
from bot.sim.server import SimServer
from tests.fakes.slack_api import FakeSlack
from tests.support.sim import Sim

REGIONS = ("eu-west-1", "us-east-1", "eu-central-1", "ap-southeast-2", "us-west-2", "sa-east-1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--regions", type=int, default=4, choices=range(1, len(REGIONS) + 1))
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per AWS call")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    regions = REGIONS[: args.regions]
    fleet = generate_fleet(
        seed=3, accounts=args.accounts, regions=regions, associations=20, failing=2, instances=20
    )
    fleet.add_latency(Latency(args.latency))
    with SimServer(fleet) as server, FakeSlack() as slack:
        sim = Sim(fleet, server)
        settings = Settings(
            slack_bot_token=slack.token,
            slack_app_token=slack.app_token,
            slack_api_url=slack.api_url,
            channel="C0123456789",
            regions=regions,
            accounts_from_org=True,
            db_path=str(Path(tempfile.gettempdir()) / "doctor-bench.db"),
            concurrency=args.concurrency,
        )

        def access() -> AwsAccess:
            return sim.access(**ACCESS_OPTIONS)

        print(
            f"{args.accounts} accounts x {len(regions)} regions, {args.latency * 1000:.0f} ms a "
            f"call, concurrency {args.concurrency}"
        )
        for label in ("healthy organisation", "one region drops every connection"):
            if label.startswith("one"):
                fleet.inject(Fault(drop=True, account_id=fleet.caller_account, region=regions[-1]))
            fleet.reset_calls()
            started = time.monotonic()
            report = run_doctor(settings, [], now=datetime.now(UTC), make_access=access)
            elapsed = time.monotonic() - started
            print(
                f"  {label}: {elapsed:.1f} s, {sum(fleet.calls.values())} AWS calls, "
                f"{len(report.checks)} lines, {report.count('fail')} failed, exit {report.exit_code}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
