"""`ssm3bot serve`: the Slack app in Socket Mode (SLACK_APP_TOKEN set) or over HTTP on
SSM3_HTTP_PORT. Configuration is checked before anything starts."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from slack_bolt.error import BoltError

from bot.config import ConfigError, Settings
from bot.slack.app import build_app, describe, http_server, run_socket_mode
from bot.slack.services import Services

log = logging.getLogger(__name__)

LISTEN_HOST = "0.0.0.0"  # noqa: S104  # a container's port must be reachable from outside it


def check(settings: Settings) -> None:
    """The variables `serve` cannot run without, as one ConfigError naming the first missing."""
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN", "required for serve (a bot token, xoxb-…)")
    if not settings.socket_mode and not settings.slack_signing_secret:
        raise ConfigError(
            "SLACK_SIGNING_SECRET",
            "required in HTTP mode (set it, or set SLACK_APP_TOKEN for Socket Mode)",
        )


def serve(settings: Settings, *, err: TextIO = sys.stderr) -> int:
    check(settings)
    services = Services.from_settings(settings)
    services.access.warm_up()  # so the first clicks' acks do not wait on model parsing
    try:
        app = build_app(services)
    except BoltError as exc:  # e.g. auth.test refused the token
        raise ConfigError("SLACK_BOT_TOKEN", f"Slack did not accept it: {exc}") from None
    try:
        if settings.socket_mode:
            assert settings.slack_app_token is not None
            err.write("ssm3bot: serving over Socket Mode\n")
            run_socket_mode(app, settings.slack_app_token)
        else:
            server = http_server(app, services, host=LISTEN_HOST, port=settings.http_port)
            err.write(f"ssm3bot: serving on {describe(server)} (health: /healthz)\n")
            server.run()
    finally:
        services.close()
    return 0
