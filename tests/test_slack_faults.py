"""Faults on Slack's side and AWS's, met while serving Slack: rate limits and server errors on
every kind of call are retried and nothing is dropped; a refused token is one clear log line;
a bad or stale signature is refused before any listener runs; AWS denials and slowness give
clear answers, audited where something was asked to change."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import AssociationKey
from bot.settings.config import Settings
from bot.sim.fleet import Fault, Latency
from bot.slack import blocks as kit
from bot.slack import faults
from bot.slack.services import web_client
from bot.store import Store
from bot.util.clock import utcnow
from tests.fakes.estate import store_estate
from tests.fakes.fixtures import OPERATOR
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import CHANNEL, SIGNING_SECRET, SlackHarness
from tests.support.processes import free_port
from tests.support.sim import Sim
from tests.support.slack import (
    body_text,
    digest_runner,
    failing,
    post_by_hand,
    post_digest,
    responses,
    wait_response,
)

Harness = Callable[..., SlackHarness]
CALLER, MEMBER = "111111111111", "222222222222"
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk backs off 0.5, 1, 2 s (plus up to 1 s of jitter) between 5xx retries; here a
    hundredth of a second. The retries themselves are real; 429 still waits Retry-After."""
    from slack_sdk.http_retry import handler

    monkeypatch.setattr(
        handler.default_interval_calculator, "calculate_sleep_duration", lambda attempt: 0.01
    )


def statuses(fake: FakeSlack, method: str) -> list[int]:
    return [c.status for c in fake.calls_to(method)]


# -- HTTP 429 and 5xx ----------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "retry_after"), [(429, 1), (502, None)])
def test_a_rerun_in_the_digest_survives_rate_limits_and_server_errors(
    make_harness: Harness, fake_slack: FakeSlack, status: int, retry_after: int | None
) -> None:
    """The thread reply (chat.postMessage), the digest edit (chat.update) and the follow-up."""
    h = make_harness()
    item = failing(h)
    post = post_digest(h)
    fake_slack.fail("chat.postMessage", status=status, retry_after=retry_after, times=1)
    fake_slack.fail("chat.update", status=503, times=1)

    h.click(kit.ACTION_RERUN, kit.key_value(item.key), user=OPERATOR, message_ts=post.ts)
    thread = fake_slack.wait_for(
        lambda: (
            len(fake_slack.thread(CHANNEL, post.ts)) >= 2 and fake_slack.thread(CHANNEL, post.ts)
        )
    )
    assert "re-ran" in (thread[0].text or "")
    assert len(thread) == 2  # announced once, followed up once: nothing dropped or doubled
    posts = fake_slack.calls_to("chat.postMessage")
    assert [c.status for c in posts][1:3] == [status, 200]  # [0]: the digest itself
    if retry_after:  # it waited as long as Slack asked before trying again
        assert posts[2].at - posts[1].at >= retry_after
    assert statuses(fake_slack, "chat.update")[:2] == [503, 200]
    assert fake_slack.message(CHANNEL, post.ts).updates >= 1


@pytest.mark.parametrize("status", [429, 500, 504])
def test_replies_at_the_response_url_and_forms_survive_rate_limits_and_server_errors(
    make_harness: Harness, fake_slack: FakeSlack, status: int
) -> None:
    h = make_harness()
    item = failing(h)
    fake_slack.fail("response_url", status=status, times=1)
    fake_slack.fail("views.open", status=status, times=1)

    typed = h.command("status")
    [answer] = wait_response(fake_slack, typed.response_url)
    assert answer["text"].startswith("SSM.3 status:")
    assert statuses(fake_slack, "response_url") == [status, 200]

    h.click(kit.ACTION_ACK, kit.key_value(item.key), user=OPERATOR)
    [opened] = fake_slack.wait_for(lambda: fake_slack.calls_to("views.open", ok=True))
    assert opened.params["view"]["callback_id"] == kit.ACK_MODAL
    assert statuses(fake_slack, "views.open") == [status, 200]
    assert len(fake_slack.views) == 1


def test_ephemeral_answers_survive_gateway_errors(fake_slack: FakeSlack) -> None:
    client = web_client(
        Settings(slack_bot_token=fake_slack.token, slack_api_url=fake_slack.api_url)
    )
    fake_slack.fail("chat.postEphemeral", status=502, times=1)
    fake_slack.fail("chat.postEphemeral", status=504, times=1)
    assert client.chat_postEphemeral(channel=CHANNEL, user=OPERATOR, text="hello")["ok"]
    assert statuses(fake_slack, "chat.postEphemeral") == [502, 504, 200]


