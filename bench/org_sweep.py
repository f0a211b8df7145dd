"""Sweep economy at organisation scale: AWS calls, wall time and peak memory of a first sweep,
a second sweep of the unchanged fleet, and the naive per-instance baseline.

    python bench/org_sweep.py [--accounts 100] [--concurrency 8] [--naive-sample 0.1]
                              [--manual 2] [--manual-noncompliant 1,3] [--timed-out 1]
                              [--no-patch-noise]

The fleet is issue 7's (50 associations, 2 failing on 1-5 instances, 500 instances per
account-region) plus, by default, what SSM.3 adds per account-region: 2 MANUAL patch-scanning
associations (AWS-RunPatchBaselineAssociation) reporting 1-3 NON_COMPLIANT instances each while
every run succeeds, 1 association whose latest run timed out on 1-2 instances, and Patch and
Custom compliance noise on a few instances (`--manual 0 --timed-out 0 --no-patch-noise`: the
issue-7 fleet).

The simulator runs in its own process (bench/simulator.py) with 20 ms of latency on every AWS
call and its response shape checks on; every bot-side figure comes from a separate process
too, so neither side's memory is counted as the other's:

- first and second sweep: the real CLI, `python -m bot sweep`, each in a fresh process
  (so the second one assumes each account's role again, as a cron job would);
- a second sweep inside the same process as the first, as `serve` runs them;
- the naive baseline: bench/naive_sweep.py on a seeded sample of the account-regions, scaled
  up (its calls per account-region are the same everywhere: 10 DescribeInstanceInformation
  pages + 500 DescribeInstanceAssociationsStatus + 500 ListComplianceItems on this fleet; the
  script checks that they were).

Calls are the simulator's own counts. Peak memory is the bot process's maximum RSS (wait4).
Exit status 0 when every target is met (issue 7's, with the first sweep still >= 40x fewer
calls than naive, and the naive and the bot agreeing on SSM.3's NON_COMPLIANT instances).
Takes about 10 minutes on 2 cores, most of it the simulator rebuilding its Security Hub
findings for every GetFindings page (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator import FleetShape, SimProcess, total

DISCOVERY = ("GetCallerIdentity", "ListAccounts")
LISTINGS = ("ListAssociations", "ListResourceComplianceSummaries")
CROSS_CHECK = ("GetFindings",)


@dataclass(frozen=True)
class Run:
    wall_s: float
    peak_rss_mb: float
    cpu_s: float
    stdout: str


def run_process(command: list[str], env: Mapping[str, str], stdin: str | None = None) -> Run:
    """Run a bot-side process; its wall time, CPU and peak RSS from wait4."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=out, stderr=err, stdin=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if process.returncode != 0:
            err.seek(0)
            raise RuntimeError(
                f"{' '.join(command)} exited {process.returncode}: {err.read()[-2000:]}"
            )
        out.seek(0)
        return Run(wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, out.read())


def sweep_twice_in_one_process() -> int:
    """Child mode: two sweeps in one process, as `serve` runs them; waits between them."""
    from bot.aws.session import AwsAccess
    from bot.settings.config import Settings
    from bot.store import Store
    from bot.sweeping.sweep import run_sweep

    settings = Settings.from_env()
    access = AwsAccess.from_settings(settings)
    store = Store(settings.db_path)
    for n in (1, 2):
        started = time.perf_counter()
        summary = run_sweep(settings=settings, access=access, store=store, trigger="bench")
        print(
            json.dumps(
                {"sweep": n, "wall_s": time.perf_counter() - started, "failing": summary.failing}
            )
        )
        sys.stdout.flush()
        if n == 1:
            sys.stdin.readline()  # the parent reads the simulator's counts in between
    return 0


