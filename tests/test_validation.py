"""Input is validated as a whole value: `^…$` with `re.match` let a trailing newline through
(`$` matches before it), so every validating pattern is unanchored and used with `fullmatch`.
And SSM3_SLACK_API_URL, which receives the bot token with every call, is https unless it
names this machine."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path

import pytest

from bot.app.terms import InputError, parse_association, parse_duration
from bot.aws.eventbridge import classify
from bot.models.hints import Unusable
from bot.settings.config import ConfigError, Settings
from bot.settings.routes_file import RoutesError, parse_routes
from bot.sim.events import compliance_event
from bot.slack.blocks.history import _OUTPUT_URL

ROOT = Path(__file__).resolve().parent.parent
AID = "3f1c2d3e-1111-4222-8333-444455556666"


def test_no_pattern_in_bot_is_anchored_with_a_dollar_that_lets_a_newline_through() -> None:
    """A pattern written `^…$` is the sign of `re.match` validation, which `$` lets a trailing
    newline through: every module-level pattern in bot/ (the simulator aside) ends `\\Z`, or
    is unanchored and used with `fullmatch`."""
    anchored = []
    for module in pkgutil.walk_packages([str(ROOT / "bot")], prefix="bot."):
        if module.name.startswith("bot.sim") or module.name == "bot.__main__":
            continue
        for name, value in vars(importlib.import_module(module.name)).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                text = value.pattern
                if text.startswith("^") and text.endswith("$") and not text.endswith("\\$"):
                    anchored.append(f"{module.name}.{name}: {text}")
    assert anchored == []


@pytest.mark.parametrize(
    "value", [f"{AID}\n", f"arn:aws:ssm:eu-west-1:111111111111:association/{AID}\n"]
)
def test_an_association_with_a_trailing_newline_is_refused(value: str) -> None:
    with pytest.raises(InputError):
        parse_association(value)
    assert parse_association(value.strip()).association_id == AID


def test_a_duration_with_a_trailing_newline_inside_is_refused() -> None:
    with pytest.raises(InputError):
        parse_duration("7d\nx")


def test_a_routes_file_value_with_a_trailing_newline_is_refused() -> None:
    for route in (
        {"channel": "C0PAYMENTS\n"},
        {"channel": "C0PAYMENTS", "accounts": ["222222222222\n"]},
        {"channel": "C0PAYMENTS", "regions": ["eu-west-1\n"]},
        {"channel": "C0PAYMENTS", "mention": "S0PAYOPS\n"},
    ):
        with pytest.raises(RoutesError):
            parse_routes(json.dumps({"routes": [route]}), "routes.yaml")  # YAML reads JSON


def test_an_event_naming_an_account_with_a_trailing_newline_is_unusable() -> None:
    event = dict(compliance_event("111111111111", "eu-west-1", "i-0123456789abcdef0"))
    assert not isinstance(classify(json.dumps(event)), Unusable)
    event["account"] = "111111111111\n"
    assert isinstance(classify(json.dumps(event)), Unusable)


def test_history_scope_options_with_a_trailing_newline_are_usage_errors() -> None:
    from bot.cli.common import UsageError
    from bot.cli.history import _check_scope_options

    _check_scope_options("111111111111", "eu-west-1")
    for account, region in (("111111111111\n", None), (None, "eu-west-1\n")):
        with pytest.raises(UsageError):
            _check_scope_options(account, region)


def test_an_s3_output_url_with_a_trailing_newline_is_not_made_a_link() -> None:
    url = "https://s3.eu-west-1.amazonaws.com/bucket/key"
    assert _OUTPUT_URL.fullmatch(url)
    assert not _OUTPUT_URL.fullmatch(url + "\n")


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("https://slack.com/api/", True),
        ("https://slack-gov.com/api", True),
        ("http://127.0.0.1:9000/api", True),
        ("http://localhost:9000/api/", True),
        ("http://[::1]:9000/api/", True),
        ("http://slack.example.com/api/", False),
        ("http://10.0.0.5/api/", False),
        ("ftp://slack.com/api/", False),
        ("slack.com/api", False),
        ("https://", False),
    ],
)
def test_the_slack_api_url_is_https_unless_loopback(value: str, accepted: bool) -> None:
    environ = {"SSM3_SLACK_API_URL": value}
    if accepted:
        assert Settings.from_env(environ, dotenv=None).slack_api_url.startswith(value.rstrip("/"))
        return
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(environ, dotenv=None)
    assert str(raised.value).startswith("SSM3_SLACK_API_URL: ")
