"""`/ssm3` text -> command: forgiving about case, spaces, ARNs; precise about what was wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.slack.parsing import (
    Ack,
    AssociationRef,
    Audit,
    Help,
    History,
    ParseError,
    Rerun,
    Status,
    Sweep,
    Unack,
    parse_command,
)

AID = "3f1c2d3e-1111-4222-8333-444455556666"
REF = AssociationRef(AID)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, Help()),
        ("", Help()),
        ("help", Help()),
        ("?", Help()),
        ("status", Status()),
        ("  STATUS  ", Status()),
        ("status 111111111111", Status("account", "111111111111")),
        ("status EU-WEST-1", Status("region", "eu-west-1")),
        ("status i-0123456789abcdef0", Status("instance", "i-0123456789abcdef0")),
        ("status mi-0123456789abcdef0", Status("instance", "mi-0123456789abcdef0")),
        (f"status {AID.upper()}", Status("association", AID, REF)),
        (f"history {AID}", History(REF)),
        (f"history `{AID}`", History(REF)),
        (
            f"history arn:aws:ssm:eu-west-1:111111111111:association/{AID}",
            History(AssociationRef(AID, "111111111111", "eu-west-1")),
        ),
        (
            f"rerun ARN:AWS-US-GOV:SSM:US-GOV-WEST-1:222222222222:ASSOCIATION/{AID.upper()}",
            Rerun(AssociationRef(AID, "222222222222", "us-gov-west-1")),
        ),
        (f"re-run {AID}", Rerun(REF)),
        (f"ack {AID}", Ack(REF, None, None)),
        (f"ack {AID} for 12h", Ack(REF, timedelta(hours=12), None)),
        (f"ack {AID} 7d patch  window moved", Ack(REF, timedelta(days=7), "patch window moved")),
        (f"Acknowledge {AID} for 2 weeks OPS-1", Ack(REF, timedelta(weeks=2), "OPS-1")),
        (f"ack {AID} known, fix on Monday", Ack(REF, None, "known, fix on Monday")),
        (f"ack {AID} for 90d x", Ack(REF, timedelta(days=90), "x")),
        (f"unack {AID}", Unack(REF)),
        ("sweep", Sweep()),
        ("AUDIT", Audit()),
    ],
)
def test_understood(text: str | None, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("frobnicate", "I don't know the command `frobnicate`."),
        ("rerun", "`rerun` needs an association ID, like `/ssm3 rerun 8c1f…`."),
        ("rerun 1234", "`1234` is not an association ID (like 8c1f2d3e-…) or an association ARN."),
        (f"rerun {AID} now", "`rerun` takes no more words, but I got `now`."),
        (f"ack {AID} for", "`for` needs a duration, like `for 7d`."),
        (f"ack {AID} for ever", "`ever` is not a duration like 12h, 7d or 2w."),
        (f"ack {AID} for 91d x", "An acknowledgement lasts at most 90 days."),
        (f"ack {AID} for 0h x", "An acknowledgement lasts at least 1 hour."),
        (f"ack {AID} 13w", "An acknowledgement lasts at most 90 days."),
        (f"ack {AID} " + "x" * 501, "The reason is 501 characters; keep it under 500."),
        (
            "status 12345",
            "`12345` is not an account ID, a region, an association ID or an instance ID.",
        ),
        ("status a b", "`status` takes no more words, but I got `b`."),
        ("audit everything", "`audit` takes no more words, but I got `everything`."),
    ],
)
def test_not_understood_says_why(text: str, problem: str) -> None:
    with pytest.raises(ParseError) as error:
        parse_command(text)
    assert str(error.value) == problem
