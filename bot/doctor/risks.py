"""Risky combinations of settings and files, judged without the network: what the security
model (README: Security model) says to avoid, each with its fix."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bot.app.permissions import require_operators_for_sync
from bot.doctor.checks import Check
from bot.settings.config import ConfigError, Settings

SECTION = "Security"
PROXY_NOTE = (
    "put it behind a TLS-terminating reverse proxy or load balancer that forwards only "
    "POST /slack/events (keep /healthz and /metrics on the private network), or use Socket "
    "Mode (SLACK_APP_TOKEN), which needs no inbound port"
)


def risks(settings: Settings, dotenv: Path | None) -> list[Check]:
    checks = [_sync_operators(settings), *_http_mode(settings), *_files(settings, dotenv)]
    return checks or [Check(SECTION, "pass", "no risky combination of settings found")]


def _sync_operators(settings: Settings) -> Check:
    try:
        require_operators_for_sync(settings)
    except ConfigError as refused:
        return Check(
            SECTION,
            "fail",
            f"{refused}; serve and ack refuse to start",
            "set SSM3_OPERATORS to the Slack users or user groups who may suppress findings",
        )
    if settings.securityhub == "sync":
        return Check(SECTION, "pass", "sync mode: only operators may acknowledge (SSM3_OPERATORS)")
    return Check(
        SECTION, "pass", f"Security Hub mode {settings.securityhub}: Slack writes nothing there"
    )


def _http_mode(settings: Settings) -> list[Check]:
    if settings.socket_mode:
        return []
    return [
        Check(
            SECTION,
            "warn",
            f"HTTP mode: /slack/events on port {settings.http_port} takes requests from the "
            "internet (bodies over 1 MiB and unsigned requests are refused unread)",
            PROXY_NOTE,
        )
    ]


def _files(settings: Settings, dotenv: Path | None) -> list[Check]:
    found: list[Check] = []
    if dotenv is not None and dotenv.is_file() and _others_may(dotenv, write=True):
        found.append(
            Check(
                SECTION,
                "warn",
                f"{dotenv} can be changed by other users: whoever edits it can point "
                "SSM3_SLACK_API_URL elsewhere and receive the bot token",
                f"chmod go-w {dotenv} (and keep it owned by the bot's user)",
            )
        )
    path = Path(settings.db_path)
    if settings.db_path != ":memory:" and path.is_file() and _others_may(path, write=False):
        found.append(
            Check(
                SECTION,
                "warn",
                f"database {path} is readable by other users (audit log, reasons, response_urls)",
                f"chmod 600 {path} (ssm3bot makes it so when it next opens it as its owner)",
            )
        )
    return found


def _others_may(path: Path, *, write: bool) -> bool:
    mode = stat.S_IMODE(os.stat(path).st_mode)
    return bool(mode & (0o022 if write else 0o044))