def sweep_in_process_pair(sim: SimProcess, env: Mapping[str, str]) -> tuple[dict[str, int], float]:
    """The second of two sweeps in one process: its calls and wall time."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child-twice"],
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    json.loads(process.stdout.readline())
    sim.counts()  # the first sweep's calls: measured by the CLI run already
    process.stdin.write("go\n")
    process.stdin.flush()
    second = json.loads(process.stdout.readline())
    process.wait(timeout=60)
    return sim.counts(), second["wall_s"]


def describe(counts: Mapping[str, int]) -> str:
    ordered = sorted(counts.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{n} {name.split(':')[1]}" for name, n in ordered)


@dataclass(frozen=True)
class Figures:
    shape: FleetShape
    concurrency: int
    first: Run
    first_calls: dict[str, int]
    second: Run
    second_calls: dict[str, int]
    in_process_calls: dict[str, int]
    in_process_wall_s: float
    naive: Run
    naive_calls: dict[str, int]
    naive_figures: dict[str, Any]
    agreement: Agreement
    first_stored: dict[str, Any]
    sim_cpu_first_s: float
    sim_cpu_naive_s: float


def measure(shape: FleetShape, concurrency: int, naive_sample: float) -> Figures:
    with tempfile.TemporaryDirectory(prefix="ssm3-bench-") as scratch, SimProcess(shape) as sim:
        print(f"simulator: fleet generated and serving in {sim.start_s:.1f} s", flush=True)
        db = str(Path(scratch) / "bench.db")
        env = sim.env(
            SSM3_ACCOUNTS="org",
            SSM3_REGIONS=",".join(shape.regions),
            SSM3_DB_PATH=db,
            SSM3_CONCURRENCY=str(concurrency),
        )
        cli = [sys.executable, "-m", "bot", "sweep"]
        cpu_before = sim.cpu_s()
        first = run_process(cli, env)
        first_calls = sim.counts()
        first_stored = _stored_after_sweep(db)
        sim_cpu_first = sim.cpu_s() - cpu_before
        second = run_process(cli, env)
        second_calls = sim.counts()
        in_process_calls, in_process_wall = sweep_in_process_pair(sim, env)
        failing_out = Path(scratch) / "naive.json"
        cpu_before = sim.cpu_s()
        naive = run_process(
            [
                sys.executable,
                str(Path(__file__).with_name("naive_sweep.py")),
                f"--sample={naive_sample}",
                f"--seed={shape.seed}",
                f"--failing-out={failing_out}",
            ],
            env,
        )
        naive_calls = sim.counts()
        return Figures(
            shape=shape,
            concurrency=concurrency,
            first=first,
            first_calls=first_calls,
            second=second,
            second_calls=second_calls,
            in_process_calls=in_process_calls,
            in_process_wall_s=in_process_wall,
            naive=naive,
            naive_calls=naive_calls,
            naive_figures=json.loads(naive.stdout),
            agreement=_naive_agrees(db, failing_out),
            first_stored=first_stored,
            sim_cpu_first_s=sim_cpu_first,
            sim_cpu_naive_s=sim.cpu_s() - cpu_before,
        )


def report(f: Figures) -> bool:
    """Print the figures and the targets; True when every target is met."""
    accounts, scopes = f.shape.accounts, f.shape.scopes
    listings = total(f.first_calls, *LISTINGS)
    findings_pages = total(f.first_calls, *CROSS_CHECK)
    scale = f.naive_figures["scale"]
    waves_full = math.ceil(scopes / f.concurrency)
    waves_sample = math.ceil(f.naive_figures["scopes"] / f.concurrency)
    naive_ssm = total(f.naive_calls) - total(f.naive_calls, "AssumeRole", *DISCOVERY)
    # Every account but the caller's is assumed once, whatever the sample.
    naive_calls = round(naive_ssm * scale) + (accounts - 1) + total(f.naive_calls, *DISCOVERY)
    naive_wall = f.naive.wall_s * waves_full / waves_sample
    first_calls, second_calls = total(f.first_calls), total(f.second_calls)

    rows = [
        ("first sweep (CLI)", first_calls, f.first.wall_s, f.first.peak_rss_mb, f.first.cpu_s),
        (
            "second sweep (fresh CLI process)",
            second_calls,
            f.second.wall_s,
            f.second.peak_rss_mb,
            f.second.cpu_s,
        ),
        ("second sweep (same process)", total(f.in_process_calls), f.in_process_wall_s, None, None),
        (
            f"naive, measured on {f.naive_figures['scopes']} scopes",
            total(f.naive_calls),
            f.naive.wall_s,
            f.naive.peak_rss_mb,
            f.naive.cpu_s,
        ),
        (f"naive, scaled to {scopes} scopes", naive_calls, naive_wall, None, None),
    ]
    print()
    print(f"{'':34}{'AWS calls':>10}{'wall s':>9}{'peak MB':>9}{'bot CPU s':>10}")
    for label, calls, wall, rss, cpu in rows:
        rss_text = f"{rss:>9.0f}" if rss is not None else " " * 9
        cpu_text = f"{cpu:>10.1f}" if cpu is not None else ""
        print(f"{label:34}{calls:>10}{wall:>9.1f}{rss_text}{cpu_text}")
    print()
    print(f"first sweep:   {describe(f.first_calls)}")
    print(f"second (CLI):  {describe(f.second_calls)}")
    print(f"second (same): {describe(f.in_process_calls)}")
    print(f"naive sample:  {describe(f.naive_calls)}")
    stored, a = f.first_stored, f.agreement
    print(
        f"first sweep stored: {stored['associations']} associations, {stored['failing']} failing, "
        f"{stored['noncompliant_instances']} NON_COMPLIANT instances, "
        f"{stored['orphans']} orphans; Security Hub check: {stored['security_hub']}"
    )
    print(
        f"naive sample found: {f.naive_figures['failing_associations']} failing associations "
        f"({f.naive_figures['run_failed_associations']} with a failed or timed-out run), "
        f"{f.naive_figures['noncompliant_instances']} NON_COMPLIANT instances, "
        f"{f.naive_figures['orphans']} orphans; "
        f"{f.naive_figures['ssm_calls_per_scope']} SSM calls per account-region (min, max)"
    )
    print(
        f"simulator CPU: {f.sim_cpu_first_s:.1f} s during the first sweep, "
        f"{f.sim_cpu_naive_s:.1f} s during the naive sample"
    )
    # The naive method's calls in one account-region are sequential: its wall time can be no
    # less than waves x calls x latency, however fast the simulator and the bot's CPU are.
    floor = waves_full * f.naive_figures["ssm_calls_per_scope"][1] * f.shape.latency_ms / 1000
    print(
        f"naive latency floor at {scopes} scopes: {floor:.0f} s ({waves_full} waves x "
        f"{f.naive_figures['ssm_calls_per_scope'][1]} sequential calls x {f.shape.latency_ms:g} ms)"
    )
    print()
    sweep_part = second_calls - total(f.second_calls, *DISCOVERY, *CROSS_CHECK)
    same_other = total(f.in_process_calls) - total(
        f.in_process_calls, *LISTINGS, *DISCOVERY, *CROSS_CHECK
    )
    low, high = f.naive_figures["ssm_calls_per_scope"]
    checks = [
        (
            f"first sweep makes >= 40x fewer calls than naive: {naive_calls / first_calls:.1f}x",
            naive_calls / first_calls >= 40,
        ),
        (
            f"first sweep finishes >= 10x sooner than naive: {naive_wall / f.first.wall_s:.1f}x",
            naive_wall / f.first.wall_s >= 10,
        ),
        (
            f"second sweep (CLI) <= {listings} listing pages + {accounts} AssumeRole: "
            f"{sweep_part}, plus {findings_pages} GetFindings pages and "
            f"{total(f.second_calls, *DISCOVERY)} to list the accounts "
            f"({naive_calls / second_calls:.0f}x fewer than naive)",
            sweep_part <= listings + accounts
            and total(f.second_calls, *LISTINGS) == listings
            and total(f.second_calls, "AssumeRole") <= accounts
            and total(f.second_calls, *CROSS_CHECK) == findings_pages,
        ),
        (
            f"second sweep (same process): {total(f.in_process_calls, 'AssumeRole')} AssumeRole, "
            f"{same_other} calls besides the listings and GetFindings",
            same_other == 0,
        ),
        (
            f"peak memory < 300 MB: first {f.first.peak_rss_mb:.0f} MB, second {f.second.peak_rss_mb:.0f} MB",
            max(f.first.peak_rss_mb, f.second.peak_rss_mb) < 300,
        ),
        (
            f"naive finds the same {a.naive_failing} failing associations in its sample as the "
            f"sweep stored ({a.stored_failing})",
            a.failing_agree,
        ),
        (
            f"naive finds the same {a.naive_noncompliant} NON_COMPLIANT instances (SSM.3's count) "
            f"in its sample as the sweep stored ({a.stored_noncompliant})",
            a.noncompliant_agree,
        ),
        (
            f"naive's calls are the same in every account-region ({low}-{high}), so scaling is exact",
            low == high,
        ),
    ]
    for text, ok in checks:
        print(f"[{'PASS' if ok else 'FAIL'}] {text}")
    print(
        f"(naive scaled: calls x{scale:g} by account-regions, wall x{waves_full / waves_sample:g} "
        f"by waves of {f.concurrency})"
    )
    return all(ok for _, ok in checks)


def _low_high(value: str) -> tuple[int, int]:
    low, _, high = value.replace("-", ",").partition(",")
    return int(low), int(high or low)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--naive-sample", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--manual", type=int, default=2, help="MANUAL patch associations per account-region"
    )
    parser.add_argument(
        "--manual-noncompliant",
        type=_low_high,
        default=(1, 3),
        metavar="LO,HI",
        help="NON_COMPLIANT instances each MANUAL association reports",
    )
    parser.add_argument(
        "--timed-out", type=int, default=1, help="timed-out associations per account-region"
    )
    parser.add_argument(
        "--no-patch-noise", action="store_true", help="no Patch/Custom compliance noise"
    )
    parser.add_argument(
        "--no-validate",
        action="store_true",
        help="turn the simulator's response shape checks off (they cost it ~0.1-0.4 ms a call)",
    )
    parser.add_argument("--child-twice", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_twice:
        return sweep_twice_in_one_process()
    shape = FleetShape(
        accounts=args.accounts,
        seed=args.seed,
        validate=not args.no_validate,
        manual=args.manual,
        manual_noncompliant=args.manual_noncompliant,
        patch_noise=not args.no_patch_noise,
        timed_out=args.timed_out,
    )
    print(f"fleet: {shape.describe()}")
    print(
        f"concurrency {args.concurrency}; the simulator in its own process, "
        f"shape checks {'off' if args.no_validate else 'on'}",
        flush=True,
    )
    return 0 if report(measure(shape, args.concurrency, args.naive_sample)) else 1


@dataclass(frozen=True)
class Agreement:
    """The naive sample's findings beside what the sweep stored for the same account-regions."""

    naive_failing: int
    stored_failing: int
    failing_agree: bool
    naive_noncompliant: int
    stored_noncompliant: int
    noncompliant_agree: bool


