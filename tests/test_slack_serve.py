"""`ssm3bot serve` as a user runs it: the real console script, waitress on a port, signed
requests in, the fake Web API and the simulator behind it; and its configuration errors."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import SIGNING_SECRET, sign
from tests.support.processes import free_port, ssm3bot, wait_healthy
from tests.support.sim import Sim


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({}, "ssm3bot: SLACK_BOT_TOKEN: required for serve (a bot token, xoxb-…)"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1"},
            "ssm3bot: SLACK_SIGNING_SECRET: required in HTTP mode "
            "(set it, or set SLACK_APP_TOKEN for Socket Mode)",
        ),
        (
            {"SLACK_BOT_TOKEN": "xapp-wrong"},
            "ssm3bot: SLACK_BOT_TOKEN: expected a token starting with xoxb-",
        ),
    ],
)
def test_serve_refuses_incomplete_configuration(
    tmp_path: Path, env: dict[str, str], line: str
) -> None:
    result = ssm3bot(["serve"], env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [line]
    assert result.stdout == ""
    assert not (tmp_path / "ssm3.db").exists()


def test_serve_answers_signed_requests_over_http(
    sim: Sim, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    port = free_port()
    env = sim.env(
        SLACK_BOT_TOKEN=fake_slack.token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SSM3_SLACK_API_URL=fake_slack.api_url,
        SSM3_HTTP_PORT=str(port),
        SSM3_DB_PATH=str(tmp_path / "serve.db"),
    )
    assert ssm3bot(["sweep"], env, tmp_path).returncode == 0
    executable = shutil.which("ssm3bot") or str(Path(sys.executable).with_name("ssm3bot"))
    process = subprocess.Popen(
        [executable, "serve"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = wait_healthy(port, process)
        assert health["status"] == "ok"
        assert health["last_sweep"]
        response_url = fake_slack.new_response_url()
        body = urlencode(
            {"command": "/ssm3", "text": "status", "user_id": "U0ALICE01", "channel_id": "C0X1",
             "response_url": response_url, "trigger_id": "1.2", "team_id": "T1"}
        ).encode()  # fmt: skip
        ts = str(int(time.time()))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(
            "POST",
            "/slack/events",
            body,
            {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign(SIGNING_SECRET, ts, body),
             "Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        assert conn.getresponse().status == 200
        conn.close()
        fake_slack.wait_for(lambda: fake_slack.responses)
        [(_, answer)] = fake_slack.responses
        assert re.match(r"SSM.3 status: \d+ failing associations", answer["text"])
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert f"serving on http://0.0.0.0:{port}/slack/events" in err
    assert "xoxb" not in err  # the token is never logged


def test_socket_mode_needs_no_signing_secret_and_dispatches(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """Socket Mode requests arrive without an HTTP signature; the same listeners answer them."""
    from slack_bolt.request import BoltRequest

    from bot.aws.session import AwsAccess
    from bot.slack.app import build_app
    from bot.slack.services import Services, web_client
    from bot.store import Store
    from tests.fakes.fixtures import slack_settings

    settings = slack_settings(
        fake_slack,
        str(tmp_path / "socket.db"),
        slack_signing_secret=None,
        slack_app_token="xapp-1-socket",
    )
    store = Store(settings.db_path)
    services = Services(
        settings=settings, store=store, access=AwsAccess(), client=web_client(settings)
    )
    app = build_app(services)
    body = urlencode({"command": "/ssm3", "text": "nonsense", "user_id": "U0ALICE01"})
    response = app.dispatch(BoltRequest(body=body, mode="socket_mode"))
    assert response.status == 200
    assert "I don't know the command" in json.loads(response.body)["blocks"][0]["text"]["text"]
    store.close()
