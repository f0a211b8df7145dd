"""The real-time poller in this process, on a real SQS (moto's server on loopback) with the
simulator as AWS and the fake Slack Web API: what each kind of message does to the store, to
Slack and to the queue. (`serve` itself, end to end: tests/test_events_serve.py.)"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from bot.realtime.poller import EventPoller
from bot.sim.events import (
    compliance_event,
    findings_imported_event,
    findings_imported_v2_event,
    instance_association_event,
)
from bot.sim.fleet import Fault
from bot.store import Store
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import SlackHarness
from tests.support.realtime import (
    alerts,
    break_association,
    healthy_associations,
    start_poller,
)
from tests.support.sim import Sim
from tests.support.slack import slack_runner
from tests.support.sqs import MotoSqs, Queue

Harness = Callable[..., SlackHarness]
FAR_AWAY = "0 0 1 1 *"  # sweeps once a year: only events can bring news


def wait_until(predicate: Callable[[], object], timeout: float = 20.0) -> object:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)
    return value


@pytest.fixture
def live(make_harness: Harness, events_queue: Queue) -> SlackHarness:
    return make_harness(events_queue_url=events_queue.url, sweep_schedule=FAR_AWAY)


def test_a_burst_re_reads_each_account_region_once_and_alerts_once(
    live: SlackHarness, sim: Sim, fake_slack: FakeSlack, events_queue: Queue
) -> None:
    runner = slack_runner(live)
    account = sim.fleet.caller_account
    broken = healthy_associations(sim.fleet, account, "us-east-1")[:3]
    events = [break_association(sim.fleet, a, seed=n) for n, a in enumerate(broken)]
    # Every event twice, and State Manager's association-level event as well: one burst.
    events_queue.send_many(
        events + events + [compliance_event(account, "us-east-1", broken[0].instance_ids[0])]
    )
    sim.fleet.reset_calls()
    poller = start_poller(runner, drain_s=3.0)
    try:
        fake_slack.wait_for(lambda: all(alerts(fake_slack, a) for a in broken))
        wait_until(lambda: events_queue.counts() == (0, 0))
    finally:
        poller.stop()
    assert sim.fleet.call_count("ListAssociations", region="us-east-1") == 1, "one re-read"
    assert sim.fleet.call_count("ListAssociations", region="eu-west-1") == 0
    assert len(alerts(fake_slack)) == 1, "three new failures, one alert message"
    assert poller.counts["handled"] == 7
    assert events_queue.dead_letters() == 0
    scope_states = {s.scope.region: s for s in live.services.store.sweeps.scope_states()}
    assert scope_states["us-east-1"].ok


def test_an_event_that_lies_alerts_nothing_and_is_counted(
    live: SlackHarness, sim: Sim, fake_slack: FakeSlack, events_queue: Queue
) -> None:
    runner = slack_runner(live)
    [honest, lied_about] = healthy_associations(sim.fleet, sim.fleet.caller_account, "eu-west-1")[
        :2
    ]
    lie = instance_association_event(
        sim.fleet, lied_about.association_id, lied_about.instance_ids[0], status="Failed"
    )
    events_queue.send(lie)
    poller = start_poller(runner)
    try:
        wait_until(lambda: poller.counts["contradicted"] == 1)
        events_queue.send(break_association(sim.fleet, honest))
        fake_slack.wait_for(lambda: alerts(fake_slack, honest))
    finally:
        poller.stop()
    assert alerts(fake_slack, lied_about) == []
    assert b'ssm3_events_total{outcome="contradicted"} 1.0' in live.services.metrics.exposition()
    assert events_queue.counts() == (0, 0), "a lying event is still a usable one: deleted"


def test_the_bots_own_security_hub_update_changes_nothing(
    live: SlackHarness, sim: Sim, events_queue: Queue, fake_slack: FakeSlack
) -> None:
    runner = slack_runner(live)
    store: Store = live.services.store
    [(scope, _)] = store.associations.instance_compliance(
        next(iter(store.associations.noncompliant_instances())).instance_id
    )
    instance = next(
        k for k in store.associations.noncompliant_instances() if k.region == scope.region
    )
    sim.fleet.refresh_findings()
    finding = sim.fleet.finding_for(instance.account_id, instance.region, instance.instance_id)
    assert finding is not None
    finding.note = {
        "Text": "Acknowledged by U0ALICE01",
        "UpdatedBy": "ssm3-bot",
        "UpdatedAt": "2026-11-30T10:00:00.000Z",
    }
    own = findings_imported_event(
        sim.fleet, instance.account_id, instance.region, instance.instance_id
    )
    finding.note = {"Text": "looked at it", "UpdatedBy": "arn:aws:iam::111111111111:user/alice"}
    someone_elses = findings_imported_event(
        sim.fleet, instance.account_id, instance.region, instance.instance_id
    )
    sim.fleet.reset_calls()
    events_queue.send(own)
    poller = start_poller(runner)
    try:
        wait_until(lambda: poller.counts["own"] == 1)
        assert sim.fleet.call_count("ListAssociations") == 0, "no re-read for the bot's own update"
        events_queue.send(someone_elses)
        wait_until(lambda: poller.counts["handled"] == 1)
    finally:
        poller.stop()
    assert sim.fleet.call_count("ListAssociations") == 1, "anyone else's update is a hint"
    assert events_queue.counts() == (0, 0)


def test_a_findings_imported_v2_event_triggers_a_re_read(
    live: SlackHarness, sim: Sim, events_queue: Queue
) -> None:
    """The new Security Hub's event about an SSM.3 finding is a hint like CSPM's: its
    account-region is re-read through the API; one about another control is not."""
    runner = slack_runner(live)
    store: Store = live.services.store
    instance = next(iter(store.associations.noncompliant_instances()))
    sim.fleet.refresh_findings()
    event = findings_imported_v2_event(
        sim.fleet, instance.account_id, instance.region, instance.instance_id
    )
    other_control = json.loads(json.dumps(event))
    other_control["detail"]["findings"][0]["compliance"]["control"] = "EC2.8"
    sim.fleet.reset_calls()
    events_queue.send_many([other_control])
    poller = start_poller(runner)
    try:
        wait_until(lambda: poller.counts["ignored"] == 1)
        assert sim.fleet.call_count("ListAssociations") == 0
        events_queue.send(event)
        wait_until(lambda: poller.counts["handled"] == 1)
    finally:
        poller.stop()
    assert sim.fleet.call_count("ListAssociations", account_id=instance.account_id) == 1
    assert sim.fleet.call_count("ListAssociations", region=instance.region) == 1
    assert events_queue.counts() == (0, 0)


def test_events_about_account_regions_not_swept_are_counted_and_deleted(
    live: SlackHarness, sim: Sim, events_queue: Queue
) -> None:
    runner = slack_runner(live)
    foreign = [
        compliance_event("999999999999", "eu-west-1", "i-0123456789abcdef0"),
        compliance_event(sim.fleet.caller_account, "ap-southeast-2", "i-0123456789abcdef0"),
    ]
    events_queue.send_many(foreign)
    sim.fleet.reset_calls()
    poller = start_poller(runner)
    try:
        wait_until(lambda: poller.counts["foreign"] == 2)
        wait_until(lambda: events_queue.counts() == (0, 0))
    finally:
        poller.stop()
    assert sim.fleet.call_count("ListAssociations") == 0
    assert events_queue.dead_letters() == 0


def test_an_event_whose_account_region_cannot_be_read_comes_round_again(
    make_harness: Harness,
    sim: Sim,
    fake_slack: FakeSlack,
    moto_sqs: MotoSqs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_sqs.endpoint_url)
    queue = moto_sqs.queue(visibility_s=1, max_receives=5)
    h = make_harness(events_queue_url=queue.url, sweep_schedule=FAR_AWAY)
    runner = slack_runner(h)
    [association] = healthy_associations(sim.fleet, sim.fleet.caller_account, "eu-west-1")[:1]
    event = break_association(sim.fleet, association)
    sim.fleet.inject(
        Fault(
            "AccessDeniedException",
            "denied",
            operation="ListAssociations",
            region="eu-west-1",
            times=1,
        )
    )
    queue.send(event)
    poller = start_poller(runner)
    try:
        fake_slack.wait_for(lambda: alerts(fake_slack, association), timeout=20)
    finally:
        poller.stop()
    assert poller.counts["retry"] == 1
    assert poller.counts["handled"] == 1
    assert queue.dead_letters() == 0


def test_an_unreachable_queue_is_retried_with_backoff_and_shows_in_health(
    live: SlackHarness, moto_sqs: MotoSqs, sim: Sim, fake_slack: FakeSlack
) -> None:
    runner = slack_runner(live)
    queue = moto_sqs.queue()
    missing = queue.url.replace(queue.name, queue.name + "-not-yet")
    poller = EventPoller(
        queue_url=missing,
        client=lambda: runner.access.sqs("eu-west-1"),
        handle=lambda messages: [],
        wait_s=1,
        first_backoff_s=0.05,
        max_backoff_s=0.2,
        metrics=runner.metrics,
    ).start()
    try:
        wait_until(lambda: poller.receive_errors >= 3)
        health = poller.health()
        assert not health.ok
        assert "events queue unreachable" in health.detail
        assert "NonExistentQueue" in health.detail or "does not exist" in health.detail
        assert poller.running, "the poller never gives up"
        queue.client().create_queue(QueueName=queue.name + "-not-yet")
        wait_until(lambda: poller.health().ok)
    finally:
        poller.stop()
    assert b"ssm3_events_receive_errors_total" in runner.metrics.exposition()


def test_the_backoff_doubles_to_at_most_thirty_seconds() -> None:
    poller = EventPoller(
        queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/q",
        client=lambda: None,
        handle=lambda m: [],
    )  # type: ignore[arg-type, return-value]
    delays = [poller._receive_failed(RuntimeError("down")) for _ in range(10)]
    for failures, delay in enumerate(delays):
        cap = min(30.0, 1.0 * 2**failures)  # 1, 2, 4, 8, 16, then 30 s; jitter takes up to half
        assert cap / 2 <= delay <= cap, (failures, delay)


def test_health_document_names_the_queue(live: SlackHarness, events_queue: Queue) -> None:
    runner = slack_runner(live)
    poller = start_poller(runner)
    live.services.poller = poller
    try:
        wait_until(lambda: "last receive" in poller.health().detail)
        status, body = live.request("GET", "/healthz")
    finally:
        poller.stop()
    document = json.loads(body)
    assert document["events_queue"]["ok"] is True
    assert document["events_queue"]["detail"].startswith("events queue: last receive")
    del status  # the sweep's verdict, which the queue does not change


def test_a_partial_re_read_is_never_the_last_sweep(live: SlackHarness, sim: Sim) -> None:
    store: Store = live.services.store
    runner = slack_runner(live)
    before = store.sweeps.last()
    assert before is not None
    summary = runner.refresh_scopes([next(iter(s.scope for s in store.sweeps.scope_states()))])
    assert summary.coverage == "partial"
    assert store.sweeps.last() == before, "health and the digest still see the full sweep"
