"""Faults a long-running bot meets: credentials that expire under it, another process holding
the database's write lock, and being killed with SIGKILL in the middle of a sweep.
(docs/reliability.md lists every fault and the test that proves its behaviour.)"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from bot.models import Scope
from bot.settings.config import Settings
from bot.sim.fleet import Latency
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from bot.util.clock import utcnow
from tests.support.processes import ssm3bot
from tests.support.sim import Sim

CALLER, MEMBER = "111111111111", "222222222222"


def _wait_for(condition: Callable[[], bool], what: str, limit_s: float = 30) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


# -- credentials ----------------------------------------------------------------------------------


def test_assumed_role_credentials_that_expire_while_running_are_refreshed(
    make_sim: Callable[..., Sim], settings: Settings, store: Store
) -> None:
    """A `serve` process lives for weeks; its AssumeRole credentials last an hour. Here they
    last four seconds, refreshed when three or fewer are left: every call then starts with at
    least three seconds of validity, enough for one call on a busy machine (with two seconds
    and a one-second window, a call slower than a second under load met ExpiredToken)."""
    sim = make_sim(
        seed=3, accounts=(CALLER, MEMBER), regions=("eu-west-1",), credential_lifetime_s=4
    )
    fleet = sim.fleet
    access = sim.access(refresh_window_s=(3, 3))
    swept = settings.with_changes(accounts=(CALLER, MEMBER), regions=("eu-west-1",))

    first = run_sweep(settings=swept, access=access, store=store)
    assert first.scopes_failed == 0
    issued = [c for c in fleet.credentials.values() if c.account_id == MEMBER]
    assert fleet.call_count("AssumeRole") == len(issued) >= 1
    expiry = max(c.expires_at for c in issued if c.expires_at is not None)
    _wait_for(lambda: fleet.now() > expiry, "the first credentials to expire")

    # They really are expired: a client that kept them would now be refused.
    stale = issued[-1]
    frozen = boto3.Session(
        aws_access_key_id=stale.access_key_id,
        aws_secret_access_key=stale.secret_access_key,
        aws_session_token=stale.session_token,
        region_name="eu-west-1",
    ).client("ssm", endpoint_url=sim.endpoint_url)
    with pytest.raises(ClientError, match="ExpiredToken"):
        frozen.list_associations()
    fleet.reset_calls()

    second = run_sweep(settings=swept, access=access, store=store)
    assert second.scopes_failed == 0
    assert second.associations == first.associations
    assert fleet.call_count("AssumeRole", account_id=CALLER) >= 1, "a second AssumeRole"
    assert fleet.call_count("ListAssociations", account_id=MEMBER) == 1
    # The new Security Hub is off here: DescribeSecurityHubV2's 404 says so, and is no refusal.
    refused = fleet.error_codes() - fleet.error_codes("DescribeSecurityHubV2")
    assert refused == {}, "no call was refused, ExpiredToken or otherwise"


def test_an_instance_terminated_since_its_failed_run_keeps_its_failure(
    sim: Sim, settings: Settings, store: Store
) -> None:
    scope = sim.fleet.scope(CALLER, "eu-west-1")
    failing = next(a for a in scope.associations.values() if a.status == "Failed")
    assert failing.latest is not None
    gone = next(i for i in failing.latest.instance_ids if i in failing.latest.failures)
    del scope.instances[gone]  # SSM now answers InvalidInstanceId for it

    summary = run_sweep(settings=settings, access=sim.access(), store=store)
    assert summary.scopes_failed == 0
    assert sim.fleet.error_codes("DescribeInstanceAssociationsStatus") == {"InvalidInstanceId": 1}
    (tracked,) = store.associations.find(failing.association_id, now=utcnow())
    assert tracked.association.failing, "the failure was real: it stays in the digest"
    (target,) = [t for t in tracked.association.failed_targets if t.instance_id == gone]
    assert (target.error_code, target.summary) == (None, None)


# -- SQLite busy ----------------------------------------------------------------------------------

HOLD_THE_WRITE_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(1.0)
db.execute("COMMIT")
print("released", flush=True)
"""


