"""Routes to team channels: which associations a route takes, how SSM3_ROUTES_FILE is read and
how a bad one is refused (one line naming the file, the route and the key), and what each
channel is told by the scheduler — its own digest, its alerts with the route's mention — while
SSM3_CHANNEL keeps the whole picture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.routing import Route, channels, mention_markup
from bot.scheduling.runner import Runner
from bot.settings.config import ConfigError, Settings
from bot.settings.routes_file import RoutesError, parse_routes
from bot.store import Store
from tests.support.fleet import breaks_after
from tests.support.recording import RecordingPublisher
from tests.support.runners import make_runner
from tests.support.sim import Sim
from tests.support.virtual_time import FakeClock

MAIN = "C0MAIN0001"
TEAM = "C0PAYMENTS"
PATCHING = "C0PATCHING"


# -- matching ------------------------------------------------------------------------------------
def test_a_route_takes_an_association_when_every_key_it_gives_matches() -> None:
    route = Route(
        channel=TEAM,
        accounts=frozenset({"222222222222"}),
        regions=frozenset({"eu-west-1"}),
        documents=("AWS-RunPatch*",),
    )
    assert route.matches("222222222222", "eu-west-1", "AWS-RunPatchBaseline")
    assert not route.matches("222222222222", "us-east-1", "AWS-RunPatchBaseline")
    assert not route.matches("111111111111", "eu-west-1", "AWS-RunPatchBaseline")
    assert not route.matches("222222222222", "eu-west-1", "AWS-ConfigureAWSPackage")
    assert not route.matches("222222222222", "eu-west-1", "aws-runpatchbaseline"), "case counts"
    anything = Route(channel=TEAM)
    assert anything.matches("111111111111", "ap-south-1", "Custom-Doc")


def test_instance_findings_without_a_document_go_only_to_routes_not_narrowed_by_document() -> None:
    by_account = Route(channel=TEAM, accounts=frozenset({"222222222222"}))
    by_document = Route(channel=PATCHING, documents=("AWS-RunPatch*",))
    assert by_account.covers_instances("222222222222", "eu-west-1")
    assert not by_account.covers_instances("111111111111", "eu-west-1")
    assert not by_document.covers_instances("222222222222", "eu-west-1")


def test_channels_put_the_whole_picture_first_and_merge_routes_that_share_a_channel() -> None:
    a = Route(channel=TEAM, accounts=frozenset({"222222222222"}), mention="S0PAYOPS01")
    b = Route(channel=TEAM, documents=("Billing-*",), mention="U0PAYLEAD1")
    c = Route(channel=PATCHING, documents=("AWS-RunPatch*",))
    found = channels(MAIN, [a, b, c])
    assert [ch.id for ch in found] == [MAIN, TEAM, PATCHING]
    assert found[0].everything
    team = found[1]
    assert team.matches("333333333333", "eu-west-1", "Billing-Rotate")
    assert team.mentions("222222222222", "eu-west-1", "Billing-Rotate") == (
        "S0PAYOPS01",
        "U0PAYLEAD1",
    )
    assert team.mentions("333333333333", "eu-west-1", "Billing-Rotate") == ("U0PAYLEAD1",)
    assert mention_markup(("S0PAYOPS01", "U0PAYLEAD1")) == "<!subteam^S0PAYOPS01> <@U0PAYLEAD1>"
    assert [ch.id for ch in channels(None, [c])] == [PATCHING]


# -- the file ------------------------------------------------------------------------------------
GOOD = """\
routes:
  - channel: C0PAYMENTS          # required: channel ID
    accounts: ["222222222222"]   # optional: any of these accounts
    regions: ["eu-west-1"]
    documents: ["AWS-RunPatch*"]
    mention: S0PAYOPS
  - channel: C0PATCHING
    documents: AWS-ApplyPatchBaseline