def _stored_after_sweep(db: str) -> dict[str, Any]:
    """The headline of the sweep just stored: SSM.3's count and the Security Hub check."""
    from bot.store import Store

    store = Store(db)
    try:
        summary = store.last_sweep()
        assert summary is not None
        check = store.security_hub_check()
        if check is None:
            verdict = "not run"
        elif check.error:
            verdict = f"error {check.error}"
        elif check.agrees:
            verdict = f"{check.failed_instances} FAILED instances, agrees with the sweep"
        else:
            verdict = (
                f"{check.failed_instances} FAILED instances, {len(check.unexplained)} "
                f"unexplained, {len(check.sweep_only)} the sweep's only"
            )
        return {
            "associations": summary.associations,
            "failing": summary.failing,
            "noncompliant_instances": summary.noncompliant_instances,
            "orphans": len(store.orphans()),
            "security_hub": verdict,
        }
    finally:
        store.close()


def _naive_agrees(db: str, failing_out: Path) -> Agreement:
    from bot.store import Store

    found = json.loads(failing_out.read_text())
    sampled = {tuple(s) for s in found["scopes"]}
    store = Store(db)
    try:
        stored_failing = {
            (t.key.account_id, t.key.region, t.key.association_id)
            for t in store.associations.tracked(failing_only=True)
            if (t.key.account_id, t.key.region) in sampled
        }
        stored_noncompliant = {
            (k.account_id, k.region, k.instance_id)
            for k in store.noncompliant_instances()
            if (k.account_id, k.region) in sampled
        }
    finally:
        store.close()
    naive_failing = {tuple(k) for k in found["failing"]}
    naive_noncompliant = {tuple(k) for k in found["noncompliant"]}
    return Agreement(
        naive_failing=len(naive_failing),
        stored_failing=len(stored_failing),
        failing_agree=stored_failing == naive_failing,
        naive_noncompliant=len(naive_noncompliant),
        stored_noncompliant=len(stored_noncompliant),
        noncompliant_agree=stored_noncompliant == naive_noncompliant,
    )


if __name__ == "__main__":
    raise SystemExit(main())
