"""Who may do what from Slack, through correctly signed requests into the app (lazy listeners
inline) with the fake Web API and the simulator: with SSM3_SECURITYHUB=sync only operators may
acknowledge (so nobody else can suppress SSM.3 findings); people of another workspace (Slack
Connect) and guests change nothing, and each refusal is in the audit log; SSM3_VIEWERS keeps
history (step output, S3 links), the audit log and the Home tab's fleet to its people and the
operators, with one line saying who may."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.slack import blocks as kit
from bot.store import Store
from tests.fakes.fixtures import GROUP, GROUPIE, OPERATOR, slack_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import TEAM, InProcessSlack
from tests.support.bolt import InProcessSlack as AppOn
from tests.support.bolt import services_for
from tests.support.findings import estate, workflows
from tests.support.sim import Sim
from tests.support.slack import MinuteClock, body_text, responses

GUEST, STRANGER, VIEWER, MEMBER = "U0GUEST001", "U0STRANGER", "U0VIEWER01", "U0MEMBER01"
OTHER_TEAM = "T0OTHERORG"


def answers(app: InProcessSlack, reply: Any) -> str:
    return "\n".join(
        body_text(a.get("blocks")) or str(a.get("text"))
        for a in responses(app.fake, reply.response_url)
    )


def refusals(store: Store) -> list[tuple[str, str, str]]:
    entries = reversed(store.audit.entries())  # oldest first
    return [(e.actor, e.action, e.detail or "") for e in entries if e.outcome == "refused"]


@pytest.fixture
def directory(fake_slack: FakeSlack) -> FakeSlack:
    """The fake workspace's people: a guest, a single-channel guest and someone of another
    organisation (users.info says so, whatever the payload says)."""
    fake_slack.users.update(
        {
            GUEST: {"is_restricted": True},
            "U0SINGLE01": {"is_ultra_restricted": True},
            STRANGER: {"team_id": OTHER_TEAM},
        }
    )
    return fake_slack


# -- sync mode: operator-only ---------------------------------------------------------------------
@pytest.fixture
def synced_app(
    make_sim: Callable[..., Sim], fake_slack: FakeSlack, tmp_path: Path
) -> Iterator[Callable[..., tuple[AppOn, Any]]]:
    stores: list[Store] = []

    def start(**changes: Any) -> tuple[AppOn, Any]:
        world = estate()
        sim = make_sim(world.fleet)
        settings = slack_settings(
            fake_slack,
            str(tmp_path / f"sync{len(stores)}.db"),
            regions=("eu-west-1",),
            securityhub="sync",
            **changes,
        )
        store = Store(settings.db_path)
        stores.append(store)
        from bot.sweeping.sweep import run_sweep

        run_sweep(settings=settings, access=sim.access(), store=store)
        return AppOn(services_for(settings, store, sim.access()), fake_slack), world

    yield start
    for store in stores:
        store.close()


def test_in_sync_mode_without_operators_nobody_can_suppress_findings(
    synced_app: Callable[..., tuple[AppOn, Any]],
) -> None:
    """The review's attack: any member ran `/ssm3 ack ID for 90d …` and SSM.3 went SUPPRESSED."""
    app, world = synced_app(operators=())
    before = workflows(world.fleet, world.alone)
    assert set(before.values()) == {"NEW"}
    reply = app.command(f"ack {world.primary} for 90d accepted risk", user="U0ANYONE01")
    assert "only operators may acknowledge" in answers(app, reply).replace("\n", " ")
    assert workflows(world.fleet, world.alone) == before
    assert app.services.store.acks.active() == {}
    assert [(a, act) for a, act, _ in refusals(app.services.store)] == [("U0ANYONE01", "ack")]


def test_in_sync_mode_a_non_operator_changes_no_finding_and_an_operator_does(
    synced_app: Callable[..., tuple[AppOn, Any]],
) -> None:
    app, world = synced_app()
    app.command(f"ack {world.primary} for 7d OPS-1", user="U0ANYONE01")
    assert set(workflows(world.fleet, world.alone).values()) == {"NEW"}
    app.command(f"ack {world.primary} for 7d OPS-1", user=OPERATOR)
    assert set(workflows(world.fleet, world.alone).values()) == {"SUPPRESSED"}
    app.command(f"unack {world.primary}", user="U0ANYONE01")
    assert set(workflows(world.fleet, world.alone).values()) == {"SUPPRESSED"}


# -- another workspace, guests ---------------------------------------------------------------------
def test_people_of_another_workspace_change_nothing_and_are_audited(
    make_app: Callable[..., InProcessSlack], directory: FakeSlack, sim: Sim
) -> None:
    clock = MinuteClock()  # each refusal its own audit row
    app = make_app(operators=(), clock=clock)  # without operators, anyone may ack and sweep
    store = app.services.store
    item = store.associations.tracked(failing_only=True)[0]
    key = kit.key_value(item.key)
    aid = item.key.association_id
    attempts = []
    for attempt in (
        lambda: app.command(f"ack {aid} for 1d mine", user="U0ALICE01", team=OTHER_TEAM),
        lambda: app.command(f"ack {aid} for 1d mine", user=STRANGER),  # users.info says so
        lambda: app.click(kit.ACTION_ACK, key, user="U0ALICE01", team=OTHER_TEAM),
        lambda: app.command("sweep", user=STRANGER),
    ):
        attempts.append(attempt())
        clock.step()
    for reply in attempts:
        assert "you are in another one (Slack Connect)" in answers(app, reply)
    assert store.acks.active() == {}
    assert app.fake.calls_to("views.open") == []  # no form was opened for them
    assert [(a, act) for a, act, _ in refusals(store)] == [
        ("U0ALICE01", "ack"), (STRANGER, "ack"), ("U0ALICE01", "ack"), (STRANGER, "sweep"),
    ]  # fmt: skip
    # A member of the workspace may (no operators are configured).
    app.command(f"ack {aid} for 1d OPS-1", user="U0ALICE01")
    k = item.key
    assert (k.account_id, k.region, k.association_id) in store.acks.active()


