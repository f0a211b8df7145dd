"""What AWS and Slack identifiers look like: one place for config, the routes file, the CLI and
the slash-command parser."""

from __future__ import annotations

import re

REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
ACCOUNT_ID = re.compile(r"[0-9]{12}")
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,30}")