@pytest.mark.parametrize(
    ("method", "status"),
    [
        ("files.getUploadURLExternal", 429),
        ("upload", 500),  # the file itself, sent to the upload URL outside slack_sdk's retries
        ("upload", 429),
        ("files.completeUploadExternal", 503),
    ],
)
def test_the_digests_csv_survives_rate_limits_and_server_errors(
    fake_slack: FakeSlack, store: Store, method: str, status: int
) -> None:
    store_estate(store, failing=60, now=NOW)
    fake_slack.fail(method, status=status, times=1)
    client = web_client(
        Settings(slack_bot_token=fake_slack.token, slack_api_url=fake_slack.api_url)
    )
    post = post_by_hand(digest_runner(client, store, clock=lambda: NOW))

    assert statuses(fake_slack, method)[:2] == [status, 200]
    done = [f for f in fake_slack.files.values() if f.channel]
    assert len(done) == 1  # in the thread once: not dropped, not doubled
    assert done[0].thread_ts == post.ts
    assert done[0].content is not None
    assert done[0].content.count(b"\n") == 61  # the header and every failing association


def test_an_upload_that_keeps_failing_gives_up_with_the_error() -> None:
    import urllib.error
    from email.message import Message

    waits: list[float] = []
    attempts = 0

    def upload() -> None:
        nonlocal attempts
        attempts += 1
        raise urllib.error.HTTPError("http://x", 503, "down", Message(), None)

    with pytest.raises(urllib.error.HTTPError):
        faults.retrying_upload(upload, attempts=3, sleep=waits.append)
    assert attempts == 3
    assert len(waits) == 2

    def refused() -> None:
        raise urllib.error.HTTPError("http://x", 403, "no", Message(), None)

    with pytest.raises(urllib.error.HTTPError):
        faults.retrying_upload(refused, sleep=waits.append)
    assert len(waits) == 2  # a 403 is not retried


# -- a refused token -----------------------------------------------------------------------------


def test_a_revoked_token_is_one_clear_log_line_and_never_the_token(
    make_harness: Harness,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(faults, "TOKEN_ALARM", faults.TokenAlarm())
    h = make_harness()
    item = failing(h)
    post = post_digest(h)
    token = fake_slack.token
    fake_slack.revoke_token()

    with caplog.at_level(logging.WARNING):
        acked = h.click(kit.ACTION_ACK, kit.key_value(item.key), user=OPERATOR)
        [answer] = wait_response(fake_slack, acked.response_url)
        # Who clicked cannot be checked (users.info is refused too): nothing is re-run.
        rerun = h.click(
            kit.ACTION_RERUN, kit.key_value(item.key), user=OPERATOR, message_ts=post.ts
        )
        [refused] = wait_response(fake_slack, rerun.response_url)
        h.executor.shutdown(wait=True)
    assert answer["text"] == (
        "Could not open the acknowledgement form: Slack refused the bot's token. "
        "An admin must set a valid SLACK_BOT_TOKEN."
    )
    assert refused["text"].startswith("Could not re-run the association: Slack refused the bot's")
    assert h.services.store.reruns.started_since(utcnow() - timedelta(hours=1)) == {}
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        "Slack refused the bot token (invalid_auth): SLACK_BOT_TOKEN is revoked, expired or "
        "wrong; set a valid bot token (xoxb-…) and restart ssm3-bot"
    ]
    assert token not in caplog.text
    assert token not in str(fake_slack.responses)


