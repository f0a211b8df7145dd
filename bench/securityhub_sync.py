"""How long an acknowledgement takes to reach Security Hub (SSM3_SECURITYHUB=sync).

One association fails on `--instances` instances (250 by default) in the Security Hub
administrator's home region; every AWS call is answered after `--latency` seconds (50 ms). The
Slack app runs in this process behind waitress (HTTP mode), reached with correctly signed
requests, answering through the fake Slack Web API. Each run clicks Acknowledge, submits the
modal and measures: the modal submission's HTTP answer (Slack's 3-second limit), the time until
every finding is SUPPRESSED in the simulator, and until the reply is posted; then the same for
`/ssm3 unack` (findings back to NEW). `--both`: the new Security Hub is on too, and a finding
counts as acknowledged once it is SUPPRESSED in CSPM and Suppressed (StatusId 3) in the new hub.

    .venv/bin/python bench/securityhub_sync.py [--instances 250] [--latency 0.05] [--runs 5] [--both]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.sim.fleet import Fleet, Latency
from bot.sim.server import SimServer
from bot.slack import blocks as kit
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from tests.fakes.fixtures import OPERATOR, slack_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import SlackHarness, ack_values
from tests.support.findings import REGION, big_estate
from tests.support.sim import Sim
from tests.support.slack import responses


def wait(condition: Callable[[], bool], started: float, timeout: float = 60.0) -> float:
    """Seconds from `started` until `condition` holds (polled every millisecond)."""
    while not condition():
        if time.perf_counter() - started > timeout:
            raise SystemExit("timed out")
        time.sleep(0.001)
    return time.perf_counter() - started


STATUS_ID = {"SUPPRESSED": 3, "NEW": 1}


def all_are(fleet: Fleet, workflow: str) -> Callable[[], bool]:
    """Every finding in `workflow` in CSPM (and, with the new hub on, its StatusId there)."""

    def check() -> bool:
        with fleet.lock:
            return all(
                f.workflow_status == workflow
                and (not fleet.hub_v2 or f.v2_status_id == STATUS_ID[workflow])
                for f in fleet.findings.values()
            )

    return check


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=250)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--both", action="store_true", help="the new Security Hub on too")
    args = parser.parse_args()

    fleet, association_id = big_estate(args.instances)
    fleet.hub_v2 = args.both
    acks, suppressed, replied, unacked = [], [], [], []
    calls: list[tuple[int, ...]] = []
    with tempfile.TemporaryDirectory() as scratch, FakeSlack() as fake, SimServer(fleet) as server:
        sim = Sim(fleet, server)
        settings = slack_settings(
            fake, os.path.join(scratch, "bench.db"), regions=(REGION,), securityhub="sync"
        )
        store = Store(settings.db_path)
        access = sim.access()
        run_sweep(settings=settings, access=access, store=store, trigger="bench")
        [key] = [t.key for t in store.associations.tracked(failing_only=True)]
        harness = SlackHarness(
            settings=settings, store=store, access=access, fake=fake, over_http=True
        ).start()
        fleet.add_latency(Latency(args.latency))  # every AWS call from here on
        try:
            for run in range(args.runs):
                opened = len(fake.calls_to("views.open", ok=True))
                click = harness.click(
                    kit.ACTION_ACK, kit.key_value(key), user=OPERATOR, ephemeral=True
                )
                wait(
                    lambda n=opened: len(fake.calls_to("views.open", ok=True)) > n,
                    time.perf_counter(),
                )
                view = fake.calls_to("views.open", ok=True)[opened].params["view"]
                fleet.reset_calls()
                started = time.perf_counter()
                reply = harness.submit_view(view, ack_values(f"bench run {run}"), user=OPERATOR)
                acks.append(time.perf_counter() - started)
                assert reply.status == 200, reply.status
                suppressed.append(wait(all_are(fleet, "SUPPRESSED"), started))
                url = click.response_url
                replied.append(wait(lambda u=url: bool(responses(fake, u)), started))
                calls.append(
                    tuple(
                        fleet.call_count(operation)
                        for operation in (
                            "BatchUpdateFindings",
                            "GetFindings",
                            "BatchUpdateFindingsV2",
                            "GetFindingsV2",
                        )
                    )
                )
                started = time.perf_counter()
                command = harness.command(f"unack {association_id}", user=OPERATOR)
                assert command.status == 200
                unacked.append(wait(all_are(fleet, "NEW"), started))
                url = command.response_url
                wait(lambda u=url: bool(responses(fake, u)), started)
        finally:
            harness.stop()
            store.close()
    report(args, acks=acks, suppressed=suppressed, replied=replied, unacked=unacked, calls=calls)
    print(f"reply: {responses(fake, click.response_url)[0]['text'][:200]}")
    return 0


def report(
    args: argparse.Namespace,
    *,
    acks: list[float],
    suppressed: list[float],
    replied: list[float],
    unacked: list[float],
    calls: list[tuple[int, ...]],
) -> None:
    def figures(values: list[float]) -> str:
        ms = [v * 1000 for v in values]
        return f"median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms"

    print(
        f"{args.instances} affected instances, every AWS call answered after "
        f"{args.latency * 1000:g} ms, {args.runs} runs ({os.cpu_count()} cores)"
        + (", both Security Hubs on" if args.both else "")
    )
    print(f"modal submit -> HTTP answer to Slack (the ack): {figures(acks)}")
    print(f"modal submit -> every finding SUPPRESSED:       {figures(suppressed)}")
    print(f"modal submit -> reply posted:                    {figures(replied)}")
    print(f"/ssm3 unack  -> every finding NEW:              {figures(unacked)}")
    print(
        "AWS calls per acknowledgement (BatchUpdateFindings, GetFindings, BatchUpdateFindingsV2, "
        f"GetFindingsV2): {sorted(set(calls))}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