def test_a_sweep_waits_out_another_process_holding_the_write_lock(
    sim: Sim, settings: Settings, tmp_path: Path
) -> None:
    db = tmp_path / "busy.db"
    Store(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_WRITE_LOCK, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        impatient = sqlite3.connect(db, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            impatient.execute("BEGIN IMMEDIATE")  # the lock is real: a writer must wait
        impatient.close()

        store = Store(db)
        summary = run_sweep(
            settings=settings.with_changes(db_path=str(db)), access=sim.access(), store=store
        )
        assert holder.wait(timeout=30) == 0
        assert holder.stdout.read() == "released\n"
    finally:
        holder.kill()
        holder.wait()
    assert summary.finished_at is not None
    assert summary.scopes_failed == 0
    assert summary.associations == 2 * 12
    assert store.integrity_check() == "ok"
    store.close()


# -- SIGKILL mid-sweep ----------------------------------------------------------------------------


def _stored_scopes(db: Path, region: str) -> int:
    """Scopes of the unfinished sweep stored so far in `region` (0 while the file is not ready)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            row = conn.execute(
                "SELECT count(*) FROM sweep_scopes s JOIN sweeps w ON w.id = s.sweep_id "
                "WHERE w.finished_at IS NULL AND s.region = ?",
                (region,),
            ).fetchone()
    except sqlite3.OperationalError:  # the schema is still being created
        return 0
    return int(row[0])


def test_sigkill_mid_sweep_leaves_an_intact_database_and_the_next_sweep_completes(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    sim = make_sim(seed=8, accounts=(CALLER, MEMBER), regions=("eu-west-1", "us-east-1"))
    # us-east-1 answers slowly, so the sweep is caught with eu-west-1 stored and the rest in flight.
    sim.fleet.add_latency(Latency(5.0, operation="ListAssociations", region="us-east-1"))
    db = tmp_path / "ssm3.db"
    env = sim.env(
        SSM3_ACCOUNTS=f"{CALLER},{MEMBER}",
        SSM3_REGIONS="eu-west-1,us-east-1",
        SSM3_DB_PATH=str(db),
    )
    sweeping = subprocess.Popen(
        [str(Path(sys.executable).with_name("ssm3bot")), "sweep"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: _stored_scopes(db, "eu-west-1") == 2, "eu-west-1 to be stored")
        assert sweeping.poll() is None, "the sweep must still be running when it is killed"
        os.kill(sweeping.pid, signal.SIGKILL)
    finally:
        sweeping.kill()
        assert sweeping.wait(timeout=10) == -signal.SIGKILL
    sim.fleet.clear_faults()

    store = Store(db)
    assert store.integrity_check() == "ok"
    killed = store.sweeps.last(finished=False)
    assert killed is not None
    assert killed.finished_at is None
    assert store.sweeps.last(finished=True) is None
    stored = {s.scope for s in store.sweeps.sweep_scopes(killed.sweep_id)}
    assert stored == {Scope(CALLER, "eu-west-1"), Scope(MEMBER, "eu-west-1")}
    store.close()

    again = ssm3bot(["sweep", "--json"], env, tmp_path)
    assert again.returncode == 0, again.stderr
    document = json.loads(again.stdout)
    assert len(document["scopes"]) == 4
    assert all(scope["ok"] for scope in document["scopes"])

    reopened = Store(db)
    assert reopened.integrity_check() == "ok"
    finished = reopened.sweeps.last(finished=True)
    assert finished is not None
    assert finished.sweep_id == document["sweep_id"]
    assert finished.scopes == 4
    reopened.close()


# -- the table that lists all of this ------------------------------------------------------------


def test_the_reliability_table_names_only_tests_that_exist() -> None:
    tests = Path(__file__).resolve().parent
    table = (tests.parent / "docs" / "reliability.md").read_text()
    named = re.findall(r"`(test_\w+\.py)::(\w+)`", table)
    assert len(named) >= 30
    missing = [
        f"{file}::{name}"
        for file, name in named
        if not re.search(rf"^def {name}\(", (tests / file).read_text(), re.MULTILINE)
    ]
    assert missing == []
