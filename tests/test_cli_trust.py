"""The command line and the store as an insider would try them: `serve` and `ack` refuse to start
in sync mode without operators; the CLI's audited actor is the process's OS account, whatever
$USER says; the database and its WAL files are readable by their owner only; refusals are one
audit row a person a minute, counted; a person starts one manual sweep every few minutes."""

from __future__ import annotations

import os
import pwd
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.outcomes import Refusal
from bot.app.permissions import LocalOperator
from bot.app.sweeps import ManualSweeps
from bot.cli import main
from bot.models import SweepSummary
from bot.render.audit import audit_csv, audit_json, render_audit
from bot.store import Store
from bot.util.clock import utcnow
from tests.fakes.slack_harness import InProcessSlack
from tests.support.sim import Sim

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Busy(Exception):
    pass


class FakeRunner:
    """A sweep that takes no time and finds nothing (the use case is what is under test)."""

    def sweep_busy(self) -> bool:
        return False

    def sweep(self, trigger: str) -> SweepSummary:
        return SweepSummary("s1", NOW, NOW, scopes=1)

    def after_sweep(self, also: object = ()) -> None:
        pass


ME = pwd.getpwuid(os.getuid()).pw_name


@pytest.fixture
def cli_env(sim: Sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    monkeypatch.chdir(tmp_path)  # no .env from the project folder

    def use(**extra: str) -> None:
        for name, value in sim.env(SSM3_DB_PATH=str(tmp_path / "cli.db"), **extra).items():
            monkeypatch.setenv(name, value)

    return use


# -- sync mode needs operators --------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [["serve"], ["ack", "3f1c2d3e-1111-4222-8333-444455556666", "--reason", "x"],
     ["unack", "3f1c2d3e-1111-4222-8333-444455556666"]],
    ids=["serve", "ack", "unack"],
)  # fmt: skip
def test_sync_mode_without_operators_refuses_to_start(
    cli_env: Callable[..., None], capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    cli_env(
        SSM3_SECURITYHUB="sync",
        SLACK_BOT_TOKEN="xoxb-1-2-abcdefabcdef",
        SLACK_SIGNING_SECRET="0123456789abcdef",
    )
    assert main(command) == 2
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert "SSM3_SECURITYHUB" in line
    assert "SSM3_OPERATORS" in line
    assert captured.out == ""
    assert not (Path.cwd() / "cli.db").exists()  # refused before anything was created


# -- the CLI's actor --------------------------------------------------------------------------------
def test_the_cli_actor_is_the_os_account_not_user(
    cli_env: Callable[..., None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    sim: Sim,
) -> None:
    """`USER=U0CISO0001 ssm3bot ack …` was audited as that Slack user (and shown as a mention
    of them in Slack)."""
    cli_env()
    assert main(["sweep"]) == 0
    failing = next(
        a.association_id
        for scope in sim.fleet.scopes.values()
        for a in scope.associations.values()
        if a.status == "Failed" and scope.account_id == sim.fleet.caller_account
    )
    for name in ("USER", "LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, "U0CISO0001")
    assert main(["ack", failing, "--reason", "OPS-1"]) == 0
    assert main(["unack", failing]) == 0
    capsys.readouterr()
    assert main(["audit", "--json"]) == 0
    import json

    actors = {(r["action"], r["actor"]) for r in json.loads(capsys.readouterr().out)}
    assert actors == {("ack", ME), ("unack", ME)}


# -- the database's file modes ----------------------------------------------------------------------
@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_its_wal_files_are_the_owners_only(
    tmp_path: Path, umask_022: None
) -> None:
    path = tmp_path / "new" / "ssm3.db"
    store = Store(path)
    store.audit.record(actor="U0ALICE01", action="ack", outcome="acknowledged", now=utcnow())
    try:
        files = [path, path.with_name("ssm3.db-wal"), path.with_name("ssm3.db-shm")]
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert mode(path.parent) == 0o700
    finally:
        store.close()


def test_a_database_left_readable_by_others_is_narrowed_on_open(
    tmp_path: Path, umask_022: None
) -> None:
    path = tmp_path / "old.db"
    Store(path).close()
    os.chmod(path, 0o644)
    store = Store(path)
    try:
        assert mode(path) == 0o600
        assert mode(path.with_name("old.db-wal")) == 0o600
    finally:
        store.close()


# -- refusals: one audit row a person a minute, counted -------------------------------------------
def test_repeated_refusals_are_one_row_a_person_a_minute_and_counted() -> None:
    store = Store(":memory:")
    for second in range(0, 50):
        store.audit.record(
            actor="U0EVE0001", action="ack", outcome="refused",
            now=NOW + timedelta(seconds=second), detail="Only operators may acknowledge.",
        )  # fmt: skip
    store.audit.record(actor="U0BOB0001", action="sweep", outcome="refused", now=NOW)
    store.audit.record(
        actor="U0EVE0001", action="ack", outcome="refused", now=NOW + timedelta(seconds=61)
    )
    store.audit.record(
        actor="U0EVE0001", action="ack", outcome="acknowledged", now=NOW + timedelta(seconds=62)
    )
    entries = list(reversed(store.audit.entries()))
    assert [(e.actor, e.outcome, e.repeats) for e in entries] == [
        ("U0EVE0001", "refused", 49),  # 50 refusals in the first minute: one row
        ("U0BOB0001", "refused", 0),  # another person: their own row
        ("U0EVE0001", "refused", 0),  # a minute later: a new row
        ("U0EVE0001", "acknowledged", 0),  # anything else is never folded
    ]
    assert audit_json(entries)[0]["repeats"] == 49
    assert audit_csv(entries).splitlines()[0].endswith(",detail,repeats")
    assert "(+49 more within a minute)" in render_audit(entries, None)


def test_a_flood_of_refused_commands_from_slack_costs_one_row(
    make_app: Callable[..., InProcessSlack],
) -> None:
    app = make_app()
    aid = app.services.store.associations.tracked(failing_only=True)[0].key.association_id
    for _ in range(20):
        app.command(f"rerun {aid}", user="U0EVE0001")  # not an operator
    refused = [e for e in app.services.store.audit.entries() if e.actor == "U0EVE0001"]
    assert [(e.action, e.outcome, e.repeats) for e in refused] == [("rerun", "refused", 19)]


# -- one manual sweep a person every few minutes ----------------------------------------------------
def test_a_person_starts_one_sweep_every_five_minutes() -> None:
    store = Store(":memory:")
    now = [NOW]
    cases = ManualSweeps(
        store=store, permissions=LocalOperator(), runner=FakeRunner(), clock=lambda: now[0],
        busy=(Busy,), failed=(RuntimeError,),
    )  # fmt: skip
    assert cases.begin("U0ALICE01") is None
    cases.run("U0ALICE01", trigger="slack")
    now[0] = NOW + timedelta(minutes=4)
    again = cases.begin("U0ALICE01")
    assert isinstance(again, Refusal)
    assert again.why == "too_soon"
    assert again.decision is not None
    assert "Try again after 09:05 UTC" in again.decision.reason
    assert cases.begin("U0BOB0001") is None  # someone else may
    now[0] = NOW + timedelta(minutes=5)
    assert cases.begin("U0ALICE01") is None


def test_slash_sweep_twice_in_a_row_is_refused_the_second_time(
    make_app: Callable[..., InProcessSlack],
) -> None:
    app = make_app(operators=())
    first = app.command("sweep", user="U0ALICE01")
    second = app.command("sweep", user="U0ALICE01")
    from tests.support.slack import responses

    said = [str(p.get("text")) for p in responses(app.fake, second.response_url)]
    assert any("each person may start one every 5 minutes" in s for s in said)
    assert any(
        "Sweep finished" in str(p.get("text")) for p in responses(app.fake, first.response_url)
    )
    outcomes = [(e.action, e.outcome) for e in reversed(app.services.store.audit.entries())]
    assert outcomes == [("sweep", "started"), ("sweep", "done"), ("sweep", "refused")]
