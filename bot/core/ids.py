r"""What AWS and Slack identifiers look like: the one place for config, the routes file, the
CLI, the slash-command parser, the button values, EventBridge's events and Security Hub's
findings. `*_SHAPE` is the bare pattern (to build others from); the compiled ones match a
whole string (anchored with `\Z`: `$` would let a trailing newline through `re.match`)."""

from __future__ import annotations

import re

ACCOUNT_SHAPE = r"[0-9]{12}"
REGION_SHAPE = r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}"
ASSOCIATION_SHAPE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
INSTANCE_SHAPE = r"(?:i|mi)-[0-9a-f]{8,17}"  # EC2 instances and hybrid managed instances
SLACK_USER_SHAPE = r"[UW][A-Z0-9]{2,30}"
SLACK_GROUP_SHAPE = r"S[A-Z0-9]{2,30}"
CHANNEL_SHAPE = r"[CGD][A-Z0-9]{2,30}"


def _whole(shape: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(rf"^(?:{shape})\Z", flags)


REGION = _whole(REGION_SHAPE)
ACCOUNT_ID = _whole(ACCOUNT_SHAPE)
CHANNEL_ID = _whole(CHANNEL_SHAPE)
ASSOCIATION_ID = _whole(ASSOCIATION_SHAPE)
INSTANCE_ID = _whole(INSTANCE_SHAPE)
SLACK_USER = _whole(SLACK_USER_SHAPE)
SLACK_USER_OR_GROUP = _whole(f"{SLACK_USER_SHAPE}|{SLACK_GROUP_SHAPE}")
# An association's ARN (a person may paste one): arn:PARTITION:ssm:REGION:ACCOUNT:association/ID
ASSOCIATION_ARN = re.compile(
    rf"^arn:aws[a-z-]*:ssm:(?P<region>{REGION_SHAPE}):(?P<account>{ACCOUNT_SHAPE}):"
    rf"association/(?P<id>{ASSOCIATION_SHAPE})\Z"
)
# A per-instance finding's resource ID ends with its instance (the rest is not documented).
INSTANCE_AT_END = re.compile(rf"\b({INSTANCE_SHAPE})\Z")
