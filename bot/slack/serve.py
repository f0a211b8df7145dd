"""`ssm3bot serve`: the Slack app in Socket Mode (SLACK_APP_TOKEN set) or over HTTP on
SSM3_HTTP_PORT, and the scheduler beside it (sweeps, the daily digest, alerts, expiries).
Configuration is checked before anything starts."""

from __future__ import annotations

import logging
import re
import signal
import sys
import threading
from typing import TYPE_CHECKING, TextIO

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt.error import BoltError

from bot.config import ConfigError, Settings
from bot.runner import Runner
from bot.scheduler import build_scheduler
from bot.slack.app import build_app, describe, http_server, run_socket_mode
from bot.slack.delivery import Delivery
from bot.slack.publisher import SlackPublisher
from bot.slack.services import Services

if TYPE_CHECKING:
    from bot.events.poller import EventPoller

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


def start_schedule(services: Services, *, err: TextIO) -> BackgroundScheduler:
    """The Runner on APScheduler, started; its catch-up (a stale sweep, a missed digest) runs
    on a thread of its own so Slack is answered from the first second."""
    settings = services.settings
    publisher = None
    if settings.channel:
        delivery = Delivery(
            client=services.client, store=services.store, zone=settings.zone, clock=services.clock
        )
        publisher = SlackPublisher(delivery, settings.channel)
    else:
        err.write(
            "ssm3bot: SSM3_CHANNEL is not set: sweeps run, but no digest or alert is posted\n"
        )
    runner = Runner(
        settings=settings,
        store=services.store,
        access=services.access,
        publisher=publisher,
        clock=services.clock,
        metrics=services.metrics,
    )
    services.runner = runner
    scheduler = build_scheduler(runner)
    scheduler.start()
    threading.Thread(target=runner.startup, name="ssm3-startup", daemon=True).start()
    return scheduler


def start_events(services: Services, *, err: TextIO) -> EventPoller | None:
    """The real-time poller (SSM3_EVENTS_QUEUE_URL) on a daemon thread, over the scheduled
    Runner's own sweep steps; None when no queue is configured."""
    from bot.events.wiring import build_poller

    poller = build_poller(services.scheduled())
    if poller is None:
        return None
    services.poller = poller.start()
    err.write(f"ssm3bot: real time from {services.settings.events_queue_url}\n")
    return poller


def serve(settings: Settings, *, err: TextIO = sys.stderr) -> int:
    check(settings)
    services = Services.from_settings(settings)
    services.access.warm_up()  # so the first clicks' acks do not wait on model parsing
    try:
        app = build_app(services)
    except BoltError as exc:  # e.g. auth.test refused the token
        raise ConfigError(
            "SLACK_BOT_TOKEN", f"Slack did not accept it ({_slack_error(exc)})"
        ) from None
    # SIGTERM (docker stop) unwinds like Ctrl-C, so the scheduler and timers stop cleanly.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    scheduler = start_schedule(services, err=err)
    poller = start_events(services, err=err)
    try:
        if settings.socket_mode:
            assert settings.slack_app_token is not None
            err.write("ssm3bot: serving over Socket Mode\n")
            run_socket_mode(app, settings.slack_app_token)
        else:
            server = http_server(app, services, host=LISTEN_HOST, port=settings.http_port)
            err.write(f"ssm3bot: serving on {describe(server)} (health: /healthz)\n")
            server.run()
    except KeyboardInterrupt:
        pass  # waitress stops on it by itself; Socket Mode raises it through
    finally:
        if poller is not None:
            poller.stop(timeout_s=1)
        scheduler.shutdown(wait=False)
        services.close()
        err.write("ssm3bot: stopped\n")
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _slack_error(exc: BoltError) -> str:
    """Bolt words a refused token as a whole auth.test result; Slack's error code says it all."""
    found = re.search(r"'error': '([a-z_]+)'", str(exc))
    return found.group(1) if found else "auth.test failed"
