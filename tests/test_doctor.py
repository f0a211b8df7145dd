"""`ssm3bot doctor` against the simulated AWS and the fake Slack Web API: all green in a good
set-up; in a broken one, each failure named with its fix, and the exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import NoCredentialsError

from bot.cli import main
from bot.core.routing import Route
from bot.doctor import Report, render_report, run_doctor
from bot.doctor.aws import SSM_READS, judge_identity_error, records_association_compliance
from bot.doctor.checks import Check
from bot.doctor.render import to_ascii
from bot.doctor.slack import REQUIRED_SCOPES, slack_checks
from bot.settings.config import ConfigError, Settings
from bot.sim.fleet import Fault, Latency
from tests.fakes.fixtures import manifest_scopes
from tests.fakes.slack_api import ALL_SCOPES, FakeSlack
from tests.fakes.slack_harness import CHANNEL
from tests.support.sim import Sim

CALLER, MEMBER, OTHER = "111111111111", "222222222222", "333333333333"
REGIONS = ("eu-west-1", "us-east-1")
NOW = datetime(2026, 11, 28, 8, 30, tzinfo=UTC)


@pytest.fixture
def org(make_sim: Callable[..., Sim]) -> Callable[..., Sim]:
    """An organisation of three accounts in two regions (more options: generate_fleet's)."""

    def start(**generate: Any) -> Sim:
        generate.setdefault("accounts", (CALLER, MEMBER, OTHER))
        return make_sim(seed=4, regions=REGIONS, associations=6, failing=1, **generate)

    return start


@pytest.fixture
def slack() -> Iterator[Callable[..., FakeSlack]]:
    started: list[FakeSlack] = []

    def start(**options: Any) -> FakeSlack:
        fake = FakeSlack(**options).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


def settings_for(fake: FakeSlack, tmp_path: Path, **changes: Any) -> Settings:
    return Settings(
        slack_bot_token=fake.token,
        slack_app_token=fake.app_token,
        slack_api_url=fake.api_url,
        channel=CHANNEL,
        regions=REGIONS,
        accounts_from_org=True,
        db_path=str(tmp_path / "ssm3.db"),
        concurrency=4,
    ).with_changes(**changes)


def doctor(sim: Sim, settings: Settings, problems: list[ConfigError] | None = None) -> Report:
    return run_doctor(
        settings, problems or [], now=NOW, make_access=lambda: sim.access(max_attempts=2)
    )


def lines(report: Report, status: str) -> list[str]:
    return [render_line(c) for c in report.checks if c.status == status]


def render_line(check: Check) -> str:
    return check.text + (f": {check.fix}" if check.fix else "")


# -- a good set-up --------------------------------------------------------------------------------


def test_a_good_set_up_is_all_green(
    org: Callable[..., Sim], slack: Callable[..., FakeSlack], tmp_path: Path
) -> None:
    sim, fake = org(), slack()
    report = doctor(sim, settings_for(fake, tmp_path))

    assert lines(report, "fail") == []
    assert lines(report, "warn") == []
    assert report.exit_code == 0
    passed = "\n".join(lines(report, "pass"))
    for expected in (
        "configuration valid",
        f"database {tmp_path / 'ssm3.db'} writable (will be created)",
        "Socket Mode: the app-level token opens a connection",
        "Slack token valid (bot @ssm3-bot in workspace Fake Team)",
        f"the bot token has the {len(REQUIRED_SCOPES)} scopes it needs",
        f"the bot is a member of #ssm3-digest ({CHANNEL})",
        f"AWS identity arn:aws:iam::{CALLER}:user/ssm3-bot (account {CALLER})",
        "3 accounts (from AWS Organizations) x 2 regions (eu-west-1, us-east-1) = 6 account-regions",
        "all 9 State Manager reads allowed in 6 account-regions",
        "Security Hub evaluates SSM.3 in 6 account-regions",
        "AWS Config recording in 6 account-regions",
    ):
        assert expected in passed
    # Every read the sweep and history make was really tried, in every account-region.
    for operation in SSM_READS:
        for account in (CALLER, MEMBER, OTHER):
            assert sim.fleet.call_count(operation, account_id=account) == len(REGIONS), operation
    assert sim.fleet.call_count("AssumeRole") == 2  # once per member account, not per region
    assert {c.method for c in fake.calls} == {
        "auth.test",
        "apps.connections.open",
        "conversations.info",
    }


def test_the_scopes_doctor_expects_are_the_manifests() -> None:
    assert set(REQUIRED_SCOPES) == manifest_scopes() == ALL_SCOPES


# -- a broken set-up: each failure named with its fix ----------------------------------------------


def _bad_token(sim: Sim, fake: FakeSlack) -> dict[str, Any]:
    return {"slack_bot_token": "xoxb-revoked-or-mistyped"}


def _not_in_channel(sim: Sim, fake: FakeSlack) -> dict[str, Any]:
    fake.bot_channels = set()
    return {}


def _not_in_a_routes_channel(sim: Sim, fake: FakeSlack) -> dict[str, Any]:
    fake.bot_channels = {CHANNEL}
    return {"routes": (Route(channel="C0PAYMENTS", accounts=frozenset({MEMBER})),)}


def _scope_missing(sim: Sim, fake: FakeSlack) -> dict[str, Any]:
    fake.scopes = ALL_SCOPES - {"files:write"}
    return {}


def _denied_account(sim: Sim, fake: FakeSlack) -> dict[str, Any]:
    sim.fleet.accounts[OTHER].denies_assume_role = True
    return {}


def _permission_missing(sim: Sim, fake: FakeSlack) -> dict[str, Any]:
    sim.fleet.inject(
        Fault(
            "AccessDeniedException",
            f"User: arn:aws:sts::{MEMBER}:assumed-role/SSM3ReadOnly/ssm3-bot is not authorized "
            "to perform: ssm:DescribeAssociationExecutions",
            operation="DescribeAssociationExecutions",
            account_id=MEMBER,
        )
    )
    return {}


def _org_denied(sim: Sim, fake: FakeSlack) -> dict[str, Any]:
    sim.fleet.inject(Fault("AccessDeniedException", "not authorized", operation="ListAccounts"))
    return {}


def _wrong_app_token(sim: Sim, fake: FakeSlack) -> dict[str, Any]:
    return {"slack_app_token": "xapp-1-from-another-app"}


def _no_way_to_serve(sim: Sim, fake: FakeSlack) -> dict[str, Any]:
    return {"slack_app_token": None, "slack_signing_secret": None}


def _unreachable_region(sim: Sim, fake: FakeSlack) -> dict[str, Any]:
    sim.fleet.inject(Fault(drop=True, account_id=MEMBER, region="us-east-1", operation=None))
    return {}


BREAKAGES = {
    "bad token": (
        _bad_token,
        "Slack rejected SLACK_BOT_TOKEN (invalid_auth): copy the Bot User OAuth Token",
    ),
    "bot not in the channel": (
        _not_in_channel,
        f"the bot is not in #ssm3-digest ({CHANNEL}): invite it with /invite @ssm3-bot there",
    ),
    "bot not in a route's channel": (
        _not_in_a_routes_channel,
        "the bot is not in #ssm3-digest (C0PAYMENTS): invite it with /invite @ssm3-bot there",
    ),
    "a scope missing": (
        _scope_missing,
        "the bot token lacks scopes: files:write (attach the full list as a CSV to a long "
        "digest): add them under OAuth & Permissions",
    ),
    "a denied account": (
        _denied_account,
        f"cannot assume role SSM3ReadOnly in {OTHER} (AccessDenied): deploy "
        f"iam/ssm3-member-role.yaml there (BotAccountId={CALLER}",
    ),
    "a missing permission": (
        _permission_missing,
        f"ssm:DescribeAssociationExecutions denied in {MEMBER}/eu-west-1 and {MEMBER}/us-east-1: "
        "add it to role SSM3ReadOnly there (iam/ssm3-readonly.json grants it",
    ),
    "organizations denied": (
        _org_denied,
        "organizations:ListAccounts denied (SSM3_ACCOUNTS=org): attach iam/ssm3-bot-org.json",
    ),
    "a wrong app-level token": (
        _wrong_app_token,
        "Slack refused SLACK_APP_TOKEN for Socket Mode (invalid_auth): copy the app-level token",
    ),
    "no way to serve": (
        _no_way_to_serve,
        "neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET is set, so serve cannot start: set",
    ),
    "an endpoint that does not answer": (
        _unreachable_region,
        f"State Manager did not answer in {MEMBER}/us-east-1 (",
    ),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_each_failure_is_named_with_its_fix(
    breakage: str, org: Callable[..., Sim], slack: Callable[..., FakeSlack], tmp_path: Path
) -> None:
    sim, fake = org(), slack()
    break_it, expected = BREAKAGES[breakage]
    report = doctor(sim, settings_for(fake, tmp_path, **break_it(sim, fake)))

    [failure] = lines(report, "fail")
    assert failure.startswith(expected)
    assert report.exit_code == 1
    assert f"✘ {expected}" in render_report(report)


def test_a_denied_account_is_named_once_and_its_regions_are_not_probed(
    org: Callable[..., Sim], slack: Callable[..., FakeSlack], tmp_path: Path
) -> None:
    sim = org(deny_accounts=[OTHER])
    report = doctor(sim, settings_for(slack(), tmp_path))
    assert sum(OTHER in line for line in lines(report, "fail")) == 1
    assert sim.fleet.call_count(service="ssm", account_id=OTHER) == 0
    assert (
        f"all 9 State Manager reads allowed in {CALLER}/eu-west-1, {CALLER}/us-east-1, "
        f"{MEMBER}/eu-west-1 and {MEMBER}/us-east-1"
    ) in lines(report, "pass")


def test_a_dead_endpoint_is_abandoned_after_its_first_call(
    org: Callable[..., Sim], slack: Callable[..., FakeSlack], tmp_path: Path
) -> None:
    """One region that never answers costs its few attempts, not a call per read, and the
    others are still checked."""
    sim = org()
    sim.fleet.inject(Fault(drop=True, account_id=MEMBER, region="us-east-1"))
    report = doctor(sim, settings_for(slack(), tmp_path))
    assert sim.fleet.call_count(service="ssm", account_id=MEMBER, region="us-east-1") == 2
    assert sim.fleet.call_count(service="securityhub", account_id=MEMBER, region="us-east-1") == 0
    assert "all 9 State Manager reads allowed in 5 account-regions" in "\n".join(
        lines(report, "pass")
    )


def test_a_slow_endpoint_times_out_instead_of_stalling_doctor(
    org: Callable[..., Sim], slack: Callable[..., FakeSlack], tmp_path: Path
) -> None:
    sim = org()
    sim.fleet.add_latency(Latency(3.0, operation="ListAssociations", account_id=MEMBER))
    report = run_doctor(
        settings_for(slack(), tmp_path),
        [],
        now=NOW,
        make_access=lambda: sim.access(max_attempts=1, read_timeout_s=1.0),
    )
    failures = lines(report, "fail")
    assert len(failures) == 1
    assert failures[0].startswith(f"State Manager did not answer in {MEMBER}/eu-west-1 and ")
    assert "Read timeout" in failures[0]


def test_everything_broken_at_once_through_the_command_line(
    org: Callable[..., Sim],
    slack: Callable[..., FakeSlack],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`ssm3bot doctor` reads the environment like every command and lists every failure."""
    sim, fake = org(deny_accounts=[OTHER]), slack(bot_channels=())
    _permission_missing(sim, fake)
    monkeypatch.chdir(tmp_path)
    for name, value in sim.env(
        SLACK_BOT_TOKEN=fake.token,
        SLACK_SIGNING_SECRET="s3cret",
        SSM3_SLACK_API_URL=fake.api_url,
        SSM3_CHANNEL=CHANNEL,
        SSM3_REGIONS=",".join(REGIONS),
        SSM3_ACCOUNTS="org",
    ).items():
        monkeypatch.setenv(name, value)

    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    failed = [line for line in out.splitlines() if line.startswith("  ✘ ")]
    assert len(failed) == 3
    assert f"✘ the bot is not in #ssm3-digest ({CHANNEL})" in out
    assert f"✘ cannot assume role SSM3ReadOnly in {OTHER} (AccessDenied)" in out
    assert f"✘ ssm:DescribeAssociationExecutions denied in {MEMBER}/eu-west-1" in out
    assert "✔ serve will use HTTP mode on port 3000" in out
    assert "! HTTP mode: /slack/events on port 3000 takes requests from the internet" in out
    assert out.rstrip().endswith(
        "3 failed, 14 passed, 1 warning. Fix the failed lines, then run ssm3bot doctor again."
    )


# -- warnings: what doctor cannot read, or what would keep SSM.3 from being evaluated -------------


def test_security_hub_and_config_problems_are_warnings(
    org: Callable[..., Sim], slack: Callable[..., FakeSlack], tmp_path: Path
) -> None:
    sim = org()
    sim.fleet.scope(CALLER, "eu-west-1").ssm3_control = "DISABLED"
    sim.fleet.scope(CALLER, "us-east-1").ssm3_control = None
    sim.fleet.scope(MEMBER, "eu-west-1").config_recording = False
    sim.fleet.scope(MEMBER, "us-east-1").config_recording = None
    for operation in ("ListStandardsControlAssociations", "DescribeConfigurationRecorderStatus"):
        sim.fleet.inject(
            Fault("AccessDeniedException", "no", operation=operation, account_id=OTHER)
        )

    report = doctor(sim, settings_for(slack(), tmp_path))

    assert report.exit_code == 0
    assert lines(report, "warn") == [
        f"SSM.3 is disabled in every enabled Security Hub standard in {CALLER}/eu-west-1: "
        "enable it: Security Hub -> Controls -> SSM.3 -> Enable control",
        f"Security Hub is not enabled in {CALLER}/us-east-1, so SSM.3 is not evaluated there: "
        "enable Security Hub with the AWS Foundational Security Best Practices standard",
        f"Security Hub unreadable in {OTHER}/eu-west-1 and {OTHER}/us-east-1 "
        "(AccessDeniedException), SSM.3 status unknown: "
        "grant securityhub:ListStandardsControlAssociations (iam/ssm3-readonly.json)",
        f"AWS Config is not recording in {MEMBER}/eu-west-1, so SSM.3 "
        "(ec2-managedinstance-association-compliance-status-check) cannot be evaluated there: "
        "start it: aws configservice start-configuration-recorder "
        "--configuration-recorder-name default",
        f"AWS Config has no recorder in {MEMBER}/us-east-1, so SSM.3 "
        "(ec2-managedinstance-association-compliance-status-check) cannot be evaluated there: "
        "set up AWS Config to record at least AWS::SSM::AssociationCompliance there",
        f"AWS Config unreadable in {OTHER}/eu-west-1 and {OTHER}/us-east-1 "
        "(AccessDeniedException), recording status unknown: "
        "grant config:DescribeConfigurationRecorderStatus (iam/ssm3-readonly.json)",
    ]


def test_config_not_recording_association_compliance_is_a_warning(
    org: Callable[..., Sim], slack: Callable[..., FakeSlack], tmp_path: Path
) -> None:
    sim = org()
    sim.fleet.scope(CALLER, "eu-west-1").config_resource_types = frozenset({"AWS::EC2::Instance"})
    sim.fleet.scope(MEMBER, "us-east-1").config_resource_types = frozenset(
        {"AWS::EC2::Instance", "AWS::SSM::AssociationCompliance"}
    )
    sim.fleet.inject(
        Fault(
            "AccessDeniedException",
            "no",
            operation="DescribeConfigurationRecorders",
            account_id=OTHER,
        )
    )
    settings = settings_for(
        slack(), tmp_path, accounts_from_org=False, accounts=(CALLER, MEMBER, OTHER)
    )

    report = doctor(sim, settings)

    assert report.exit_code == 0
    assert lines(report, "warn") == [
        f"AWS Config does not record AWS::SSM::AssociationCompliance in {CALLER}/eu-west-1, so "
        "Security Hub shows SSM.3 PASSED (CONFIG_EVALUATIONS_EMPTY) while instances fail: "
        "add AWS::SSM::AssociationCompliance to recorder default's recording group "
        "(aws configservice put-configuration-recorder)",
        f"AWS Config recorder settings unreadable in {OTHER}/eu-west-1 and {OTHER}/us-east-1 "
        "(AccessDeniedException), so whether it records AWS::SSM::AssociationCompliance is "
        "unknown: grant config:DescribeConfigurationRecorders (iam/ssm3-readonly.json)",
    ]


@pytest.mark.parametrize(
    ("group", "recorded"),
    [
        ({"allSupported": True}, True),
        ({}, True),
        ({"allSupported": False, "resourceTypes": ["AWS::EC2::Instance"]}, False),
        ({"allSupported": False, "resourceTypes": ["AWS::SSM::AssociationCompliance"]}, True),
        (
            {
                "allSupported": False,
                "recordingStrategy": {"useOnly": "EXCLUSION_BY_RESOURCE_TYPES"},
                "exclusionByResourceTypes": {"resourceTypes": ["AWS::SSM::AssociationCompliance"]},
            },
            False,
        ),
        (
            {
                "allSupported": False,
                "recordingStrategy": {"useOnly": "EXCLUSION_BY_RESOURCE_TYPES"},
                "exclusionByResourceTypes": {"resourceTypes": ["AWS::EC2::Volume"]},
            },
            True,
        ),
        (
            {
                "recordingStrategy": {"useOnly": "INCLUSION_BY_RESOURCE_TYPES"},
                "resourceTypes": ["AWS::EC2::Instance"],
            },
            False,
        ),
    ],
)
def test_which_recording_groups_record_association_compliance(
    group: dict[str, Any], recorded: bool
) -> None:
    assert records_association_compliance({"name": "default", "recordingGroup": group}) is recorded


def test_reads_without_data_to_try_them_on_are_not_verifiable(
    org: Callable[..., Sim], slack: Callable[..., FakeSlack], tmp_path: Path
) -> None:
    sim = org(accounts=(CALLER,))
    sim.fleet.scope(CALLER, "us-east-1").associations.clear()
    report = doctor(sim, settings_for(slack(), tmp_path))
    assert report.exit_code == 0
    assert lines(report, "warn") == [
        f"not verifiable in {CALLER}/us-east-1, no associations: ssm:DescribeAssociation, "
        "ssm:DescribeAssociationExecutions, ssm:DescribeAssociationExecutionTargets, "
        "ssm:GetCommandInvocation: run doctor again once State Manager has associations that "
        "ran there"
    ]
    passed = lines(report, "pass")
    assert f"all 9 State Manager reads allowed in {CALLER}/eu-west-1" in passed
    assert f"5 State Manager reads allowed in {CALLER}/us-east-1" in passed


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"private_channels": {CHANNEL}},
            f"{CHANNEL} is private: the bot's membership cannot be checked without groups:read",
        ),
        (
            {"scopes": ALL_SCOPES | {"admin", "channels:history"}},
            "the bot token has scopes ssm3-bot never uses: admin, channels:history",
        ),
    ],
)
def test_slack_warnings(
    options: dict[str, Any], expected: str, slack: Callable[..., FakeSlack], tmp_path: Path
) -> None:
    checks = slack_checks(settings_for(slack(**options), tmp_path))
    assert [c.text for c in checks if c.status == "warn"] == [expected]
    assert [c.text for c in checks if c.status == "fail"] == []


@pytest.mark.parametrize(
    ("options", "changes", "expected"),
    [
        (
            {"private_channels": {CHANNEL}, "bot_channels": ()},
            {},
            f"Slack knows no channel {CHANNEL} that the bot can see: check that SSM3_CHANNEL is "
            "the channel's ID",
        ),
        (
            {"scopes": ALL_SCOPES - {"channels:read"}},
            {},
            "the bot token lacks scopes: channels:read",
        ),
        ({}, {"slack_bot_token": None}, "SLACK_BOT_TOKEN is not set: create the app from"),
        ({}, {"channel": None}, "SSM3_CHANNEL is not set: set it to the digest channel's ID"),
        (
            {},
            {"slack_api_url": "http://127.0.0.1:9/api/"},
            "cannot reach Slack at http://127.0.0.1:9/api/ (",
        ),
    ],
)
def test_slack_failures(
    options: dict[str, Any],
    changes: dict[str, Any],
    expected: str,
    slack: Callable[..., FakeSlack],
    tmp_path: Path,
) -> None:
    checks = slack_checks(settings_for(slack(**options), tmp_path, **changes))
    failures = [render_line(c) for c in checks if c.status == "fail"]
    assert any(line.startswith(expected) for line in failures), failures


# -- AWS credentials and configuration --------------------------------------------------------------


def test_credentials_aws_does_not_know(org: Callable[..., Sim], tmp_path: Path) -> None:
    from bot.aws.session import AwsAccess
    from bot.doctor.aws import aws_checks

    sim = org()
    session = sim.session()
    stranger = type(session)(
        aws_access_key_id="AKIANOTKNOWNANYWHERE",
        aws_secret_access_key="x" * 40,
        region_name="eu-west-1",
    )
    settings = Settings(regions=REGIONS, db_path=str(tmp_path / "x.db"))
    [check] = aws_checks(
        settings, lambda: AwsAccess(session=stranger, endpoint_url=sim.endpoint_url)
    )
    assert check.status == "fail"
    assert check.text.startswith(
        "AWS rejected the bot's credentials (GetCallerIdentity: InvalidClientTokenId"
    )
    assert check.fix == "refresh them (aws sso login, new keys) or check AWS_PROFILE"


def test_no_credentials_at_all() -> None:
    check = judge_identity_error(NoCredentialsError())
    assert (check.status, check.text) == ("fail", "no AWS credentials found")
    assert check.fix is not None
    assert "AWS_PROFILE" in check.fix


def test_every_bad_variable_is_listed_and_the_checks_they_spoil_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SSM3_CHANNEL=#general\nSSM3_REGIONS=mars-1\n")
    monkeypatch.setenv("SSM3_TIMEZONE", "Mars/Olympus")
    for name in ("SLACK_BOT_TOKEN", "SSM3_ACCOUNTS", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)

    assert main(["doctor"]) == 2
    out = capsys.readouterr().out
    assert "✘ SSM3_CHANNEL: '#general' is not a channel ID" in out
    assert "✘ SSM3_REGIONS: 'mars-1' is not an AWS region like eu-west-1" in out
    assert "✘ SSM3_TIMEZONE: 'Mars/Olympus' is not an IANA time zone" in out
    assert "correct SSM3_CHANNEL in .env and the environment" in out
    assert "- Slack checks skipped until SSM3_CHANNEL is corrected" in out
    assert "- AWS checks skipped until SSM3_REGIONS is corrected" in out
    assert "schedules" not in out  # the zone is bad, so no next run times
    assert "✔ database ssm3.db writable (will be created)" in out
    assert out.rstrip().endswith("Fix the configuration first, then run ssm3bot doctor again.")


def test_an_unwritable_database_folder_fails(tmp_path: Path) -> None:
    from bot.doctor.local import database

    check = database(Settings(db_path=str(tmp_path / "missing" / "ssm3.db")))
    assert check.status == "fail"
    assert (
        check.text
        == f"database {tmp_path / 'missing' / 'ssm3.db'}: folder {tmp_path / 'missing'} does not exist"
    )


# -- output -----------------------------------------------------------------------------------------


def test_plain_ascii_when_stdout_is_not_utf8(
    org: Callable[..., Sim], slack: Callable[..., FakeSlack], tmp_path: Path
) -> None:
    """The real command in a subprocess whose stdout is ASCII: no mark or dash is lost."""
    sim, fake = org(), slack(bot_channels=())
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SSM3_", "SLACK_", "AWS_"))
    } | sim.env(
        PYTHONIOENCODING="ascii",
        SLACK_BOT_TOKEN=fake.token,
        SLACK_APP_TOKEN=fake.app_token,
        SSM3_SLACK_API_URL=fake.api_url,
        SSM3_CHANNEL=CHANNEL,
        SSM3_REGIONS=",".join(REGIONS),
        SSM3_ACCOUNTS="org",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    out = done.stdout.decode("ascii")
    assert done.returncode == 1, done.stderr.decode()
    assert f"  [FAIL] the bot is not in #ssm3-digest ({CHANNEL}): invite it" in out
    assert "  [ok] 3 accounts (from AWS Organizations) x 2 regions" in out
    assert "?" not in out  # every character had an ASCII spelling
    assert done.stderr == b""


def test_to_ascii_spells_out_typography() -> None:
    text = "xoxb-\u2026 \u2014 3 \u00d7 2 \u2192 rock \u2019n\u2019 roll \u2714"
    assert to_ascii(text) == "xoxb-... - 3 x 2 -> rock 'n' roll ?"


# -- the Security Hub cross-check -----------------------------------------------------------------


def test_a_denied_cross_check_names_the_policy_and_the_way_out(
    org: Callable[..., Sim], slack: Callable[..., FakeSlack], tmp_path: Path
) -> None:
    sim = org()
    sim.fleet.inject(Fault("AccessDeniedException", "not authorized", operation="GetFindings"))
    report = doctor(sim, settings_for(slack(), tmp_path))
    assert report.exit_code == 0, "a warning: the sweep itself still works"
    assert (
        "Security Hub cross-check in eu-west-1 (SSM3_SECURITYHUB_REGION): securityhub:GetFindings "
        "denied, so the digest cannot say whether Security Hub agrees: attach "
        "iam/ssm3-bot-securityhub.json to the bot's identity, or set SSM3_SECURITYHUB=off"
    ) in lines(report, "warn")


def test_a_region_without_security_hub_points_at_the_home_region(
    org: Callable[..., Sim], slack: Callable[..., FakeSlack], tmp_path: Path
) -> None:
    sim = org()
    sim.fleet.scope(CALLER, "us-east-1").ssm3_control = None
    report = doctor(sim, settings_for(slack(), tmp_path, securityhub_region="us-east-1"))
    warned = [line for line in lines(report, "warn") if "cross-check" in line]
    assert warned == [
        "Security Hub cross-check in us-east-1 (SSM3_SECURITYHUB_REGION): Security Hub is not "
        "enabled for the bot's account there: set SSM3_SECURITYHUB_REGION to the aggregation "
        "home region of the Security Hub administrator account the bot runs in"
    ]


def test_off_skips_the_cross_check(
    org: Callable[..., Sim], slack: Callable[..., FakeSlack], tmp_path: Path
) -> None:
    sim = org()
    report = doctor(sim, settings_for(slack(), tmp_path, securityhub="off"))
    assert not [c for c in report.checks if "cross-check" in c.text]
    assert sim.fleet.call_count("GetFindings") == 0
