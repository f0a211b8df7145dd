"""Secrets never appear in logs or in anything sent to Slack: the whole app runs as
`ssm3bot --debug serve` (HTTP mode, every library logging at DEBUG) with real-looking tokens,
driven through signed requests across its paths — AWS through AssumeRole, a user group, a
re-run AWS refuses, a bad signature, a token revoked mid-run — in both log formats (text, and
SSM3_LOG_FORMAT=json, where every line must parse as one JSON object), and then in Socket Mode
with an app-level token Slack refuses. The captured stdout and stderr, and every call and reply
the fake Slack received, are searched for each secret."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.settings.config import Settings
from bot.sim.fleet import Fault
from bot.slack import blocks as kit
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from bot.util.redact import MASK, Redactor
from tests.fakes.fixtures import GROUP, GROUPIE, OPERATOR
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import CHANNEL, SignedRequests
from tests.support.processes import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    captured,
    free_port,
    serve,
    wait_healthy,
)
from tests.support.sim import Sim
from tests.support.slack import body_text, responses

CALLER, MEMBER = "111111111111", "222222222222"


def everything_sent_to_slack(fake: FakeSlack) -> str:
    """Every parameter of every Web API call and every response_url payload, as text."""
    sent: list[Any] = [c.params for c in fake.calls] + [p for _, p in fake.responses]
    sent += [f.content.decode(errors="replace") for f in fake.files.values() if f.content]
    return json.dumps(sent)


def json_lines(err: str) -> list[dict[str, Any]]:
    """Every line of stderr as the JSON object it must be."""
    entries = []
    for number, line in enumerate(err.splitlines(), 1):
        entry = json.loads(line)  # raises on any line that is not one JSON object
        assert isinstance(entry, dict), f"line {number} is not a JSON object"
        assert {"time", "level", "logger", "message"} <= set(entry), f"line {number}: {line}"
        entries.append(entry)
    return entries


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_whole_app_with_real_looking_secrets_never_logs_or_sends_them(
    make_sim: Callable[..., Sim], tmp_path: Path, log_format: str
) -> None:
    sim = make_sim(seed=11, accounts=(CALLER, MEMBER), regions=("eu-west-1",))
    db = tmp_path / "serve.db"
    store = Store(db)
    settings = Settings(accounts=(CALLER, MEMBER), regions=("eu-west-1",), db_path=str(db))
    run_sweep(settings=settings, access=sim.access(), store=store, trigger="test")
    member = [
        t for t in store.associations.tracked(failing_only=True) if t.key.account_id == MEMBER
    ]
    caller = [
        t for t in store.associations.tracked(failing_only=True) if t.key.account_id == CALLER
    ]
    store.close()

    with FakeSlack(token=BOT_TOKEN, usergroups={GROUP: [GROUPIE]}) as fake:
        port = free_port()
        env = sim.env(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SSM3_SLACK_API_URL=fake.api_url,
            SSM3_HTTP_PORT=str(port),
            SSM3_DB_PATH=str(db),
            SSM3_ACCOUNTS=f"{CALLER},{MEMBER}",
            SSM3_REGIONS="eu-west-1",
            SSM3_CHANNEL=CHANNEL,
            SSM3_OPERATORS=f"{OPERATOR},{GROUP}",
            SSM3_LOG_FORMAT=log_format,
        )
        process = serve(env, tmp_path)
        try:
            wait_healthy(port, process)
            slack = SignedRequests(port, fake, SIGNING_SECRET)

            def answered(reply: Any, count: int = 1) -> list[dict[str, Any]]:
                fake.wait_for(lambda: len(responses(fake, reply.response_url)) >= count)
                return responses(fake, reply.response_url)

            answered(slack.command("status"))
            # AWS in the member account, through AssumeRole (its credentials in botocore's log).
            history = answered(slack.command(f"history {member[0].key.association_id}"))
            assert "Recent executions" in body_text(history[0]["blocks"])
            # A re-run by a user-group member (usergroups.users.list), then one AWS refuses.
            rerun = slack.click(
                kit.ACTION_RERUN, kit.key_value(member[0].key), user=GROUPIE, ephemeral=True
            )
            assert "re-ran" in answered(rerun, 2)[1]["text"]
            sim.fleet.inject(
                Fault("AccessDeniedException", "not authorized", operation="StartAssociationsOnce")
            )
            denied = slack.click(kit.ACTION_RERUN, kit.key_value(caller[0].key), user=OPERATOR)
            assert "Could not re-run" in answered(denied)[0]["text"]
            ack = slack.command(f"ack {caller[1].key.association_id} for 2d OPS-7", user=OPERATOR)
            answered(ack)
            assert slack.command("frobnicate").json()["response_type"] == "ephemeral"
            assert slack.post_signed(b"command=/ssm3&text=sweep", secret="guess")[0] == 401
            answered(slack.command("audit"))
            # The token is revoked while the app runs.
            fake.revoke_token()
            refused = slack.click(kit.ACTION_ACK, kit.key_value(caller[2].key), user=OPERATOR)
            assert "Slack refused the bot's token" in answered(refused)[0]["text"]
        finally:
            process.terminate()
            process.wait(timeout=20)
        out, err = captured(tmp_path)
        sent = everything_sent_to_slack(fake)
        used = {c.token for c in fake.calls}

    logs = searched = out + err
    if log_format == "json":
        assert out == ""
        entries = json_lines(err)
        # What a log pipeline sees is the decoded text: search that too.
        searched += "\n".join(str(value) for e in entries for value in e.values())
        assert any(
            e["logger"] == "bot.slack.serve" and "serving on" in e["message"] for e in entries
        )
        assert any(e.get("slack_user") == OPERATOR for e in entries), "the Slack user is named"
        history_of = member[0].key.association_id
        assert any(e.get("association_id") == history_of for e in entries), "and the association"
    assert BOT_TOKEN in used, "the app really used the token"
    # Every library really was logging at DEBUG, and something had to be masked.
    assert "Sending a request - url:" in logs  # slack_sdk
    assert "Response body:" in logs  # botocore, AssumeRole's credentials among them
    assert f"<SecretAccessKey>{MASK}</SecretAccessKey>" in logs
    assert logs.count("Slack refused the bot token (invalid_auth): SLACK_BOT_TOKEN is") == 1

    aws = [sim.fleet.caller_credentials.secret_access_key]
    aws += [c.secret_access_key for c in sim.fleet.credentials.values()]
    aws += [c.session_token for c in sim.fleet.credentials.values() if c.session_token]
    secrets = {"bot token": BOT_TOKEN, "signing secret": SIGNING_SECRET}
    secrets |= {f"AWS secret {n}": s for n, s in enumerate(aws)}
    for name, secret in secrets.items():
        assert secret not in searched, f"the {name} is in the log"
        assert secret not in sent, f"the {name} was sent to Slack"


def test_socket_mode_with_a_refused_app_token_stops_with_one_line_and_no_secret(
    tmp_path: Path,
) -> None:
    with FakeSlack(token=BOT_TOKEN) as fake:  # it accepts the bot token only
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SSM3_SLACK_API_URL": fake.api_url,
            "SSM3_DB_PATH": str(tmp_path / "socket.db"),
            "AWS_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS_CONFIG_FILE": "/dev/null",
        }
        process = serve(env, tmp_path)
        process.wait(timeout=60)
        out, err = captured(tmp_path)
        opened = fake.calls_to("apps.connections.open")
    assert process.returncode == 2
    assert (
        err.splitlines()[-1] == "ssm3bot: SLACK_APP_TOKEN: Slack did not accept it (invalid_auth)"
    )
    assert [c.token for c in opened] == [APP_TOKEN], "the app token really was offered"
    assert "Sending a request - url:" in err  # debug logging was on
    for secret in (BOT_TOKEN, APP_TOKEN):
        assert secret not in out + err


def test_the_redactor_masks_secrets_and_credential_shapes() -> None:
    redactor = Redactor()
    redactor.add(["s3cr3t-signing-value", None, "short"])
    lines = {
        "signing s3cr3t-signing-value here": f"signing {MASK} here",
        "short stays": "short stays",
        f"Bearer {BOT_TOKEN}!": f"Bearer {MASK}!",
        f"token={APP_TOKEN}": f"token={MASK}",
        "<SessionToken>FwoGZXIvYXdzEabc+/=</SessionToken>": f"<SessionToken>{MASK}</SessionToken>",
        "{'SecretAccessKey': 'wJalrXUtnFEMI/K7MDENG/bPxRfiCY'}": f"{{'SecretAccessKey': '{MASK}'}}",
        "'X-Amz-Security-Token': b'FwoGZXIvYXdzEOf//////////'": f"'X-Amz-Security-Token': b'{MASK}'",
        "x-amz-security-token:FwoGZXIvYXdzEOf123456789": f"x-amz-security-token:{MASK}",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY": f"aws_secret_access_key = {MASK}",
        "url: https://hooks.slack.com/commands/T0/123/abcDEF ok": f"url: {MASK} ok",
        # URL-encoded in a form body Bolt logs, and escaped in JSON (once and twice).
        "body: response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0%2F123%2FabcDEF ok": (
            f"body: response_url={MASK} ok"
        ),
        "again: https%253A%252F%252Fhooks.slack.com%252Factions%252FT0%252F1%252Fx ok": (
            f"again: {MASK} ok"
        ),
        '{"response_url": "https:\\/\\/hooks.slack.com\\/actions\\/T0\\/1\\/x"}': (
            f'{{"response_url": "{MASK}"}}'
        ),
        '"{\\"response_url\\": \\"https:\\\\/\\\\/hooks.slack.com\\\\/app\\\\/T0\\\\/1\\\\/x\\"}"': (
            f'"{{\\"response_url\\": \\"{MASK}\\"}}"'
        ),
        "HTTPS%3a%2f%2fHOOKS.SLACK-GOV.COM%2fcommands%2fT0%2f1%2fx": MASK,
        "AccessKeyId ASIA8BCBA2883CAC48AB is an ID, not a secret": (
            "AccessKeyId ASIA8BCBA2883CAC48AB is an ID, not a secret"
        ),
    }
    for line, expected in lines.items():
        assert redactor.redact(line) == expected, line
