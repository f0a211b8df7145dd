"""How fast Slack gets its HTTP 200 while AWS is slow.

The simulated AWS answers every call after 2 s (Latency(2.0)); the app is the real
`ssm3bot serve` in its own process (HTTP mode, waitress), talking to the fake Slack Web API
and to the simulator, both in this process. 200 correctly
signed slash commands and button clicks (every kind: status, history, rerun, ack, unack, sweep,
audit, help; History / Re-run / Acknowledge buttons) are sent 10 at a time, each on a new
connection as Slack does; the time to HTTP 200 is measured per request.

    .venv/bin/python bench/ack_latency.py [--requests 200] [--concurrency 10] [--aws-latency 2]
                                          [--slowest N]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app.digests import DigestComposer
from bot.sim.fleet import Latency, generate_fleet
from bot.sim.server import SimServer
from bot.slack import blocks as kit
from bot.slack.delivery import Delivery
from bot.slack.services import web_client
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from bot.util.clock import utcnow
from tests.fakes.fixtures import OPERATOR, slack_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import CHANNEL, SIGNING_SECRET, SignedRequests
from tests.support.sim import Sim


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--aws-latency", type=float, default=2.0)
    parser.add_argument("--slowest", type=int, default=0, help="also list the N slowest requests")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch, FakeSlack() as fake:
        server = SimServer(generate_fleet(seed=11, accounts=2)).start()
        sim = Sim(server.fleet, server)
        settings = slack_settings(fake, os.path.join(scratch, "bench.db"))
        store = Store(settings.db_path)
        run_sweep(settings=settings, access=sim.access(), store=store, trigger="bench")
        post = Delivery(client=web_client(settings)).post_digest(
            CHANNEL, DigestComposer(store=store).whole(utcnow())
        )
        port = free_port()
        env = sim.env(
            SLACK_BOT_TOKEN=fake.token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SSM3_SLACK_API_URL=fake.api_url,
            SSM3_CHANNEL=CHANNEL,
            SSM3_REGIONS="eu-west-1,us-east-1",
            SSM3_HTTP_PORT=str(port),
            SSM3_DB_PATH=settings.db_path,
            SSM3_OPERATORS=",".join(settings.operators),
        )
        app = subprocess.Popen(
            [str(Path(sys.executable).with_name("ssm3bot")), "serve"],
            env={"PATH": "/usr/bin:/bin", "HOME": scratch, **env},
            cwd=scratch,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_healthy(port)
            sim.fleet.add_latency(Latency(args.aws_latency))  # every AWS call from here on: slow
            slack = SignedRequests(port, fake)
            kinds = request_mix(store, args.requests)

            def send(kind: tuple[str, ...]) -> tuple[float, int]:
                started = time.perf_counter()
                if kind[0] == "command":
                    reply = slack.command(kind[1], user=OPERATOR)
                else:
                    reply = slack.click(kind[1], kind[2], user=OPERATOR, message_ts=post.ts)
                return time.perf_counter() - started, reply.status

            began = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
                results = list(pool.map(send, kinds))
            wall = time.perf_counter() - began
        finally:
            app.terminate()
            app.wait(timeout=10)
            server.stop()
            store.close()
    times = [t * 1000 for t, _ in results]
    for i in sorted(range(len(times)), key=lambda i: -times[i])[: args.slowest]:
        print(f"slow: request #{i} {' '.join(kinds[i][:2])}: {times[i]:.1f} ms")
    statuses = sorted({s for _, s in results})
    print(
        f"{len(results)} signed requests ({sum(k[0] == 'command' for k in kinds)} slash commands, "
        f"{sum(k[0] == 'click' for k in kinds)} button clicks), {args.concurrency} at a time, "
        f"AWS answering after {args.aws_latency:g} s; HTTP statuses {statuses}"
    )
    print(
        f"time to HTTP 200: p50 {statistics.median(times):.1f} ms, "
        f"p99 {percentile(times, 0.99):.1f} ms, max {max(times):.1f} ms "
        f"({len(results) / wall:.0f} requests/s; {os.cpu_count()} cores)"
    )
    print(
        f"AWS calls the app had started meanwhile (after its acks): {sim.fleet.call_count()}; "
        f"Slack API calls and responses: {len(fake.calls)}"
    )
    return 0 if statuses == [200] else 1


def request_mix(store: Store, count: int) -> list[tuple[str, ...]]:
    """Every command and button in turn, over the failing associations."""
    keys = [t.key for t in store.associations.tracked(failing_only=True)]
    kinds: list[tuple[str, ...]] = []
    for n in range(count):
        key = keys[n % len(keys)]
        aid, value = key.association_id, kit.key_value(key)
        kinds.append(
            [
                ("command", f"status {key.account_id}"),
                ("command", f"history {aid}"),
                ("click", kit.ACTION_HISTORY, value),
                ("click", kit.ACTION_RERUN, value),
                ("command", f"rerun {aid}"),
                ("click", kit.ACTION_ACK, value),
                ("command", f"ack {aid} for 1d bench"),
                ("command", f"unack {aid}"),
                ("command", "audit"),
                ("command", "help" if n % 20 else "sweep"),
            ][n % 10]
        )
    return kinds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.05)
        finally:
            conn.close()
    raise SystemExit("ssm3bot serve did not start")


if __name__ == "__main__":
    raise SystemExit(main())
