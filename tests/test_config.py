"""Configuration: every variable validated at start-up, one clear line naming the bad one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings.config import ConfigError, Settings, read_dotenv


def test_defaults_match_the_contract() -> None:
    settings = Settings.from_env({}, dotenv=None)
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.role_name == "SSM3ReadOnly"
    assert settings.sweep_schedule == "0 * * * *"
    assert settings.digest_schedule == "0 9 * * *"
    assert settings.timezone == "UTC"
    assert settings.db_path == "ssm3.db"
    assert settings.operators == ()
    assert settings.rerun_cooldown_s == 300
    assert settings.http_port == 3000
    assert settings.concurrency == 8
    assert settings.alerts is True
    assert settings.securityhub == "check"
    assert settings.ack_workflow == "SUPPRESSED"
    assert settings.regions == ()
    assert settings.accounts == ()
    assert not settings.accounts_from_org
    assert not settings.socket_mode


def test_values_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "SSM3_REGIONS": " eu-west-1, us-east-1 ,eu-west-1",
            "SSM3_ACCOUNTS": "111111111111,222222222222",
            "SSM3_OPERATORS": "U012ABCDEF,S0ABCDEF12",
            "SSM3_TIMEZONE": "Europe/Berlin",
            "SSM3_ALERTS": "off",
            "SSM3_SLACK_API_URL": "http://127.0.0.1:9000/api",
            "SLACK_APP_TOKEN": "xapp-1-abc",
            "SSM3_CHANNEL": "C0123456789",
            "SSM3_SECURITYHUB": "Sync",
            "SSM3_ACK_WORKFLOW": "notified",
        },
        dotenv=None,
    )
    assert (settings.securityhub, settings.ack_workflow) == ("sync", "NOTIFIED")
    assert settings.regions == ("eu-west-1", "us-east-1")
    assert settings.accounts == ("111111111111", "222222222222")
    assert settings.operators == ("U012ABCDEF", "S0ABCDEF12")
    assert settings.zone.key == "Europe/Berlin"
    assert settings.alerts is False
    assert settings.slack_api_url == "http://127.0.0.1:9000/api/"
    assert settings.socket_mode


def test_org_accounts() -> None:
    settings = Settings.from_env({"SSM3_ACCOUNTS": "ORG"}, dotenv=None)
    assert settings.accounts_from_org
    assert settings.accounts == ()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SSM3_REGIONS", "eu-west-1,Frankfurt"),
        ("SSM3_ACCOUNTS", "12345"),
        ("SSM3_SWEEP_SCHEDULE", "every hour"),
        ("SSM3_DIGEST_SCHEDULE", "0 25 * * *"),
        ("SSM3_TIMEZONE", "Mars/Olympus"),
        ("SSM3_OPERATORS", "alice"),
        ("SSM3_CHANNEL", "#compliance"),
        ("SSM3_RERUN_COOLDOWN", "soon"),
        ("SSM3_HTTP_PORT", "70000"),
        ("SSM3_CONCURRENCY", "0"),
        ("SSM3_ALERTS", "maybe"),
        ("SSM3_SECURITYHUB", "write"),
        ("SSM3_ACK_WORKFLOW", "RESOLVED"),
        ("SSM3_ROLE_NAME", "bad role"),
        ("SSM3_SLACK_API_URL", "slack.com/api"),
        ("SLACK_BOT_TOKEN", "xoxp-user-token"),
        ("SLACK_APP_TOKEN", "xoxb-not-an-app-token"),
        ("SSM3_EVENTS_QUEUE_URL", "ssm3-events"),
        ("SSM3_EVENTS_QUEUE_URL", "arn:aws:sqs:eu-west-1:123456789012:ssm3-events"),
        ("SSM3_EVENTS_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/ssm3-events"),
        ("SSM3_TRIAGE", "on"),
        ("SSM3_FULL_SWEEP_SCHEDULE", "daily"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({variable: value}, dotenv=None)
    assert raised.value.variable == variable
    assert str(raised.value).startswith(f"{variable}: ")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SSM3_SWEEP_SCHEDULE", "0 0 31 2 *"),
        ("SSM3_DIGEST_SCHEDULE", "0 9 30 2 *"),
        ("SSM3_SWEEP_SCHEDULE", "0 0 31 4,6,9,11 *"),
    ],
)
def test_a_schedule_that_never_fires_is_refused_at_start_up(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({variable: value}, dotenv=None)
    assert (
        str(raised.value)
        == f"{variable}: {value!r} never fires (no such date within the next 8 years)"
    )


def test_a_leap_day_schedule_is_accepted() -> None:
    settings = Settings.from_env({"SSM3_DIGEST_SCHEDULE": "0 9 29 2 *"}, dotenv=None)
    assert settings.digest_schedule == "0 9 29 2 *"


def test_a_bad_token_is_never_echoed() -> None:
    secret = "xoxp-1234-very-secret"
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"SLACK_BOT_TOKEN": secret}, dotenv=None)
    assert secret not in str(raised.value)


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\nexport SSM3_REGIONS=eu-west-1\nSSM3_CHANNEL='C0DOTENV01'\n"
        'SSM3_ROLE_NAME="FromDotenv" # trailing comment\nSSM3_CONCURRENCY=4 # four\n'
    )
    assert read_dotenv(dotenv)["SSM3_CONCURRENCY"] == "4"
    settings = Settings.from_env({"SSM3_CHANNEL": "C0FROMENV1"}, dotenv=dotenv)
    assert settings.regions == ("eu-west-1",)
    assert settings.channel == "C0FROMENV1"
    assert settings.role_name == "FromDotenv"
    assert settings.concurrency == 4


def test_the_cli_stops_with_one_line_and_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "digest"],
        env={"SSM3_TIMEZONE": "Mars/Olympus", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "ssm3bot: SSM3_TIMEZONE: 'Mars/Olympus' is not an IANA time zone (like Europe/Berlin)"
    ]


def test_dotenv_escaped_quotes_and_multi_line_values(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        'SLACK_SIGNING_SECRET="a\\"quoted\\" secret"\n'
        'SSM3_OPERATORS="U0ALICE01,\nU0BOB0001"\n'
        "SSM3_CHANNEL=\n"
    )
    values = read_dotenv(dotenv)
    assert values["SLACK_SIGNING_SECRET"] == 'a"quoted" secret'
    assert values["SSM3_OPERATORS"] == "U0ALICE01,\nU0BOB0001"
    settings = Settings.from_env({}, dotenv=dotenv)
    assert settings.operators == ("U0ALICE01", "U0BOB0001")
    assert settings.channel is None


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/ssm3-events", "eu-west-1"),
        ("https://eu-central-2.queue.amazonaws.com/123456789012/ssm3-events", "eu-central-2"),
        ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/ssm3-events", "cn-north-1"),
        (
            "https://vpce-0a1b-2c3d.sqs.us-gov-west-1.vpce.amazonaws.com/123456789012/q",
            "us-gov-west-1",
        ),
        ("http://127.0.0.1:4566/123456789012/ssm3-events.fifo", None),  # a local endpoint
    ],
)
def test_the_events_queue_region_comes_from_its_url(url: str, region: str | None) -> None:
    settings = Settings.from_env({"SSM3_EVENTS_QUEUE_URL": url}, dotenv=None)
    assert settings.events_queue_url == url
    assert settings.events_queue_region == region


def test_triage_needs_security_hub() -> None:
    assert Settings.from_env({"SSM3_TRIAGE": "securityhub"}, dotenv=None).triage == "securityhub"
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"SSM3_TRIAGE": "securityhub", "SSM3_SECURITYHUB": "off"}, dotenv=None)
    assert str(raised.value) == (
        "SSM3_TRIAGE: 'securityhub' reads Security Hub's SSM.3 findings, but SSM3_SECURITYHUB is off"
    )


def test_a_bad_queue_url_stops_serve_with_one_line_and_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env={"SSM3_EVENTS_QUEUE_URL": "sqs://ssm3-events", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "ssm3bot: SSM3_EVENTS_QUEUE_URL: 'sqs://ssm3-events' is not an SQS queue URL "
        "(like https://sqs.eu-west-1.amazonaws.com/123456789012/ssm3-events)"
    ]
