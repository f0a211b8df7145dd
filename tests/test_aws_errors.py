"""AWS error knowledge in one place (bot/aws/errors.py): which codes are denials, which are no
answer at all, one line for any error, and the policy in iam/ that grants a denied action;
and a denial under any of those codes reaches the Slack user with what to grant."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from bot.aws.errors import (
    DENIED,
    NOT_ANSWERED,
    OPERATOR_POLICY,
    READONLY_POLICY,
    denied_hint,
    describe_error,
    error_code,
    iam_hint,
    is_denied,
    policy_for,
)
from bot.sim.fleet import Fault
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import SlackHarness
from tests.support.sim import Sim
from tests.support.slack import body_text, failing, wait_response

Harness = Callable[..., SlackHarness]
ROOT = Path(__file__).resolve().parent.parent
CALLER = "111111111111"


def client_error(code: str, message: str = "", operation: str = "ListAssociations") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def test_denied_is_the_union_of_what_slack_and_doctor_knew() -> None:
    assert {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
    } == DENIED
    assert not DENIED & NOT_ANSWERED


@pytest.mark.parametrize(
    ("exc", "code", "denied"),
    [
        (client_error("UnauthorizedAccess"), "UnauthorizedAccess", True),
        (client_error("AccessDeniedException"), "AccessDeniedException", True),
        (client_error("ThrottlingException"), "ThrottlingException", False),
        (client_error("DoesNotExistException"), "DoesNotExistException", False),
        (ClientError({}, "ListAssociations"), "", False),
        (EndpointConnectionError(endpoint_url="https://ssm.eu-west-1.amazonaws.com"), "", False),
        (ValueError("not from AWS"), "", False),
    ],
)
def test_error_code_and_is_denied(exc: BaseException, code: str, denied: bool) -> None:
    assert error_code(exc) == code
    assert is_denied(exc) is denied


def test_describe_error_is_one_line() -> None:
    assert (
        describe_error(client_error("AccessDenied", "not\n  authorized", "AssumeRole"))
        == "AssumeRole: AccessDenied: not authorized"
    )
    assert describe_error(client_error("ThrottlingException")) == (
        "ListAssociations: ThrottlingException"
    )
    assert describe_error(ClientError({}, "ListAssociations")) == "ListAssociations: Error"
    assert describe_error(EndpointConnectionError(endpoint_url="https://x")) == (
        'Could not connect to the endpoint URL: "https://x"'
    )
    assert describe_error(ValueError("odd")) == "ValueError: odd"
    assert len(describe_error(client_error("AccessDenied", "x" * 900))) == 500


def granted_by_files() -> dict[str, str]:
    """Every action the policies in iam/ allow, and the file that allows it (Deny statements
    only narrow what their own file allows)."""
    granted: dict[str, str] = {}
    for path in sorted((ROOT / "iam").glob("*.json")):
        if path.name == "ssm3-bot-accounts.json":
            continue  # the alternative to ssm3-bot.json (listed accounts): the same grant
        for statement in json.loads(path.read_text())["Statement"]:
            if statement["Effect"] == "Deny":
                continue
            actions = statement["Action"]
            for action in [actions] if isinstance(actions, str) else actions:
                assert action not in granted, f"{action} is granted twice"
                granted[action] = f"iam/{path.name}"
    return granted


def test_policy_for_names_the_file_that_grants_each_action() -> None:
    granted = granted_by_files()
    assert len(granted) > 10
    for action, path in granted.items():
        assert policy_for(action) == path, action


@pytest.mark.parametrize(
    ("action", "hint"),
    [
        (
            "config:DescribeConfigurationRecorders",
            "grant config:DescribeConfigurationRecorders (iam/ssm3-readonly.json)",
        ),
        ("ssm:StartAssociationsOnce", "grant ssm:StartAssociationsOnce (iam/ssm3-operator.json)"),
        (
            "securityhub:GetFindings",
            "grant securityhub:GetFindings (iam/ssm3-bot-securityhub.json)",
        ),
        ("organizations:ListAccounts", "grant organizations:ListAccounts (iam/ssm3-bot-org.json)"),
    ],
)
def test_iam_hint(action: str, hint: str) -> None:
    assert iam_hint(action) == hint


def test_denied_hint_says_what_to_grant_to_whom() -> None:
    where = {"account": "222222222222", "role": "SSM3ReadOnly"}
    assert denied_hint("AssumeRole", **where) == (
        "the bot may not assume the role SSM3ReadOnly in account 222222222222: deploy "
        "iam/ssm3-member-role.yaml there, trusting the bot's role (BotPrincipalArn); outside "
        "the bot's organisation, list the account in iam/ssm3-bot-accounts.json"
    )
    assert denied_hint("StartAssociationsOnce", **where) == (
        f"the role in account 222222222222 may not re-run associations: attach {OPERATOR_POLICY} "
        "to it (or deploy the member-role stack with IncludeOperator=true)"
    )
    assert denied_hint("DescribeAssociation", **where) == (
        f"the role in account 222222222222 lacks ssm:DescribeAssociation: attach {READONLY_POLICY} "
        "to it"
    )


# -- through Slack ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(DENIED))
def test_every_denial_code_gives_the_slack_user_the_iam_hint(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim, code: str
) -> None:
    """UnauthorizedAccess was missing from the Slack side: it showed the error and no hint."""
    h = make_harness()
    aid = failing(h).key.association_id
    sim.fleet.inject(
        Fault(code, "not authorized", operation="DescribeAssociationExecutions", times=1)
    )
    typed = h.command(f"history {aid}")
    [answer] = wait_response(fake_slack, typed.response_url)
    shown = body_text(answer["blocks"])
    assert f"DescribeAssociationExecutions: {code}: not authorized" in shown
    assert (
        f"the role in account {CALLER} lacks ssm:DescribeAssociationExecutions: "
        "attach iam/ssm3-readonly.json to it." in shown
    )


def test_an_error_that_is_no_denial_gets_no_iam_hint(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness()
    aid = failing(h).key.association_id
    sim.fleet.inject(
        Fault("InvalidNextToken", "bad token", operation="DescribeAssociationExecutions", times=1)
    )
    typed = h.command(f"history {aid}")
    [answer] = wait_response(fake_slack, typed.response_url)
    shown = body_text(answer["blocks"])
    assert "DescribeAssociationExecutions: InvalidNextToken: bad token" in shown
    assert "iam/" not in shown
