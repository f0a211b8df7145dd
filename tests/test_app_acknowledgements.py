"""The acknowledgement use cases on an in-memory store: the rules, the audit entries and the
events, whoever asks; and the CLI adapter (`ssm3bot ack` / `unack`) on the same use cases."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.acknowledgements import Acknowledgements
from bot.app.events import AckEnded, Acknowledged
from bot.app.outcomes import Done, Refusal
from bot.app.permissions import LocalOperator, OperatorPolicy, Unreadable
from bot.cli import main
from bot.models import AssociationRef
from bot.store import Store
from tests.fakes.estate import association_id, store_estate
from tests.support.ports import Nobody

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
UNTIL = NOW + timedelta(days=7)


@pytest.fixture
def memory() -> Store:
    store = Store(":memory:")
    store_estate(store, failing=2, healthy=1, now=NOW)
    return store


def cases(store: Store, permissions: object = None) -> Acknowledgements:
    return Acknowledgements(
        store=store,
        permissions=permissions or LocalOperator(),  # type: ignore[arg-type]
        clock=lambda: NOW,
    )


def audit(store: Store) -> list[tuple[str, str, str, str | None]]:
    return [
        (e.actor, e.action, e.outcome, e.association_id) for e in reversed(store.audit.entries())
    ]


def test_acknowledging_a_failure_stores_audits_and_reports_the_event(memory: Store) -> None:
    ref = AssociationRef(association_id(0))
    outcome = cases(memory).acknowledge("U0ALICE01", ref, reason="OPS-1", until=UNTIL)
    assert isinstance(outcome, Done)
    assert outcome.item.ack is not None
    assert (outcome.item.ack.by, outcome.item.ack.until) == ("U0ALICE01", UNTIL)
    assert outcome.events == (Acknowledged(outcome.item.key, outcome.item.ack),)
    (stored,) = memory.associations.find(association_id(0), now=NOW)
    assert stored.ack == outcome.item.ack
    assert audit(memory) == [("U0ALICE01", "ack", "acknowledged", association_id(0))]


def test_reopening_ends_the_acknowledgement(memory: Store) -> None:
    ref = AssociationRef(association_id(0))
    cases(memory).acknowledge("U0ALICE01", ref, reason="OPS-1", until=UNTIL)
    outcome = cases(memory).unacknowledge("U0BOB0001", ref)
    assert isinstance(outcome, Done)
    assert outcome.events == (AckEnded(outcome.item.key, "unacknowledged", "U0BOB0001", NOW),)
    assert memory.associations.find(association_id(0), now=NOW)[0].ack is None
    again = cases(memory).unacknowledge("U0BOB0001", ref)
    assert isinstance(again, Refusal)
    assert again.why == "not_acknowledged"


@pytest.mark.parametrize(
    ("ref", "why", "detail"),
    [
        (AssociationRef(association_id(2)), "not_failing", "not failing (status Success)"),
        (
            AssociationRef("99999999-2222-4333-8444-555555555555"),
            "miss",
            "99999999-2222-4333-8444-555555555555: unknown association",
        ),
        (
            AssociationRef(association_id(0), "222222222222", "eu-west-1"),
            "miss",
            "not in 222222222222 eu-west-1; it is in 111111111111 eu-west-1",
        ),
    ],
)
def test_what_cannot_be_acknowledged_is_refused_and_audited(
    memory: Store, ref: AssociationRef, why: str, detail: str
) -> None:
    outcome = cases(memory).acknowledge("U0ALICE01", ref, reason="x", until=UNTIL)
    assert isinstance(outcome, Refusal)
    assert (outcome.why, outcome.detail) == (why, detail)
    (entry,) = memory.audit.entries()
    assert (entry.action, entry.outcome, entry.detail) == ("ack", "refused", detail)
    assert all(t.ack is None for t in memory.associations.tracked())


def test_permission_is_checked_before_anything_changes(memory: Store) -> None:
    ref = AssociationRef(association_id(0))
    outcome = cases(memory, Nobody()).acknowledge("U0EVE0001", ref, reason="x", until=UNTIL)
    assert isinstance(outcome, Refusal)
    assert outcome.why == "permission"
    assert outcome.key is not None  # audited against the association the store knows
    assert memory.associations.find(association_id(0), now=NOW)[0].ack is None
    assert audit(memory) == [("U0EVE0001", "ack", "refused", association_id(0))]


# -- the CLI adapter -------------------------------------------------------------------------------


@pytest.fixture
def on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ssm3.db"
    store = Store(path)
    store_estate(store, failing=2, healthy=1, now=datetime.now(UTC))
    store.close()
    monkeypatch.chdir(tmp_path)  # no .env from the project folder
    monkeypatch.setenv("SSM3_DB_PATH", str(path))
    return path


def test_ssm3bot_ack_and_unack_use_the_same_rules_and_audit_the_os_user(
    on_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = association_id(1)
    assert main(["ack", target, "--for", "2w", "--reason", "OPS-42: patch window"]) == 0
    said = capsys.readouterr().out
    assert said.startswith("acknowledged patch-scan-00001 (111111111111 eu-west-1) until ")
    assert f"by {getpass.getuser()}: OPS-42: patch window" in said

    assert main(["digest", "--json"]) == 0
    digest = json.loads(capsys.readouterr().out)
    (acked,) = digest["acknowledged"]
    assert acked["association_id"] == target
    assert acked["acknowledged"]["by"] == getpass.getuser()
    assert acked["acknowledged"]["reason"] == "OPS-42: patch window"
    until = datetime.fromisoformat(acked["acknowledged"]["until"])
    assert timedelta(days=13, hours=23) < until - datetime.now(UTC) <= timedelta(days=14)

    assert main(["unack", target]) == 0
    assert "back among the failing" in capsys.readouterr().out
    assert main(["audit", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [(e["actor"], e["action"], e["outcome"]) for e in entries][-2:] in (
        [(getpass.getuser(), "ack", "acknowledged"), (getpass.getuser(), "unack", "reopened")],
        [(getpass.getuser(), "unack", "reopened"), (getpass.getuser(), "ack", "acknowledged")],
    )


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["ack", association_id(2), "--reason", "x"], "is not failing (status Success)"),
        (["ack", "nonsense", "--reason", "x"], "is not an association ID"),
        (["ack", association_id(0), "--for", "200d", "--reason", "x"], "at most 90 days"),
        (["ack", association_id(0), "--reason", "   "], "needs a reason"),
        (["unack", association_id(0)], "was not acknowledged; nothing changed"),
        (
            ["unack", "99999999-2222-4333-8444-555555555555"],
            "unknown association 99999999-2222-4333-8444-555555555555",
        ),
    ],
)
def test_what_the_cli_cannot_do_is_one_line_and_exit_2(
    on_disk: Path, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert said in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


# -- who may: the operator rule, whatever the surface ----------------------------------------------


class Groups:
    def __init__(self, members: dict[str, frozenset[str] | Unreadable]) -> None:
        self.known = members

    def members(self, group: str) -> frozenset[str] | Unreadable:
        return self.known[group]


@pytest.mark.parametrize(
    ("ids", "groups", "actor", "rerun", "ack"),
    [
        ((), {}, "U0ANYONE1", False, True),  # no operators: nobody re-runs, anyone acknowledges
        (("U0OPS0001",), {}, "U0OPS0001", True, True),
        (("U0OPS0001",), {}, "U0ANYONE1", False, False),
        (("S0GROUP01",), {"S0GROUP01": frozenset({"U0MEMBER1"})}, "U0MEMBER1", True, True),
        (("S0GROUP01",), {"S0GROUP01": Unreadable("S0GROUP01", "down")}, "U0MEMBER1", False, False),
    ],
)
def test_the_operator_rule(
    ids: tuple[str, ...],
    groups: dict[str, frozenset[str] | Unreadable],
    actor: str,
    rerun: bool,
    ack: bool,
) -> None:
    policy = OperatorPolicy(ids, Groups(groups))
    assert policy.may_rerun(actor).allowed is rerun
    assert policy.may_acknowledge(actor).allowed is ack
    assert policy.may_sweep(actor).allowed is ack
    if groups and not ack:
        assert "could not check" in policy.may_acknowledge(actor).reason