"""


def test_the_contracts_example_file_reads_as_two_routes() -> None:
    first, second = parse_routes(GOOD, "routes.yaml")
    assert first == Route(
        channel="C0PAYMENTS",
        accounts=frozenset({"222222222222"}),
        regions=frozenset({"eu-west-1"}),
        documents=("AWS-RunPatch*",),
        mention="S0PAYOPS",
    )
    assert second.documents == ("AWS-ApplyPatchBaseline",)
    assert second.accounts == frozenset()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "routes:\n  - channel: C0PAYMENTS\n    acounts: ['222222222222']\n",
            "routes.yaml: route 1: unknown key 'acounts' (known: channel, accounts, regions, "
            "documents, mention)",
        ),
        (
            "routes:\n  - channel: C0OK000001\n  - channel: '#payments'\n",
            "routes.yaml: route 2: channel: '#payments' is not a channel ID (like C0123456789)",
        ),
        (
            "routes:\n  - accounts: ['222222222222']\n",
            "routes.yaml: route 1: channel: required (a channel ID like C0123456789)",
        ),
        (
            "routes:\n  - channel: C0PAYMENTS\n    accounts: ['22222222222']\n",
            "routes.yaml: route 1: accounts: '22222222222' is not a 12-digit ID",
        ),
        (
            "routes:\n  - channel: C0PAYMENTS\n    accounts: [222222222222]\n",
            'routes.yaml: route 1: accounts: 222222222222 must be quoted ("222222222222"): '
            "YAML reads bare numbers as numbers and drops leading zeros",
        ),
        (
            "routes:\n  - channel: C0PAYMENTS\n    regions: [eu-west]\n",
            "routes.yaml: route 1: regions: 'eu-west' is not an AWS region",
        ),
        (
            "routes:\n  - channel: C0PAYMENTS\n    documents: ['AWS-[Run']\n",
            "routes.yaml: route 1: documents: 'AWS-[Run' is not a document-name glob",
        ),
        (
            "routes:\n  - channel: C0PAYMENTS\n    documents: ['has space*']\n",
            "routes.yaml: route 1: documents: 'has space*' is not a document-name glob",
        ),
        (
            "routes:\n  - channel: C0PAYMENTS\n    mention: '@payops'\n",
            "routes.yaml: route 1: mention: '@payops' is not a user-group ID (S…) or user ID (U…)",
        ),
        (
            "routes:\n  - channel: C0PAYMENTS\n    accounts: ['1'\n",
            "routes.yaml line 4: YAML syntax error: expected ',' or ']', but got '<stream end>'",
        ),
        ("channel: C0PAYMENTS\n", "routes.yaml: expected one top-level key, routes: [a list]"),
        ("routes: []\n", "routes.yaml: routes must be a non-empty list"),
    ],
)
def test_a_bad_routes_file_is_one_line_naming_the_route_and_the_key(
    text: str, message: str
) -> None:
    with pytest.raises(RoutesError) as caught:
        parse_routes(text, "routes.yaml")
    assert str(caught.value) == message


def test_settings_read_the_file_and_name_the_variable_when_it_is_bad(tmp_path: Path) -> None:
    good = tmp_path / "routes.yaml"
    good.write_text(GOOD, encoding="utf-8")
    settings = Settings.from_env({"SSM3_CHANNEL": MAIN, "SSM3_ROUTES_FILE": str(good)}, dotenv=None)
    assert [c.id for c in settings.channels] == [MAIN, "C0PAYMENTS", "C0PATCHING"]
    with pytest.raises(ConfigError) as missing:
        Settings.from_env({"SSM3_ROUTES_FILE": str(tmp_path / "nope.yaml")}, dotenv=None)
    assert str(missing.value) == f"SSM3_ROUTES_FILE: {tmp_path / 'nope.yaml'}: no such file"


# -- what each channel is told -------------------------------------------------------------------
@pytest.fixture
def routed(
    sim: Sim, tmp_path: Path
) -> Iterator[Callable[..., tuple[Runner, RecordingPublisher, FakeClock, str]]]:
    """A runner over both simulated accounts with a route for the second account only."""
    runners: list[Runner] = []

    def make(**changes: object) -> tuple[Runner, RecordingPublisher, FakeClock, str]:
        member = next(a for a in sim.fleet.accounts if a != sim.fleet.caller_account)
        settings = Settings(
            regions=("eu-west-1", "us-east-1"),
            accounts=tuple(sim.fleet.accounts),
            db_path=str(tmp_path / f"routes{len(runners)}.db"),
            channel=MAIN,
            routes=(Route(channel=TEAM, accounts=frozenset({member}), mention="S0PAYOPS01"),),
        ).with_changes(**changes)
        clock = FakeClock(datetime(2026, 11, 30, 9, 0, 30, tzinfo=UTC))
        publisher = RecordingPublisher()
        runner = make_runner(
            settings=settings,
            store=Store(settings.db_path),
            access=sim.access(),
            publisher=publisher,
            clock=clock,
        )
        runners.append(runner)
        return runner, publisher, clock, member

    yield make
    for runner in runners:
        runner.store.close()


def test_a_route_gets_only_its_accounts_digest_while_the_main_channel_keeps_everything(
    routed: Callable[..., tuple[Runner, RecordingPublisher, FakeClock, str]],
) -> None:
    runner, publisher, _, member = routed()
    runner.sweep_job()
    assert runner.digest_job()
    [main] = publisher.digests_in(MAIN)
    [team] = publisher.digests_in(TEAM)
    everything = {t.key.account_id for t in main.failing}
    assert everything == set(runner.settings.accounts), "the main channel sees both accounts"
    assert team.failing
    assert {t.key.account_id for t in team.failing} == {member}
    assert team.totals.failing == len(team.failing) < main.totals.failing
    assert team.totals.associations < main.totals.associations
    theirs = {
        (t.key.account_id, t.key.region, i)
        for t in team.failing
        for i in t.association.noncompliant_instances
    }
    assert team.totals.noncompliant_instances == sum(
        1 for k in runner.store.associations.noncompliant_instances() if k.account_id == member
    )
    assert team.totals.noncompliant_instances >= len(theirs)
    assert team.totals.noncompliant_instances < main.totals.noncompliant_instances
    # Each channel's message is its own record: both edited in place after the next change.
    messages = runner.store.digests.for_slot(datetime(2026, 11, 30, 9, tzinfo=UTC))
    assert {m.channel for m in messages} == {MAIN, TEAM}
    runner.refresh_digest()
    assert {m.channel for m, _ in publisher.updates} == {MAIN, TEAM}
    [(_, edited_team)] = [(m, d) for m, d in publisher.updates if m.channel == TEAM]
    assert {t.key.account_id for t in edited_team.failing} == {member}


def test_a_routed_failure_alerts_its_team_with_the_mention_and_the_main_channel_without(
    sim: Sim, routed: Callable[..., tuple[Runner, RecordingPublisher, FakeClock, str]]
) -> None:
    runner, publisher, clock, member = routed()
    runner.sweep_job()
    theirs = breaks_after(sim.fleet, clock, member)
    ours = breaks_after(sim.fleet, clock)
    runner.sweep_job()
    [main_alert] = publisher.alerts_in(MAIN)
    assert {t.key.association_id for t in main_alert.items} == {theirs, ours}
    assert main_alert.mentions == ()
    [team_alert] = publisher.alerts_in(TEAM)
    assert [t.key.association_id for t in team_alert.items] == [theirs]
    assert team_alert.mentions == ("S0PAYOPS01",)
    runner.sweep_job()  # once per streak and channel
    assert len(publisher.alert_posts) == 2


def test_an_alert_is_edited_when_acknowledged_and_when_resolved(
    sim: Sim, routed: Callable[..., tuple[Runner, RecordingPublisher, FakeClock, str]]
) -> None:
    runner, publisher, clock, member = routed()
    runner.sweep_job()
    victim = breaks_after(sim.fleet, clock, member)
    runner.sweep_job()
    [tracked] = runner.store.associations.find(victim, now=runner.clock())
    runner.store.acks.acknowledge(
        tracked.key, by="U0ALICE01", reason="vendor", until=None, now=clock.now
    )
    runner.refresh_alerts([tracked.key])
    edits = {(m.channel, state.tracked.ack.by) for m, [state], _ in publisher.alert_updates}  # type: ignore[union-attr]
    assert edits == {(MAIN, "U0ALICE01"), (TEAM, "U0ALICE01")}
    assert {mentions for m, _, mentions in publisher.alert_updates if m.channel == TEAM} == {
        ("S0PAYOPS01",)
    }

    publisher.alert_updates.clear()
    sim.fleet.run_association(victim, failures={}, at=clock.now + timedelta(minutes=5))
    clock.now += timedelta(hours=1)
    runner.sweep_job()
    resolved = [state for _, [state], _ in publisher.alert_updates]
    assert len(resolved) == 2
    assert all(s.resolved for s in resolved)
    assert all(s.resolved_at == clock.now for s in resolved)
    runner.sweep_job()
    assert len(publisher.alert_updates) == 2, "a resolved alert is edited once"


def test_a_failure_older_than_the_escalation_age_is_called_out_with_the_mention(
    sim: Sim, routed: Callable[..., tuple[Runner, RecordingPublisher, FakeClock, str]]
) -> None:
    runner, publisher, clock, _ = routed(escalate_after=timedelta(days=7))
    runner.sweep_job()
    clock.now += timedelta(days=8)
    runner.sweep_job()
    assert runner.digest_job()
    [team] = publisher.digests_in(TEAM)
    [main] = publisher.digests_in(MAIN)
    old = [
        t
        for t in team.failing
        if t.failing_since and t.failing_since <= clock.now - timedelta(days=7)
    ]
    assert old
    assert [t.key for t in team.escalated] == [
        t.key for t in sorted(old, key=lambda t: (t.failing_since, t.key.association_id))
    ]
    assert team.mentions == ("S0PAYOPS01",)
    assert main.mentions == ()
    assert {t.key for t in team.escalated} <= {t.key for t in main.escalated}
