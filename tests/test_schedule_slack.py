"""The scheduled life of `serve` as Slack sees it: the scheduled digest is posted once and edited
in place after a re-run and an acknowledgement, alerts carry the digest's buttons, and /healthz
and /metrics report on the sweeps."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.sim.fleet import failure_for
from bot.slack import blocks as kit
from bot.slack.delivery import Delivery
from tests.fakes.block_kit import texts
from tests.fakes.fixtures import OPERATOR
from tests.fakes.slack_api import FakeSlack, Message
from tests.fakes.slack_harness import CHANNEL, SlackHarness, ack_values
from tests.support.runners import make_runner
from tests.support.sim import Sim
from tests.support.slack import slack_runner
from tests.support.virtual_time import FakeClock

Harness = Callable[..., SlackHarness]


def body_text(message: Message) -> str:
    return "\n".join(text for _, text in texts(message.blocks))


def top_level(fake: FakeSlack) -> list[Message]:
    """Messages posted to the channel itself (not thread replies)."""
    return [m for m in fake.messages.values() if m.channel == CHANNEL and m.thread_ts is None]


def test_the_days_digest_is_edited_not_reposted_after_a_rerun_and_an_acknowledgement(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness()
    runner = slack_runner(h, lambda: datetime.now(UTC))
    assert runner.digest_job()
    [digest] = top_level(fake_slack)
    failing = h.services.store.associations.tracked(failing_only=True)
    rerun_target, ack_target = failing[0], failing[1]
    sim.fleet.find_association(rerun_target.key.association_id)[1].fix_on_rerun = True

    h.click(kit.ACTION_RERUN, kit.key_value(rerun_target.key), user=OPERATOR, message_ts=digest.ts)
    fake_slack.wait_for(lambda: "↻ Re-run by" in body_text(fake_slack.message(CHANNEL, digest.ts)))

    h.click(kit.ACTION_ACK, kit.key_value(ack_target.key), user=OPERATOR, message_ts=digest.ts)
    [opened] = fake_slack.wait_for(lambda: fake_slack.calls_to("views.open", ok=True))
    assert (
        h.submit_view(opened.params["view"], ack_values("OPS-9 vendor fix"), user=OPERATOR).status
        == 200
    )
    fake_slack.wait_for(
        lambda: "*Acknowledged (1)*" in body_text(fake_slack.message(CHANNEL, digest.ts))
    )

    assert len(top_level(fake_slack)) == 1, "edited in place, never posted again"
    assert fake_slack.message(CHANNEL, digest.ts).updates >= 2
    assert sim.fleet.call_count("StartAssociationsOnce") == 1


def test_an_edit_keeps_what_changed_since_the_previous_digest(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness(digest_schedule="0 9 * * *", timezone="UTC")
    clock = FakeClock(datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0))
    runner = slack_runner(h, clock)
    assert runner.digest_job()
    scope = sim.fleet.scope(sim.fleet.caller_account, "eu-west-1")
    healthy = next(a for a in scope.associations.values() if a.status == "Success")
    sim.fleet.run_association(
        healthy.association_id,
        failures={
            healthy.instance_ids[0]: failure_for("permissions", healthy.document, random.Random(1))
        },
    )
    clock.now += timedelta(days=1)
    runner.sweep_job()
    assert runner.digest_job()
    second = top_level(fake_slack)[-1]
    assert "Since the last digest" in body_text(second)
    assert "*New* · " in body_text(second)

    (item,) = h.services.store.associations.find(healthy.association_id, now=h.services.clock())
    h.click(kit.ACTION_ACK, kit.key_value(item.key), user=OPERATOR, message_ts=second.ts)
    [opened] = fake_slack.wait_for(lambda: fake_slack.calls_to("views.open", ok=True))
    h.submit_view(opened.params["view"], ack_values("known"), user=OPERATOR)
    edited = fake_slack.wait_for(
        lambda: (m := fake_slack.message(CHANNEL, second.ts)).updates and m
    )
    assert "Since the last digest" in body_text(edited)


def test_a_new_failure_is_alerted_with_the_digests_buttons(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness()
    start = datetime.now(UTC)
    runner = slack_runner(h, FakeClock(start + timedelta(hours=1)))
    scope = sim.fleet.scope(sim.fleet.caller_account, "us-east-1")
    healthy = next(a for a in scope.associations.values() if a.status == "Success")
    sim.fleet.run_association(
        healthy.association_id,
        failures={
            healthy.instance_ids[0]: failure_for("unreachable", healthy.document, random.Random(2))
        },
        at=start + timedelta(minutes=10),
    )
    runner.sweep_job()
    runner.sweep_job()
    [alert] = [m for m in top_level(fake_slack) if "just started failing" in (m.text or "")]
    text = body_text(alert)
    assert ":rotating_light:" in text
    assert f"`{healthy.name or healthy.association_id}`" in text
    actions = [
        element["action_id"]
        for block in alert.blocks or []
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert actions == [kit.ACTION_HISTORY, kit.ACTION_RERUN, kit.ACTION_ACK]


def test_healthz_follows_the_sweeps_and_metrics_count_them(
    make_harness: Harness, fake_slack: FakeSlack
) -> None:
    h = make_harness(sweep=False)
    status, body = h.request("GET", "/healthz")
    assert status == 200, "alive before its first sweep: staleness is no liveness failure"
    assert json.loads(body)["sweep_stale"] is True
    assert b"ssm3_sweep_stale 1.0" in h.request("GET", "/metrics")[1]
    runner = slack_runner(h, lambda: datetime.now(UTC))
    runner.sweep_job()
    status, body = h.request("GET", "/healthz")
    assert status == 200
    assert json.loads(body)["sweep_stale"] is False
    status, metrics = h.request("GET", "/metrics")
    assert status == 200
    failing = len(h.services.store.associations.tracked(failing_only=True))
    assert f"ssm3_failing_associations {float(failing)}".encode() in metrics
    assert b'ssm3_sweeps_total{trigger="schedule"} 1.0' in metrics
    assert b"ssm3_scopes_failed 0.0" in metrics
    assert b"ssm3_sweep_stale 0.0" in metrics


def test_a_sweep_asked_for_in_slack_never_overlaps_a_running_one(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    from tests.support.slack import wait_response

    h = make_harness()
    other_process = h.services.store.ledger.with_holder()
    assert other_process.acquire("sweep", datetime.now(UTC), timedelta(minutes=30))
    sim.fleet.reset_calls()
    reply = h.command("sweep", user=OPERATOR)
    [answer] = wait_response(fake_slack, reply.response_url)
    assert "A sweep is already running" in answer["text"]
    assert sim.fleet.call_count("ListAssociations") == 0
    latest = h.services.store.audit.entries(limit=1)[0]
    assert (latest.action, latest.outcome) == ("sweep", "refused")

    other_process.release("sweep")
    again = h.command("sweep", user=OPERATOR)
    answers = wait_response(fake_slack, again.response_url, count=2)
    assert "Sweep finished" in answers[-1]["text"]
    assert sim.fleet.call_count("ListAssociations") == len(h.services.store.sweeps.scope_states())


def test_a_digest_whose_csv_cannot_be_attached_is_posted_once_and_says_why(tmp_path: Path) -> None:
    from bot.settings.config import Settings
    from bot.slack.services import web_client
    from bot.store import Store
    from tests.fakes.estate import store_estate
    from tests.fakes.slack_api import ALL_SCOPES

    start = datetime(2026, 11, 30, 9, 0, 30, tzinfo=UTC)
    clock = FakeClock(start)
    with FakeSlack(scopes=ALL_SCOPES - {"files:write"}) as slack:  # an app made without it
        settings = Settings(
            slack_bot_token=slack.token,
            slack_api_url=slack.api_url,
            channel=CHANNEL,
            db_path=str(tmp_path / "csv.db"),
            regions=("eu-west-1",),
        )
        store = Store(settings.db_path)
        # More than a message shows (DIGEST_SHOWN): the full list goes to the thread as a CSV.
        store_estate(store, failing=60, now=start - timedelta(minutes=5))
        delivery = Delivery(client=web_client(settings), clock=clock)
        runner = make_runner(
            settings=settings,
            store=store,
            publisher=delivery,
            clock=clock,
        )
        for _ in range(4):  # the reconcile job comes back every 5 minutes
            runner.digest_job()
            clock.now += timedelta(minutes=5)
        [digest] = top_level(slack)
        [note] = slack.thread(CHANNEL, digest.ts)
        assert "The full list could not be attached here (missing_scope)" in (note.text or "")
        store.close()
