"""`serve` in Socket Mode, as a platform's probes see it: /healthz and /metrics on
SSM3_HTTP_PORT beside a real Socket Mode session (slack_sdk's own client against a local
Socket Mode endpoint), liveness that follows the scheduler's thread and the connection, and
gauges read from the store, equal before and after a restart."""

from __future__ import annotations

import http.client
import io
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.settings.config import Settings
from bot.slack.serve import Serving
from bot.slack.services import Services, web_client
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from bot.util.clock import utcnow
from tests.fakes.fixtures import OPERATOR, slack_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode
from tests.support.processes import free_port
from tests.support.sim import Sim
from tests.support.waiting import wait_until

APP_TOKEN = "xapp-1-A0SSM3APP-1-socketmodefake"


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


def health(port: int) -> tuple[int, dict[str, Any]]:
    status, body = get(port, "/healthz")
    return status, json.loads(body)


def gauges(exposition: bytes) -> dict[str, float]:
    """Every sample of every gauge (counters count this process's work and restart at 0; their
    `_created` series are when this process started counting)."""
    kinds: dict[str, str] = {}
    samples: dict[str, float] = {}
    for line in exposition.decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            kinds[name] = kind
        elif line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            family = name.split("{")[0]
            if kinds.get(family) == "gauge" and not family.endswith("_created"):
                samples[name] = float(value)
    return samples


@pytest.fixture
def socket_mode() -> Iterator[FakeSocketMode]:
    with FakeSocketMode() as endpoint:
        yield endpoint


@pytest.fixture
def slack(socket_mode: FakeSocketMode) -> Iterator[FakeSlack]:
    with FakeSlack(app_token=APP_TOKEN) as fake:
        fake.socket_url = socket_mode.url
        yield fake


@pytest.fixture
def socket_settings(slack: FakeSlack, sim: Sim, tmp_path: Path) -> Settings:
    settings = slack_settings(
        slack,
        str(tmp_path / "socket.db"),
        slack_app_token=APP_TOKEN,
        slack_signing_secret=None,
        channel=None,
        http_port=free_port(),
    )
    store = Store(settings.db_path)
    run_sweep(settings=settings, access=sim.access(), store=store, trigger="test")
    store.close()
    return settings


@pytest.fixture
def start(sim: Sim, slack: FakeSlack) -> Iterator[Callable[[Settings], Serving]]:
    running: list[tuple[Serving, Store]] = []

    def begin(settings: Settings) -> Serving:
        store = Store(settings.db_path)
        services = Services(
            settings=settings, store=store, access=sim.access(), client=web_client(settings)
        )
        serving = Serving(services, err=io.StringIO(), host="127.0.0.1")
        serving.socket_ping_s = 0.5  # so a lost connection is retried within the test's patience
        running.append((serving, store))
        serving.start()
        wait_until(lambda: health(serving.port)[0] == 200, what="/healthz to answer 200")
        return serving

    yield begin
    for serving, store in running:
        serving.stop(5)
        store.close()


def test_healthz_and_metrics_answer_beside_a_socket_mode_session(
    start: Callable[[Settings], Serving],
    socket_settings: Settings,
    socket_mode: FakeSocketMode,
) -> None:
    serving = start(socket_settings)
    status, body = health(serving.port)
    assert status == 200
    assert body["checks"] == {
        "database": {"ok": True, "detail": "ok"},
        "slack": {"ok": True, "detail": "Socket Mode connected"},
        "scheduler": {"ok": True, "detail": "running"},
    }
    assert body["sweep_stale"] is False
    status, metrics = get(serving.port, "/metrics")
    assert status == 200
    failing = len(serving.services.store.associations.tracked(failing_only=True))
    assert gauges(metrics)["ssm3_failing_associations"] == failing > 0
    assert get(serving.port, "/slack/events")[0] == 404, "Socket Mode has no inbound Slack path"

    # The session really serves Slack: a slash command arrives over it and is acknowledged.
    socket_mode.send(
        {
            "envelope_id": "env-help-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "command": "/ssm3",
                "text": "help",
                "user_id": OPERATOR,
                "channel_id": "C0DIGEST01",
                "team_id": "T0FAKETEAM",
                "response_url": "https://hooks.slack.com/commands/T0/1/x",
                "trigger_id": "1.2.x",
            },
        }
    )
    socket_mode.wait_for(
        lambda: any(m.get("envelope_id") == "env-help-1" for m in socket_mode.received)
    )

    # Slack drops the connection and cannot be reached for a while: not alive meanwhile.
    socket_mode.refusing = True
    socket_mode.drop()
    wait_until(lambda: health(serving.port)[0] == 503, what="/healthz to notice the drop")
    assert health(serving.port)[1]["checks"]["slack"] == {
        "ok": False,
        "detail": "Socket Mode not connected",
    }
    socket_mode.refusing = False
    wait_until(lambda: health(serving.port)[0] == 200, timeout=30, what="a reconnection")
    assert socket_mode.handshakes == 2


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_healthz_turns_503_when_the_scheduler_thread_dies(
    start: Callable[[Settings], Serving], socket_settings: Settings
) -> None:
    serving = start(socket_settings)
    scheduler: Any = serving.scheduler

    def broken() -> float:
        raise RuntimeError("the scheduler's loop broke")

    scheduler._process_jobs = broken  # an error that escapes APScheduler's loop ends its thread
    scheduler.wakeup()
    wait_until(lambda: health(serving.port)[0] == 503, what="/healthz to notice")
    _, body = health(serving.port)
    assert body["status"] == "unhealthy"
    assert body["checks"]["scheduler"] == {"ok": False, "detail": "its thread is not running"}
    assert scheduler.running, "APScheduler itself still says it runs: only the thread tells"
    assert body["checks"]["database"]["ok"]
    assert body["checks"]["slack"]["ok"]


def test_metrics_after_a_restart_equal_those_before_it(
    start: Callable[[Settings], Serving], socket_settings: Settings
) -> None:
    first = start(socket_settings)
    store = first.services.store
    item = store.associations.tracked(failing_only=True)[0]
    store.acks.acknowledge(item.key, by=OPERATOR, reason="OPS-1", until=None, now=utcnow())
    store.jobs.add("rerun_follow_up", utcnow() + timedelta(hours=1), {"rerun_id": 0}, utcnow())
    before = gauges(get(first.port, "/metrics")[1])
    first.stop(5)

    second = start(socket_settings)
    after = gauges(get(second.port, "/metrics")[1])
    assert after == before
    failing, acknowledged, instances = second.services.store.associations.compliance_counts(
        utcnow()
    )
    assert before["ssm3_failing_associations"] == failing > 0
    assert before["ssm3_acknowledged_associations"] == acknowledged == 1
    assert before["ssm3_noncompliant_instances"] == instances > 0
    assert before["ssm3_last_sweep_timestamp_seconds"] > 0
    assert before["ssm3_scheduled_jobs_pending"] == 1
