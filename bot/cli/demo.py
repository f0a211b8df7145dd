"""`ssm3bot demo`: a simulated fleet on loopback, two real sweeps over HTTP, then the digest and
one diagnosis of each kind (`bot/cli/demo_diagnoses.py`).

No AWS account and no Slack workspace: the simulator speaks SSM, STS and Organizations on
127.0.0.1 and unmodified boto3 talks to it exactly as it would talk to AWS.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

import boto3

from bot.app.digests import DigestComposer
from bot.aws.session import AwsAccess
from bot.cli.demo_diagnoses import show_diagnoses
from bot.cli.progress import ProgressBar
from bot.render.text import render_digest
from bot.settings.config import Settings
from bot.sim.fleet import Fleet, failure_for, generate_fleet
from bot.sim.server import SimServer
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from bot.util.clock import utcnow

DEMO_ACCOUNTS = ("111111111111", "222222222222", "333333333333")
DEMO_REGIONS = ("eu-west-1", "us-east-1")
DENIED_ACCOUNT = "333333333333"
DEMO_OPERATOR = "U0DEMOOPS1"


def demo_fleet(seed: int = 2026, now: datetime | None = None) -> Fleet:
    """Three accounts in an organisation, two regions, a few failed runs, Quick Setup's patch
    scanning reporting missing patches (SSM.3 fails while its runs succeed), Patch noise that
    must not count, and one account that denies us."""
    return generate_fleet(
        seed=seed,
        accounts=DEMO_ACCOUNTS,
        regions=DEMO_REGIONS,
        associations=14,
        failing=2,
        instances=40,
        deny_accounts=[DENIED_ACCOUNT],
        manual=1,
        patch_noise=True,
        now=now,
    )


def demo_access(fleet: Fleet, endpoint_url: str) -> AwsAccess:
    credentials = fleet.caller_credentials
    session = boto3.Session(
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        region_name=DEMO_REGIONS[0],
    )
    return AwsAccess(session=session, role_name=fleet.role_name, endpoint_url=endpoint_url)


def run_demo(*, db_path: str | None, out: TextIO, err: TextIO) -> int:
    with tempfile.TemporaryDirectory(prefix="ssm3-demo-") as scratch:
        path = Path(db_path) if db_path else Path(scratch) / "demo.db"
        store = Store(path)
        fleet = demo_fleet()
        settings = Settings(
            accounts_from_org=True, regions=DEMO_REGIONS, db_path=str(path), concurrency=4
        )
        with SimServer(fleet) as server:
            access = demo_access(fleet, server.endpoint_url)
            err.write(
                f"Simulated AWS on {server.endpoint_url}: an organisation of {len(DEMO_ACCOUNTS)} accounts "
                f"({DENIED_ACCOUNT} denies AssumeRole) x {len(DEMO_REGIONS)} regions.\n"
            )
            for number in (1, 2):
                bar = ProgressBar(err)
                summary = run_sweep(
                    settings=settings, access=access, store=store, progress=bar, trigger="demo"
                )
                bar.close()
                err.write(
                    f"Sweep {number}: {summary.scopes - summary.scopes_failed}/{summary.scopes} account-regions, "
                    f"{summary.associations} associations, {summary.failing} failing, "
                    f"{summary.aws_calls} AWS calls.\n"
                )
                if number == 1:
                    _between_sweeps(fleet, store)
            view = DigestComposer.from_settings(store, settings).whole(utcnow())
            out.write("\n" + render_digest(view))
            show_diagnoses(
                fleet, access=access, store=store, settings=settings, region=DEMO_REGIONS[0],
                out=out, err=err,
            )  # fmt: skip
        if db_path:
            err.write(
                f"\nThe demo's database is kept at {path}; try `SSM3_DB_PATH={path} ssm3bot digest --json`.\n"
            )
        store.close()
    return 0


def _between_sweeps(fleet: Fleet, store: Store) -> None:
    """An hour in the life of a fleet: one failure is acknowledged, one fixed (Security Hub has
    not caught up yet), one new, and one association deleted with its NON_COMPLIANT items left
    behind (an orphan)."""
    now = utcnow()
    failing = [
        t
        for t in store.associations.tracked(failing_only=True, now=now)
        if t.association.execution_failure
    ]
    if failing:
        first = failing[0]
        store.acks.acknowledge(
            first.key,
            by=DEMO_OPERATOR,
            reason="Patch window moved to Saturday; tracked in OPS-1234",
            until=now + timedelta(days=7),
            now=now,
        )
    if len(failing) > 1:
        # Fixed, but AWS Config has not re-evaluated it yet: Security Hub still fails it.
        fleet.refresh_findings()
        fleet.findings_frozen = True
        fleet.run_association(failing[1].key.association_id, failures={})
    if len(failing) > 2:
        fleet.delete_association(failing[2].key.association_id, keep_compliance=True)
    scope = fleet.scope(DEMO_ACCOUNTS[1], DEMO_REGIONS[1])
    healthy = [a for a in scope.associations.values() if a.status == "Success" and a.instance_ids]
    if healthy:
        import random

        rng = random.Random(7)
        victim = healthy[0]
        fleet.run_association(
            victim.association_id,
            failures={
                i: failure_for("permissions", victim.document, rng) for i in victim.instance_ids[:2]
            },
        )
