"""Alerts that keep up, as Slack shows them: a new failure's alert is edited in place when
someone acknowledges it (who, until when) and again when it is resolved (how long it failed,
the Re-run and Acknowledge buttons gone, History kept); a route's channel gets its own alert
with the route's mention."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.routing import Route
from bot.slack import blocks as kit
from tests.fakes.fixtures import GROUPIE, OPERATOR
from tests.fakes.slack_api import FakeSlack, Message
from tests.fakes.slack_harness import CHANNEL, SlackHarness, ack_values
from tests.support.fleet import fail, healthy
from tests.support.sim import Sim
from tests.support.slack import body_text, slack_runner, wait_response

Harness = Callable[..., SlackHarness]
TEAM = "C0PAYMENTS"


def alerts_in(fake: FakeSlack, channel: str) -> list[Message]:
    """Top-level alert messages (new, or since edited to resolved)."""
    return [
        m
        for m in fake.messages.values()
        if m.channel == channel
        and m.thread_ts is None
        and ("just started failing" in (m.text or "") or (m.text or "").startswith("Resolved:"))
    ]


def action_ids(message: Message) -> set[str]:
    return {
        element["action_id"]
        for block in message.blocks or []
        if block.get("type") == "actions"
        for element in block["elements"]
    }


def new_failure(sim: Sim, h: SlackHarness, account_id: str | None = None) -> str:
    """A healthy association fails after the harness's first sweep; the next sweep sees a
    failing streak that began after it, which is what earns an alert. (The store keeps whole
    seconds: the failure waits for the clock to pass the first sweep's second.)"""
    first = h.services.store.sweeps.last()
    assert first is not None
    clock_passes(first.started_at + timedelta(seconds=1))
    victim = healthy(sim.fleet, account_id)
    fail(sim.fleet, victim, at=datetime.now(UTC))
    h.services.scheduled().sweep_job()
    return victim


def clock_passes(moment: datetime, timeout: float = 5.0) -> None:
    """Wait (at most `timeout` seconds) until the wall clock is past `moment`."""
    deadline = time.monotonic() + timeout
    while datetime.now(UTC) <= moment:
        assert time.monotonic() < deadline, f"the clock did not reach {moment}"
        time.sleep(0.02)


def test_an_alert_is_edited_when_acknowledged_and_then_when_resolved(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness()
    victim = new_failure(sim, h)
    [alert] = alerts_in(fake_slack, CHANNEL)
    assert action_ids(alert) == {kit.ACTION_HISTORY, kit.ACTION_RERUN, kit.ACTION_ACK}

    acked = h.command(f"ack {victim} for 2d OPS-42 vendor fix due", user=OPERATOR)
    wait_response(fake_slack, acked.response_url)
    fake_slack.wait_for(lambda: alert.updates >= 1)
    shown = body_text(alert.blocks)
    assert f"Acknowledged by <@{OPERATOR}> until <!date^" in shown
    assert "OPS-42 vendor fix due" in shown

    sim.fleet.run_association(victim, failures={}, at=datetime.now(UTC))
    h.services.scheduled().sweep_job()
    assert alert.updates == 2
    resolved = body_text(alert.blocks)
    assert "resolved" in resolved
    assert "after failing for" in resolved
    assert action_ids(alert) == {kit.ACTION_HISTORY}, "nothing left to re-run or acknowledge"
    assert (alert.text or "").startswith("Resolved: the failure is over")
    h.services.scheduled().sweep_job()
    assert alert.updates == 2, "a resolved alert is edited once"
    assert len(alerts_in(fake_slack, CHANNEL)) == 1, "no second alert for the same streak"


def test_a_routed_failure_alerts_the_teams_channel_with_its_mention(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    member = next(a for a in sim.fleet.accounts if a != sim.fleet.caller_account)
    h = make_harness(
        accounts=tuple(sim.fleet.accounts),
        routes=(Route(channel=TEAM, accounts=frozenset({member}), mention="S0PAYOPS01"),),
    )
    theirs = new_failure(sim, h, member)
    [team] = alerts_in(fake_slack, TEAM)
    [main] = alerts_in(fake_slack, CHANNEL)
    assert "<!subteam^S0PAYOPS01>" in body_text(team.blocks)
    assert "<!subteam^" not in body_text(main.blocks)
    for message in (team, main):
        assert theirs in str(message.blocks)
    # The team's digest holds its account's associations only; the main one holds both.
    posted = h.services.scheduled().post_digests_now()
    assert [p.channel for p in posted] == [CHANNEL, TEAM]
    accounts: dict[str, set[str]] = {}
    for post in posted:
        blocks: Any = fake_slack.message(post.channel, str(post.ts)).blocks
        text = body_text(blocks)
        accounts[post.channel] = {a for a in sim.fleet.accounts if a in text}
    assert accounts[TEAM] == {member}
    assert accounts[CHANNEL] == set(sim.fleet.accounts)


def test_an_alert_acknowledged_through_its_modal_says_resolved_after_a_slash_sweep(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    """The issue's exact steps: `/ssm3 sweep` posts the alert; the alert's Acknowledge button
    and modal acknowledge it; the association's next run succeeds; `/ssm3 sweep` again edits
    the alert to say it was resolved (only History left). The Runner is wired as `serve`
    wires it."""
    h = make_harness()
    slack_runner(h)
    first = h.services.store.sweeps.last()
    assert first is not None
    clock_passes(first.started_at + timedelta(seconds=1))
    victim = healthy(sim.fleet)
    fail(sim.fleet, victim, at=datetime.now(UTC))
    swept = h.command("sweep", user=OPERATOR)
    wait_response(fake_slack, swept.response_url, count=2)
    [alert] = alerts_in(fake_slack, CHANNEL)
    ack_button = next(
        element
        for block in alert.blocks or []
        if block.get("type") == "actions"
        for element in block["elements"]
        if element["action_id"] == kit.ACTION_ACK
    )

    h.click(kit.ACTION_ACK, ack_button["value"], user=OPERATOR, message_ts=alert.ts)
    [opened] = fake_slack.wait_for(lambda: fake_slack.calls_to("views.open", ok=True))
    done = h.submit_view(opened.params["view"], ack_values("OPS-77"), user=OPERATOR)
    assert done.status == 200
    fake_slack.wait_for(lambda: alert.updates >= 1)
    assert f"Acknowledged by <@{OPERATOR}> until <!date^" in body_text(alert.blocks)

    sim.fleet.run_association(victim, failures={}, at=datetime.now(UTC))
    again = h.command("sweep", user=GROUPIE)  # another operator: one sweep a person a while
    wait_response(fake_slack, again.response_url, count=2)
    fake_slack.wait_for(lambda: (alert.text or "").startswith("Resolved:"))
    assert "after failing for" in body_text(alert.blocks)
    assert action_ids(alert) == {kit.ACTION_HISTORY}, "nothing left to re-run or acknowledge"
    assert len(alerts_in(fake_slack, CHANNEL)) == 1