@pytest.mark.parametrize("guest", [GUEST, "U0SINGLE01"])
def test_guests_change_nothing_but_may_read(
    make_app: Callable[..., InProcessSlack], directory: FakeSlack, guest: str, sim: Sim
) -> None:
    app = make_app(operators=(guest,))  # even named an operator: a guest is refused
    store = app.services.store
    item = store.associations.tracked(failing_only=True)[0]
    aid = item.key.association_id
    sim.fleet.reset_calls()
    for text in (f"ack {aid} for 1d mine", f"rerun {aid}", "sweep", f"unack {aid}"):
        reply = app.command(text, user=guest)
        assert "Guests may read but not change anything here" in answers(app, reply), text
    assert store.acks.active() == {}
    assert sim.fleet.call_count("StartAssociationsOnce") == 0
    # Four refusals within a minute: one audit row, the other three counted on it.
    [entry] = [e for e in store.audit.entries() if e.outcome == "refused"]
    assert (entry.actor, entry.action, entry.repeats) == (guest, "ack", 3)
    history = app.command(f"history {aid}", user=guest)
    assert "Recent executions" in answers(app, history)


def test_a_user_record_that_cannot_be_read_refuses_the_change(
    make_app: Callable[..., InProcessSlack], fake_slack: FakeSlack
) -> None:
    app = make_app()
    aid = app.services.store.associations.tracked(failing_only=True)[0].key.association_id
    fake_slack.fail("users.info", status=200, error="ratelimited", times=None)
    reply = app.command(f"ack {aid} for 1d OPS-1", user=OPERATOR)
    assert "I could not check your Slack account" in answers(app, reply)
    assert app.services.store.acks.active() == {}


# -- SSM3_VIEWERS ---------------------------------------------------------------------------------
def test_viewers_alone_read_history_audit_and_the_home_tabs_fleet(
    make_app: Callable[..., InProcessSlack], fake_slack: FakeSlack, sim: Sim
) -> None:
    clock = MinuteClock()  # each refusal its own audit row
    app = make_app(viewers=(VIEWER,), clock=clock)
    store = app.services.store
    item = store.associations.tracked(failing_only=True)[0]
    aid = item.key.association_id
    sim.fleet.reset_calls()
    refused = []
    for attempt in (
        lambda: app.command(f"history {aid}", user=MEMBER),
        lambda: app.click(kit.ACTION_HISTORY, kit.key_value(item.key), user=MEMBER),
        lambda: app.command("audit", user=MEMBER),
    ):
        refused.append(attempt())
        clock.step()
    for reply in refused:
        text = answers(app, reply)
        assert f"Only the viewers ({VIEWER}, ) and the operators" not in text
        assert f"Only the viewers ({VIEWER}) and the operators may read this here" in text
        assert "Recent executions" not in text
    assert not sim.fleet.calls  # nothing was read from AWS for them
    assert [act for _, act, _ in refusals(store)] == ["read"] * 3

    for user in (VIEWER, OPERATOR, GROUPIE):  # a viewer, an operator, an operator by group
        assert "Recent executions" in answers(app, app.command(f"history {aid}", user=user))
        assert answers(app, app.command("audit", user=user)).startswith("Audit log: latest")

    app.home_opened(MEMBER)
    closed = body_text(fake_slack.home(MEMBER)["blocks"])  # type: ignore[index]
    assert "Only the viewers" in closed
    assert aid not in closed
    assert "Failing" not in closed
    app.home_opened(VIEWER)
    assert "Failing" in body_text(fake_slack.home(VIEWER)["blocks"])  # type: ignore[index]


def test_without_viewers_everyone_in_the_workspace_reads(
    make_app: Callable[..., InProcessSlack], fake_slack: FakeSlack
) -> None:
    app = make_app()
    aid = app.services.store.associations.tracked(failing_only=True)[0].key.association_id
    assert "Recent executions" in answers(app, app.command(f"history {aid}", user=MEMBER))
    app.home_opened(MEMBER)
    assert "Failing" in body_text(fake_slack.home(MEMBER)["blocks"])  # type: ignore[index]


def test_viewer_groups_count(make_app: Callable[..., InProcessSlack]) -> None:
    app = make_app(viewers=(GROUP,), operators=(OPERATOR,))
    assert "Only the viewers" in answers(app, app.command("audit", user=MEMBER))
    assert answers(app, app.command("audit", user=GROUPIE)).startswith("Audit log: latest")


def test_the_team_rule_is_learnt_from_auth_test(
    make_app: Callable[..., InProcessSlack], fake_slack: FakeSlack
) -> None:
    """The installed workspace is auth.test's team_id: one auth.test (Bolt's, at start-up)."""
    app = make_app()
    app.command("audit", user=OPERATOR)
    assert len(fake_slack.calls_to("auth.test")) == 1
    assert app.services.members.workspace() == TEAM