def test_serve_with_a_revoked_token_exits_2_with_one_line(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    from tests.support.processes import ssm3bot

    revoked = "xoxb-2233445566-7788990011-RevokedTokenValue00000"
    env = {
        "SLACK_BOT_TOKEN": revoked,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SSM3_SLACK_API_URL": fake_slack.api_url,
        "SSM3_HTTP_PORT": str(free_port()),
        "SSM3_DB_PATH": str(tmp_path / "serve.db"),
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "example",
    }
    result = ssm3bot(["serve"], env, tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line == "ssm3bot: SLACK_BOT_TOKEN: Slack did not accept it (invalid_auth)"
    assert revoked not in line
    assert result.stdout == ""


# -- signatures ----------------------------------------------------------------------------------


def test_a_bad_or_stale_signature_is_refused_before_any_listener_runs(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness()
    item = failing(h)
    sim.fleet.reset_calls()
    forged = h.click_request(
        kit.ACTION_RERUN, kit.key_value(item.key), user=OPERATOR, ephemeral=True
    )
    stale = int(time.time()) - 6 * 60
    attempts = [
        h.post_signed(forged.sent, secret="not-the-signing-secret"),
        h.post_signed(forged.sent, timestamp=stale),  # a real signature, too old: a replay
        h.post_signed(forged.sent, timestamp=int(time.time()) + 6 * 60),
        h.post_signed(forged.sent, secret="x", headers={"X-Slack-Retry-Num": "1"}),
        h.request("POST", "/slack/events", forged.sent, {"Content-Type": "text/plain"}),
    ]
    assert [status for status, _ in attempts] == [401] * 5
    assert not sim.fleet.calls
    assert h.services.store.audit.entries() == []
    assert [c.method for c in fake_slack.calls] == ["auth.test"]  # Bolt's own, at start-up
    assert fake_slack.responses == []

    # None of them claimed the request's identity: the genuine one is acted on.
    status, _ = h.post_signed(forged.sent)
    assert status == 200
    fake_slack.wait_for(
        lambda: any(
            p.get("response_type") == "in_channel"
            for p in responses(fake_slack, forged.response_url)
        )
    )
    assert sim.fleet.call_count("StartAssociationsOnce") == 1


# -- AWS faults while serving Slack --------------------------------------------------------------


def test_a_rerun_that_aws_denies_is_a_clear_message_and_an_audited_failure(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness()
    item = failing(h)
    sim.fleet.inject(
        Fault(
            "AccessDeniedException",
            "User: arn:aws:sts::111111111111:assumed-role/ssm3-bot/s is not authorized to "
            "perform: ssm:StartAssociationsOnce",
            operation="StartAssociationsOnce",
            times=1,
        )
    )
    clicked = h.click(kit.ACTION_RERUN, kit.key_value(item.key), user=OPERATOR)
    [answer] = wait_response(fake_slack, clicked.response_url)
    shown = body_text(answer["blocks"])
    assert shown.startswith(f"Could not re-run `{item.association.display_name}` in {CALLER}")
    assert "StartAssociationsOnce: AccessDeniedException" in shown
    assert "attach iam/ssm3-operator.json" in shown
    [entry] = h.services.store.audit.entries()
    assert (entry.actor, entry.action, entry.outcome) == (OPERATOR, "rerun", "failed")
    assert "AccessDenied" in (entry.detail or "")
    assert sim.fleet.call_count("StartAssociationsOnce") == 1  # refused, so nothing ran

    # A failed start does not hold the cooldown: once the policy is fixed, it runs.
    again = h.click(kit.ACTION_RERUN, kit.key_value(item.key), user=OPERATOR, ephemeral=True)
    fake_slack.wait_for(
        lambda: any(
            p.get("response_type") == "in_channel"
            for p in responses(fake_slack, again.response_url)
        )
    )
    assert sim.fleet.error_codes("StartAssociationsOnce") == {"AccessDeniedException": 1}


def test_history_where_the_role_is_denied_is_a_clear_message(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness(accounts=(CALLER, MEMBER))
    member = next(
        t
        for t in h.services.store.associations.tracked(failing_only=True)
        if t.key.account_id == MEMBER
    )
    aid = member.key.association_id

    # The role can no longer be assumed (its trust policy changed, say).
    sim.fleet.accounts[MEMBER].denies_assume_role = True
    h.services.access.forget(MEMBER)
    typed = h.command(f"history {aid}")
    [answer] = wait_response(fake_slack, typed.response_url)
    shown = body_text(answer["blocks"])
    assert shown.startswith(
        f"Could not read the history of `{aid}` in {MEMBER} {member.key.region}"
    )
    assert "AssumeRole: AccessDenied" in shown
    assert f"may not assume the role SSM3ReadOnly in account {MEMBER}" in shown

    # The role is assumed, but lacks a read the history needs.
    sim.fleet.accounts[MEMBER].denies_assume_role = False
    sim.fleet.inject(
        Fault("AccessDeniedException", "not authorized", operation="DescribeAssociationExecutions")
    )
    typed = h.command(f"history {aid}")
    [answer] = wait_response(fake_slack, typed.response_url)
    shown = body_text(answer["blocks"])
    assert "DescribeAssociationExecutions: AccessDeniedException" in shown
    assert "lacks ssm:DescribeAssociationExecutions: attach iam/ssm3-readonly.json" in shown
    assert h.services.store.audit.entries() == []  # reading changes nothing


def test_slow_aws_does_not_hold_up_slacks_answer(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    """Slack has its HTTP 200 while AWS is still working; the answer follows."""
    h = make_harness()
    item = failing(h)
    sim.fleet.add_latency(Latency(2.0, operation="DescribeAssociation"))
    key = AssociationKey(item.key.account_id, item.key.region, item.key.association_id)
    typed = h.command(f"history {key.association_id}")
    assert typed.status == 200
    assert "Reading the history" in typed.json()["text"]
    assert responses(fake_slack, typed.response_url) == []  # AWS has not answered yet
    clicked = h.click(kit.ACTION_RERUN, kit.key_value(key), user=OPERATOR, ephemeral=True)
    assert (clicked.status, clicked.body) == (200, b"")
    assert sim.fleet.call_count("StartAssociationsOnce") == 0  # still on its way
    [answer] = wait_response(fake_slack, typed.response_url)
    assert "Recent executions" in body_text(answer["blocks"])


def test_a_reply_slack_refuses_after_the_retries_is_logged(
    make_harness: Harness, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """A response_url used up or expired (or still failing after the retries) is not lost
    silently: the log says which reply Slack refused."""
    h = make_harness()
    fake_slack.fail("response_url", status=404, times=None)
    with caplog.at_level(logging.WARNING, logger="bot.slack.replies"):
        typed = h.command("audit", user=OPERATOR)
        fake_slack.wait_for(lambda: fake_slack.calls_to("response_url"))
        h.executor.shutdown(wait=True)
    assert [c.status for c in fake_slack.calls_to("response_url")] == [404]
    assert typed.status == 200
    assert f"Slack refused the reply to answer {OPERATOR}: HTTP 404" in caplog.text
