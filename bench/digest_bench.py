"""Time to build the digest and its CSV for 10,000 failing associations.

    python bench/digest_bench.py [--failing 10000] [--repeat 5]

Fills a fresh SQLite store the way sweeps do (Store.save_scope): 400 account-regions of 50
associations, half of them failing on 1 to 5 instances with the agent's error text, a tenth of
the failures acknowledged. Then times, from stored state: build_digest, the text and JSON
renderings and the CSV (bot/render/spreadsheet.py). Prints the median and best of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from bot.app.digests import build_digest
from bot.core.digest import DigestView
from bot.models import Association, FailedTarget, InstanceCompliance, Scope, ScopeResult
from bot.render.documents import digest_document
from bot.render.spreadsheet import digest_csv
from bot.render.text import render_digest
from bot.sim.fleet import CAUSES, failure_for
from bot.store import Store
from bot.util.clock import utcnow

REGIONS = ("eu-west-1", "us-east-1", "eu-central-1", "ap-southeast-2")
T = TypeVar("T")
DOCUMENTS = ("AWS-RunPatchBaseline", "AWS-UpdateSSMAgent", "AWS-ConfigureAWSPackage")


def fill(store: Store, *, failing: int, per_scope: int = 50) -> None:
    """Store sweeps' worth of associations: `failing` of them failing, in scopes of 50."""
    rng = random.Random(7)
    now = utcnow()
    failing_per_scope = per_scope // 2
    scopes = -(-failing // failing_per_scope)
    store.sweeps.begin("bench", now, scopes, "bench")
    left = failing
    for n in range(scopes):
        scope = Scope(str(100000000000 + n // len(REGIONS)), REGIONS[n % len(REGIONS)])
        associations = []
        for k in range(per_scope):
            is_failing = k < failing_per_scope and left > 0
            left -= is_failing
            document = DOCUMENTS[k % len(DOCUMENTS)]
            targets = rng.randint(5, 40)
            failures = (
                [failure_for(rng.choice(CAUSES), document, rng) for _ in range(rng.randint(1, 5))]
                if is_failing
                else []
            )
            associations.append(
                Association(
                    account_id=scope.account_id,
                    region=scope.region,
                    association_id=f"{n:04d}{k:04d}-aaaa-4bbb-8ccc-{rng.getrandbits(48):012x}",
                    association_name=f"patch-{k}-{n}" if k % 9 else None,
                    document_name=document,
                    status="Failed" if is_failing else "Success",
                    detailed_status="Failed" if is_failing else "Success",
                    counts={"Failed": len(failures), "Success": targets}
                    if is_failing
                    else {"Success": targets},
                    last_execution_at=now - timedelta(minutes=rng.randrange(5, 55)),
                    schedule="rate(1 day)",
                    execution_id=f"exec-{n}-{k}" if is_failing else None,
                    failed_targets=tuple(
                        FailedTarget(
                            instance_id=f"i-{rng.getrandbits(68):017x}",
                            detailed_status=f.detailed_status,
                            error_code=f.error_code or None,
                            summary=f.summary,
                            output_url=f"https://s3.{scope.region}.amazonaws.com/out/{i}/stderr",
                            command_id=f"cmd-{n}-{k}",
                        )
                        for i, f in enumerate(failures)
                    ),
                    failed_target_count=len(failures),
                    failing_evidence_since=now - timedelta(days=rng.randrange(1, 30)),
                )
            )
            # As the reader reconciles them: the failed instances are the NON_COMPLIANT ones.
            a = associations[-1]
            associations[-1] = replace(
                a,
                sync_compliance="AUTO" if is_failing else None,
                noncompliant_instances=tuple(t.instance_id for t in a.failed_targets),
            )
        noncompliant = tuple(
            InstanceCompliance(i, now, 1) for a in associations for i in a.noncompliant_instances
        )
        store.associations.save_scope(
            "bench",
            ScopeResult(
                scope, True, None, tuple(associations), now, 0.1, noncompliant=noncompliant
            ),
            now,
        )
    store.sweeps.finish("bench", now)
    for tracked in store.associations.tracked(failing_only=True)[::10]:
        store.acks.acknowledge(
            tracked.key,
            by="U0BENCH001",
            reason="known; patch window Saturday",
            until=now + timedelta(days=3),
            now=now,
        )


def timed(step: Callable[[], T], repeat: int) -> tuple[float, float, T]:
    """Median and best wall time of `repeat` runs, and the last run's result."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failing", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ssm3-digest-bench-") as scratch:
        store = Store(Path(scratch) / "digest.db")
        started = time.perf_counter()
        fill(store, failing=args.failing)
        print(f"store filled in {time.perf_counter() - started:.1f} s", flush=True)
        now = utcnow()
        build_median, build_best, digest = timed(lambda: build_digest(store, now), args.repeat)
        text_median, text_best, _ = timed(lambda: render_digest(DigestView(digest)), args.repeat)
        json_median, json_best, _ = timed(lambda: json.dumps(digest_document(digest)), args.repeat)
        csv_median, csv_best, csv_text = timed(lambda: digest_csv(digest), args.repeat)
        store.close()
    totals = digest.totals
    print(
        f"digest: {totals.associations} associations, {totals.failing} failing "
        f"({totals.acknowledged} acknowledged), {totals.noncompliant_instances} instances; "
        f"CSV {csv_text.count(chr(10)) - 1} rows, {len(csv_text) / 1e6:.1f} MB"
    )
    steps = [
        ("build_digest (store -> Digest)", build_median, build_best),
        ("text rendering", text_median, text_best),
        ("JSON document + json.dumps", json_median, json_best),
        ("CSV (bot/render/spreadsheet.py)", csv_median, csv_best),
    ]
    print(f"{'step':34}{'median s':>10}{'best s':>9}")
    for label, median, best in steps:
        print(f"{label:34}{median:>10.3f}{best:>9.3f}")
    digest_and_csv = build_median + csv_median
    every = sum(median for _, median, _ in steps)
    print(f"{'digest + CSV':34}{digest_and_csv:>10.3f}")
    print(f"{'digest + text + JSON + CSV':34}{every:>10.3f}")
    ok = digest_and_csv < 1.0
    print(
        f"[{'PASS' if ok else 'FAIL'}] the {totals.failing}-failure digest and its CSV in < 1 s: "
        f"{digest_and_csv:.2f} s ({every:.2f} s with the text and JSON renderings too)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
