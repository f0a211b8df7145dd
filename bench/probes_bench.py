"""What /metrics and /healthz cost at organisation scale, now that the gauges are read from the
store at every scrape; and what the scheduled-jobs poll costs with a backlog.

    python bench/probes_bench.py [--failing 10000] [--jobs 1000] [--repeat 20]

Fills a fresh store as bench/digest_bench.py does (400 account-regions of 50 associations,
`--failing` of them failing, a tenth of those acknowledged), adds `--jobs` pending re-run
follow-ups due in an hour, then times from stored state (median and best of `--repeat`):
one /metrics exposition (every gauge counted in SQLite), one /healthz document (the checks and
the freshness read), and one poll of the scheduled jobs that finds none due.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from digest_bench import fill, timed

from bot.app.jobs import ScheduledJobs
from bot.ops.liveness import Liveness
from bot.ops.metrics import Metrics
from bot.ops.probes import Probes
from bot.settings.config import Settings
from bot.store import Store
from bot.util.clock import utcnow


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failing", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ssm3-probes-bench-") as scratch:
        store = Store(Path(scratch) / "probes.db")
        started = time.perf_counter()
        fill(store, failing=args.failing)
        now = utcnow()
        for n in range(args.jobs):
            store.jobs.add("rerun_follow_up", now + timedelta(hours=1), {"rerun_id": n}, now)
        print(f"store filled in {time.perf_counter() - started:.1f} s", flush=True)
        settings = Settings(db_path=str(store.path))
        metrics = Metrics()
        metrics.watch(store, settings, utcnow)
        liveness = Liveness()
        liveness.add("database", store.ping)
        probes = Probes(
            liveness=liveness, metrics=metrics, store=store, settings=settings, clock=utcnow
        )
        jobs = ScheduledJobs(store)
        jobs.register("rerun_follow_up", lambda job: "done")

        rows = [
            (
                "/metrics (exposition, gauges from the store)",
                timed(metrics.exposition, args.repeat),
            ),
            ("/healthz (checks + freshness)", timed(probes.health, args.repeat)),
            (
                f"scheduled-jobs poll ({args.jobs} pending, none due)",
                timed(jobs.run_due, args.repeat),
            ),
        ]
        associations = store.associations.count()
        print(f"{associations} associations, {args.failing} failing, {args.jobs} pending jobs")
        print("| step | median | best |\n|---|---:|---:|")
        for name, (median, best, _) in rows:
            print(f"| {name} | {median * 1000:.2f} ms | {best * 1000:.2f} ms |")
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
