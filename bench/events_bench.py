"""Real time: how long a queued event takes to become a Slack alert, and what a burst costs.

    python bench/events_bench.py [--events 100] [--latency-ms 50] [--burst 1000]

Everything runs on loopback in this process: the simulator (every AWS call waits
--latency-ms first), moto's SQS server, the fake Slack Web API, and the bot's Runner and
poller exactly as `serve` wires them (bot/realtime/wiring.py), with the production long poll
(WaitTimeSeconds=20: a receive returns as soon as a message is there).

1. Latency: --events times, one at a time, an association that was healthy fails in the
   simulator, its "EC2 State Manager Instance Association State Change" event is queued, and the
   clock runs until its alert is posted at the fake Slack API. p50 / p99 / max.
2. Burst: --burst events at once over 20 account-regions (5 accounts x 4 regions): instance,
   association and compliance events about 40 new failures and many healthy associations, each
   event twice or more. Counts the re-reads (ListAssociations per account-region: one per
   re-read) and the alerts; the target is at most one re-read per account-region per burst.

The three servers share this process's GIL with the bot, so the latency figures include their
CPU too (a pessimistic set-up compared with AWS).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.realtime.wiring import build_poller
from bot.scheduling.runner import Runner
from bot.settings.config import Settings
from bot.sim.events import association_event, compliance_event, instance_association_event
from bot.sim.fleet import Fleet, Latency, SimAssociation, failure_for, generate_fleet
from bot.sim.server import SimServer
from bot.slack.delivery import Delivery
from bot.slack.services import web_client
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import CHANNEL
from tests.support.realtime import ALERT
from tests.support.sim import Sim
from tests.support.sqs import MotoSqs, Queue

REGIONS = ("eu-west-1", "us-east-1", "eu-central-1", "ap-southeast-2")


def alert_count(fake: FakeSlack) -> int:
    return sum(
        1
        for m in fake.messages.values()
        if m.channel == CHANNEL and m.thread_ts is None and ALERT in (m.text or "")
    )


class Bench:
    """The simulator, moto, the fake Slack and a swept store, with the Runner `serve` builds."""

    def __init__(
        self, fleet: Fleet, latency_ms: float, folder: Path, *, visibility_s: int = 120
    ) -> None:
        import os

        self.sqs = MotoSqs()
        os.environ["AWS_ENDPOINT_URL_SQS"] = self.sqs.endpoint_url
        self.queue: Queue = self.sqs.queue(visibility_s=visibility_s, max_receives=5)
        self.server = SimServer(fleet, validate=False).start()
        self.sim = Sim(fleet, self.server)
        self.fake = FakeSlack().__enter__()
        regions = tuple(sorted({region for _, region in fleet.scopes}))
        self.settings = Settings(
            slack_bot_token=self.fake.token,
            slack_api_url=self.fake.api_url,
            channel=CHANNEL,
            accounts=tuple(fleet.accounts),
            regions=regions,
            db_path=str(folder / "bench.db"),
            concurrency=8,
            sweep_schedule="0 0 1 1 *",
            events_queue_url=self.queue.url,
        )
        self.store = Store(self.settings.db_path)
        access = self.sim.access()
        run_sweep(settings=self.settings, access=access, store=self.store, trigger="bench")
        time.sleep(1.1)  # a failure is news only in a later second than the first sweep's
        fleet.add_latency(Latency(latency_ms / 1000))
        delivery = Delivery(client=web_client(self.settings), zone=self.settings.zone)
        self.runner = Runner(
            settings=self.settings,
            store=self.store,
            access=access,
            publisher=delivery,
        )
        poller = build_poller(self.runner)
        assert poller is not None
        self.poller = poller

    def close(self) -> None:
        self.poller.stop(timeout_s=1)
        self.store.close()
        self.server.stop()
        self.fake.__exit__(None, None, None)
        self.sqs.stop()


def healthy(fleet: Fleet) -> list[SimAssociation]:
    return [
        a
        for scope in fleet.scopes.values()
        for a in scope.associations.values()
        if a.status == "Success" and a.sync_compliance == "AUTO"
    ]


def fail(fleet: Fleet, association: SimAssociation, rng: random.Random) -> dict[str, Any]:
    instance = association.instance_ids[0]
    failure = failure_for("permissions", association.document, rng)
    fleet.run_association(
        association.association_id,
        failures={instance: failure},
        at=datetime.now(UTC),
    )
    return instance_association_event(fleet, association.association_id, instance)


def latency(events: int, latency_ms: float, folder: Path) -> None:
    fleet = generate_fleet(
        seed=13, accounts=3, regions=REGIONS[:2], associations=24, failing=1, instances=20
    )
    bench = Bench(fleet, latency_ms, folder)
    rng = random.Random(1)
    try:
        candidates = healthy(fleet)
        rng.shuffle(candidates)
        assert len(candidates) >= events, f"only {len(candidates)} healthy associations"
        bench.poller.start()
        fleet.reset_calls()
        seconds: list[float] = []
        for association in candidates[:events]:
            before = alert_count(bench.fake)
            event = fail(fleet, association, rng)
            queued = time.perf_counter()
            bench.queue.send(event)
            bench.fake.wait_for(lambda b=before: alert_count(bench.fake) > b, timeout=60)
            seconds.append(time.perf_counter() - queued)
        calls = sum(fleet.calls.values())
    finally:
        bench.close()
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)]
    print(
        f"latency: {events} events, {latency_ms:g} ms on every AWS call, {len(fleet.scopes)} "
        f"account-regions of 24 associations"
    )
    print(
        f"  event queued -> alert posted: p50 {statistics.median(seconds) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms; "
        f"{calls / events:.1f} AWS calls an event"
    )


def burst(total: int, latency_ms: float, folder: Path) -> None:
    fleet = generate_fleet(
        seed=17, accounts=5, regions=REGIONS, associations=24, failing=1, instances=20
    )
    # moto's ReceiveMessage costs time in proportion to the queue's depth (about 1.4 s a call
    # with 1,000 messages queued, where SQS answers in tens of milliseconds), so the drain
    # window is opened wide enough for moto to hand over the whole burst; the messages stay
    # hidden meanwhile. With SQS the production window (5 s) holds 100 receives.
    bench = Bench(fleet, latency_ms, folder, visibility_s=1200)
    bench.poller.drain_s = 900
    rng = random.Random(2)
    try:
        candidates = healthy(fleet)
        rng.shuffle(candidates)
        broken = candidates[:40]
        events = [fail(fleet, a, rng) for a in broken]
        others = candidates[40:]
        while len(events) < total:
            kind = rng.random()
            association = rng.choice(broken if kind < 0.4 else others)
            scope, _ = fleet.find_association(association.association_id)
            if kind < 0.7:
                instance = rng.choice(list(association.instance_ids))
                events.append(
                    instance_association_event(fleet, association.association_id, instance)
                )
            elif kind < 0.85:
                events.append(association_event(fleet, association.association_id))
            else:
                instance = rng.choice(list(association.instance_ids))
                events.append(
                    compliance_event(scope.account_id, scope.region, instance, status="compliant")
                )
        rng.shuffle(events)
        bench.queue.send_many(events[:total])
        fleet.reset_calls()
        started = time.perf_counter()
        bench.poller.start()
        deadline = time.monotonic() + 300
        while sum(bench.queue.counts()) and time.monotonic() < deadline:
            time.sleep(0.05)
        while bench.poller.counts["handled"] + bench.poller.counts["contradicted"] < total:
            if time.monotonic() > deadline:
                raise SystemExit("the burst was not handled in 5 minutes")
            time.sleep(0.05)
        wall = time.perf_counter() - started
        receives = bench.poller.receives
        rereads = Counter(
            (call.account_id, call.region)
            for call, n in fleet.calls.items()
            for _ in range(n)
            if call.operation == "ListAssociations"
        )
        calls = sum(fleet.calls.values())
        alerts = alert_count(bench.fake)
        bursts = bench.poller.bursts
        new_failures = len(bench.store.associations.alertable_failures())
    finally:
        bench.close()
    worst = max(rereads.values()) if rereads else 0
    print(
        f"burst: {total} events over {len(fleet.scopes)} account-regions "
        f"({len(broken)} new failures), {latency_ms:g} ms on every AWS call"
    )
    print(
        f"  handled in {wall:.1f} s ({receives} receives) as {bursts} burst(s); re-reads: {sum(rereads.values())} "
        f"({len(rereads)} account-regions, at most {worst} each); {calls} AWS calls in all; "
        f"{alerts} alert message(s) for {new_failures} new failures"
    )
    print(
        f"  target (at most one re-read per account-region per burst): {'met' if worst <= bursts else 'NOT met'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--burst", type=int, default=1000)
    args = parser.parse_args()
    import logging
    import tempfile

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        if args.events:
            latency(args.events, args.latency_ms, Path(folder) / "latency")
        if args.burst:
            burst(args.burst, args.latency_ms, Path(folder) / "burst")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
