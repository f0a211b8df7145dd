"""What a diagnosis costs: the AWS calls and the wall time of `ssm3bot diagnose` for an
association failing on 1, 50 and 500 instances, every AWS call answered after `--latency`
seconds (50 ms), as a person waiting in Slack would see it; and the reads one watched re-run
costs over its window.

The association runs AWS-RunShellScript; its instances fail in three ways at once — most
refused `s3:GetObject` (the stderr path: at most 5 step outputs read a way of failing), a tenth
with an agent too old (another way of failing), a tenth unreachable (no stderr needed) — so
every read of the budget is exercised. The store is swept first (as `serve` would have), then
the diagnosis runs `--runs` times through the use case, with the document cache warm after the
first (as in `serve`) and cold each time with `--cold`.

The watch: after a re-run that stays InProgress for `--run-minutes`, the reads the watch makes
at each poll of a backoff schedule (30 s, doubling, at most 10 minutes between polls) until the
run finished and SSM.3's items were read, within SSM3_WATCH_FOR (2 h). The schedule is the one
phase B is expected to use; the reads are the real ones (`bot.aws.watch`).

    .venv/bin/python bench/diagnose_bench.py [--latency 0.05] [--runs 3] [--cold]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app.diagnoses import Diagnoses
from bot.aws.evidence import AwsEvidence
from bot.aws.session import AwsAccess
from bot.aws.watch import association_items, first_run_after
from bot.core.diagnosis import Diagnosis
from bot.core.watch import outcome
from bot.models import AssociationKey, AssociationRef, Scope
from bot.settings.config import Settings
from bot.sim.fleet import (
    Fleet,
    Latency,
    SimAssociation,
    SimExecution,
    SimInstance,
    agent_outdated,
    denied,
    failure_for,
    generate_fleet,
)
from bot.sim.server import SimServer
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from bot.util.clock import utcnow

ACCOUNT, REGION = "111111111111", "eu-west-1"
ASSOCIATION = "5d0c1b2a-1111-4222-8333-444455556666"
BUCKET = "arn:aws:s3:::deploy-artifacts-prod/app.tar.gz"


def estate(failing: int) -> Fleet:
    fleet = generate_fleet(seed=9, accounts=1, regions=(REGION,), associations=0, failing=0)
    scope = fleet.scope(ACCOUNT, REGION)
    ids = [f"i-{n:017x}" for n in range(failing + 5)]
    for instance_id in ids:
        scope.instances[instance_id] = SimInstance(instance_id, agent_version="3.3.1345.0")
    failures = {}
    for index, instance_id in enumerate(ids[:failing]):
        if index % 10 == 3:
            scope.instances[instance_id].agent_version = "2.3.1644.0"
            failures[instance_id] = agent_outdated()
        elif index % 10 == 7:
            scope.instances[instance_id].ping_status = "ConnectionLost"
            failures[instance_id] = failure_for("unreachable", "AWS-RunShellScript", None)  # type: ignore[arg-type]
        else:
            failures[instance_id] = denied("aws:runShellScript", "s3:GetObject", BUCKET)
    association = SimAssociation(
        ASSOCIATION, "deploy-app", "AWS-RunShellScript", "rate(1 hour)", tuple(ids),
        parameters={"commands": ["./deploy.sh"]},
        dispatch_role=f"arn:aws:iam::{ACCOUNT}:role/ssm-dispatch",
    )  # fmt: skip
    scope.associations[ASSOCIATION] = association
    association.executions.insert(
        0,
        SimExecution("7e0c1b2a-1111-4222-8333-444455556666", fleet.now(), tuple(ids), failures,
                     "8f0c1b2a-1111-4222-8333-444455556666"),
    )  # fmt: skip
    return fleet


def access_for(fleet: Fleet, url: str) -> AwsAccess:
    import boto3

    credentials = fleet.caller_credentials
    session = boto3.Session(
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        region_name=REGION,
    )
    return AwsAccess(session=session, endpoint_url=url, role_name=fleet.role_name)


def diagnose_once(failing: int, latency: float, runs: int, cold: bool) -> None:
    fleet = estate(failing)
    with tempfile.TemporaryDirectory() as scratch, SimServer(fleet) as server:
        access = access_for(fleet, server.endpoint_url)
        store = Store(Path(scratch) / "bench.db")
        run_sweep(settings=Settings(regions=(REGION,), db_path=str(Path(scratch) / "b.db")),
                  access=access, store=store)  # fmt: skip
        access.ssm(Scope(ACCOUNT, REGION)).close()  # the client's model parsed, as in `serve`
        fleet.add_latency(Latency(latency))
        cases = Diagnoses(store=store, evidence=AwsEvidence(access, clock=utcnow), clock=utcnow)
        times, calls = [], {}
        for _ in range(runs):
            if cold:
                cases = Diagnoses(
                    store=store, evidence=AwsEvidence(access, clock=utcnow), clock=utcnow
                )
            fleet.reset_calls()
            started = time.perf_counter()
            found = cases.diagnose(AssociationRef(ASSOCIATION))
            times.append(time.perf_counter() - started)
            assert isinstance(found, Diagnosis), found
            calls = {c.operation: n for c, n in fleet.calls.items() if c.service == "ssm"}
        store.close()
        assert fleet.violations == []
    causes = ", ".join(f"{g.cause} {len(g.instances)}" for g in found.causes)
    total = sum(calls.values())
    print(
        f"{failing:>4} failing | {total:>3} calls | median {statistics.median(times):6.3f} s "
        f"(min {min(times):.3f}, max {max(times):.3f}) | {causes}"
    )
    print("       " + ", ".join(f"{op} {n}" for op, n in sorted(calls.items())))


def watch_once(failing: int, latency: float, run_minutes: int, *, works: bool = True) -> None:
    fleet = estate(failing)
    fleet.run_seconds = run_minutes * 60
    scope = fleet.scope(ACCOUNT, REGION)
    association = scope.associations[ASSOCIATION]
    if works:  # the fix worked: the new run will succeed
        for instance in scope.instances.values():
            instance.agent_version, instance.ping_status = "3.3.1345.0", "Online"
            instance.last_ping = fleet.now() + timedelta(seconds=1)
        association.fix_on_rerun = True
    failed = list(association.latest.failures) if association.latest else []
    with SimServer(fleet) as server:
        access = access_for(fleet, server.endpoint_url)
        key = AssociationKey(ACCOUNT, REGION, ASSOCIATION)
        ssm = access.ssm(key.scope)
        fleet.add_latency(Latency(latency))
        acted = fleet.now()
        ssm.start_associations_once(AssociationIds=[ASSOCIATION])
        fleet.reset_calls()
        waited, gap, polls, verdict = 0.0, 30.0, 0, None
        while verdict is None:
            fleet.clock_offset += timedelta(seconds=gap)
            waited += gap
            polls += 1
            run = first_run_after(ssm, key, acted)
            items = association_items(ssm, ASSOCIATION, failed) if run and run.finished else None
            verdict = outcome(run=run, items=items, deadline_passed=waited >= 7200)
            gap = min(gap * 2, 600.0)
        calls = {c.operation: n for c, n in fleet.calls.items() if c.service == "ssm"}
        assert fleet.violations == []
    print(
        f"watch: {failing} instances, a {run_minutes}-minute run: {verdict} after {polls} polls "
        f"({waited / 60:.0f} min), {sum(calls.values())} calls: "
        + ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="a fresh document cache each run")
    parser.add_argument("--run-minutes", type=int, default=20)
    args = parser.parse_args()
    print(f"diagnosis, {args.latency * 1000:.0f} ms an AWS call, {args.runs} runs each")
    for failing in (1, 50, 500):
        diagnose_once(failing, args.latency, args.runs, args.cold)
    for failing in (50, 500):
        watch_once(failing, args.latency, args.run_minutes)
        watch_once(failing, args.latency, args.run_minutes, works=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
