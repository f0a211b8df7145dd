"""Real time, end to end: `ssm3bot serve` (the real console script, its production 20 s long
poll) with sweeps scheduled a year away, the simulator as AWS, moto's SQS on loopback reached
through AWS_ENDPOINT_URL_SQS, and the fake Slack Web API. A failure made in the simulator and
its event queued reaches Slack as an alert well inside 60 s; lies, duplicates, a later sweep
and hostile messages alert nothing more, and never stop the poller."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from bot.sim.events import compliance_event, instance_association_event
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import CHANNEL, SIGNING_SECRET, SignedRequests
from tests.support.processes import captured, free_port, serve, ssm3bot, wait_healthy
from tests.support.realtime import alerts, break_association, healthy_associations
from tests.support.sim import Sim
from tests.support.slack import wait_response
from tests.support.sqs import MotoSqs

ALERT_WITHIN_S = 60.0


def metric(port: int, name: str) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def explained(cwd: Path, wait: Callable[[], object]) -> None:
    """Run a wait; when it times out, say what `serve` logged (a failure here once came with
    nothing but the Slack calls to go on)."""
    try:
        wait()
    except AssertionError as exc:
        _, stderr = captured(cwd)
        raise AssertionError(
            f"{exc}\n--- serve's stderr (last 6000 characters) ---\n{stderr[-6000:]}"
        ) from None


def test_serve_alerts_on_an_event_within_a_minute_and_only_once(
    sim: Sim, fake_slack: FakeSlack, moto_sqs: MotoSqs, tmp_path: Path
) -> None:
    queue = moto_sqs.queue(visibility_s=1, max_receives=1)
    port = free_port()
    env = sim.env(
        SLACK_BOT_TOKEN=fake_slack.token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SSM3_SLACK_API_URL=fake_slack.api_url,
        SSM3_CHANNEL=CHANNEL,
        SSM3_REGIONS="eu-west-1,us-east-1",
        SSM3_HTTP_PORT=str(port),
        SSM3_DB_PATH=str(tmp_path / "serve.db"),
        SSM3_SWEEP_SCHEDULE="0 0 1 1 *",  # a year away: only events bring news
        SSM3_EVENTS_QUEUE_URL=queue.url,
        AWS_ENDPOINT_URL_SQS=moto_sqs.endpoint_url,
    )
    # Alerts are news only after a first good read of an account-region: the test stands on it.
    first_sweep = ssm3bot(["sweep", "--json"], env, tmp_path)
    assert first_sweep.returncode == 0, first_sweep.stderr
    unread = [s for s in json.loads(first_sweep.stdout)["scopes"] if not s["ok"]]
    assert unread == [], unread
    process = serve(env, tmp_path, debug=False)
    try:
        assert wait_healthy(port, process, has="events_queue")["events_queue"]["ok"] is True
        account = sim.fleet.caller_account
        first, lied_about, second = healthy_associations(sim.fleet, account, "us-east-1")[:3]

        # A lie first (the API says Success), then a real failure: one alert, for the failure.
        queue.send(
            instance_association_event(
                sim.fleet, lied_about.association_id, lied_about.instance_ids[0], status="Failed"
            )
        )
        event = break_association(sim.fleet, first)
        queued = time.monotonic()
        queue.send(event)
        explained(
            tmp_path, lambda: fake_slack.wait_for(lambda: alerts(fake_slack, first), ALERT_WITHIN_S)
        )
        assert time.monotonic() - queued < ALERT_WITHIN_S

        # Hostile and malformed messages, a foreign account, the same event again; then a
        # second failure, which still alerts: the poller lives on.
        unusable = [
            queue.send("this is not JSON"),
            queue.send({"source": "aws.ssm", "account": account, "region": "us-east-1"}),
            queue.send(
                {
                    "detail-type": "EC2 Spot Instance Interruption Warning",
                    "account": account,
                    "region": "us-east-1",
                }
            ),
            queue.send("{" * (256 * 1024)),  # 256 KiB, SQS's largest body
        ]
        queue.send(compliance_event("999999999999", "us-east-1", "i-0123456789abcdef0"))
        queue.send(event)
        queue.send(break_association(sim.fleet, second, seed=2))
        explained(
            tmp_path,
            lambda: fake_slack.wait_for(lambda: alerts(fake_slack, second), ALERT_WITHIN_S),
        )

        # A sweep after the events finds the same failures: no second alert.
        slack = SignedRequests(port, fake_slack)
        asked = slack.command("sweep")
        assert asked.status == 200
        done = wait_response(fake_slack, asked.response_url, count=2)[-1]
        assert "Sweep finished" in done["text"]

        queue.wait_dead_letters(len(unusable))
        assert alerts(fake_slack, lied_about) == []
        assert len(alerts(fake_slack, first)) == 1
        assert len(alerts(fake_slack, second)) == 1
        assert metric(port, 'ssm3_events_total{outcome="contradicted"}') == 1
        assert metric(port, 'ssm3_events_total{outcome="unusable"}') == len(unusable)
        assert metric(port, 'ssm3_events_total{outcome="foreign"}') == 1
        assert metric(port, 'ssm3_events_total{outcome="handled"}') >= 3
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    _, stderr = captured(tmp_path)
    assert "Traceback" not in stderr
    for message_id in unusable:
        warnings = [line for line in stderr.splitlines() if message_id in line]
        assert len(warnings) == 1, warnings  # one WARNING on its first receipt, none after
        assert " WARNING " in warnings[0]
        assert "unusable" in warnings[0]
