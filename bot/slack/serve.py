"""`ssm3bot serve`: the Slack app in Socket Mode (SLACK_APP_TOKEN set) or over HTTP on
SSM3_HTTP_PORT, and the scheduler beside it (sweeps, the daily digest, alerts, expiries), with
/healthz and /metrics on SSM3_HTTP_PORT in both modes. Configuration is checked before
anything starts.

SIGTERM (docker stop, a Kubernetes or ECS deploy) stops it in order, within STOP_GRACE_S: no
new work (the scheduler and Slack's connection or port close), the sweep in progress stores
the account-regions it is reading and stops (the next start completes it), then exit 0.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TextIO

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt.error import BoltError

from bot.ops.liveness import scheduler_alive, socket_mode_connected
from bot.ops.probes import ServerThread, probe_server
from bot.scheduling.scheduler import build_scheduler
from bot.settings.config import ConfigError, Settings
from bot.slack.app import (
    LISTENER_THREADS,
    SOCKET_PING_S,
    build_app,
    connect_socket_mode,
    describe,
    http_server,
    probes_of,
)
from bot.slack.services import Services
from bot.util import logs

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler


log = logging.getLogger(__name__)

LISTEN_HOST = "0.0.0.0"  # noqa: S104  # a container's port must be reachable from outside it
# Within Kubernetes' default terminationGracePeriodSeconds (30) and ECS's stopTimeout (30).
STOP_GRACE_S = 20.0


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
    if not settings.channels:
        notice(err, "SSM3_CHANNEL is not set: sweeps run, but no digest or alert is posted")
    runner = services.runner = services.new_runner()
    scheduler = build_scheduler(runner)
    scheduler.start()
    threading.Thread(target=runner.startup, name="ssm3-startup", daemon=True).start()
    return scheduler


class Serving:
    """`serve`'s parts, started in order and stopped in the reverse order (tests drive it
    in-process; `serve` adds the signals)."""

    def __init__(
        self, services: Services, *, err: TextIO = sys.stderr, host: str = LISTEN_HOST
    ) -> None:
        self.services = services
        self.settings = services.settings
        self.err = err
        self.host = host
        self.executor = ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="ssm3-slack"
        )
        self.scheduler: BackgroundScheduler | None = None
        self.socket: SocketModeHandler | None = None
        self.server: ServerThread | None = None  # HTTP mode: Slack and the probes
        self.probes: ServerThread | None = None  # Socket Mode: the probes alone
        self.socket_ping_s = SOCKET_PING_S

    @property
    def port(self) -> int:
        serving = self.server or self.probes
        assert serving is not None
        return serving.port

    def start(self) -> None:
        """Start everything, or (on an error) stop what was started and raise it."""
        try:
            self._start()
        except BaseException:
            self.stop(0)
            raise

    def _start(self) -> None:
        services, settings = self.services, self.settings
        try:
            app = build_app(services, executor=self.executor)
        except BoltError as exc:  # e.g. auth.test refused the token
            raise ConfigError(
                "SLACK_BOT_TOKEN", f"Slack did not accept it ({_slack_error(exc)})"
            ) from None
        port = settings.http_port
        if settings.socket_mode:
            assert settings.slack_app_token is not None
            self.probes = probe_server(probes_of(services), host=self.host, port=port).start()
            self.socket = connect_socket_mode(
                app, settings.slack_app_token, ping_interval=self.socket_ping_s
            )
            services.liveness.add("slack", socket_mode_connected(self.socket.client))
            notice(
                self.err,
                f"serving over Socket Mode (health: http://{self.host}:{self.port}/healthz)",
            )
        else:
            server = http_server(app, services, host=self.host, port=port)
            self.server = ServerThread(server, "ssm3-http").start()
            services.liveness.add("slack", lambda: (True, "HTTP serving"))  # it answered
            notice(self.err, f"serving on {describe(server)} (health: /healthz)")
        self.scheduler = start_schedule(services, err=self.err)
        services.liveness.add("scheduler", scheduler_alive(self.scheduler))
        start_events(services, err=self.err)

    def crashed(self) -> bool:
        """A part that cannot recover: the HTTP server's thread ended."""
        return self.server is not None and not self.server.alive()

    def stop(self, grace_s: float = STOP_GRACE_S) -> bool:
        """Stop taking work, let the sweep in progress checkpoint, close everything; False when
        a sweep was still running at the deadline."""
        deadline = time.monotonic() + grace_s
        services = self.services
        services.liveness.add("stopping", lambda: (False, "stopping"))
        runner = services.runner
        if runner is not None:
            runner.stopping.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if services.poller is not None:
            services.poller.stop(timeout_s=1)
        if self.socket is not None:
            self.socket.close()  # type: ignore[no-untyped-call]
        if self.server is not None:
            self.server.stop(max(0.0, deadline - time.monotonic()))
        drained = runner is None or runner.wait_idle(max(0.0, deadline - time.monotonic()))
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self.probes is not None:
            self.probes.stop(max(0.0, deadline - time.monotonic()))
        services.close(timeout_s=max(0.0, min(5.0, deadline - time.monotonic())))
        return drained


def start_events(services: Services, *, err: TextIO) -> None:
    """The real-time poller (SSM3_EVENTS_QUEUE_URL) on a daemon thread, over the scheduled
    Runner's own sweep steps, as `services.poller`; nothing when no queue is configured."""
    from bot.realtime.wiring import build_poller

    poller = build_poller(services.scheduled())
    if poller is not None:
        services.poller = poller.start()
        notice(err, f"real time from {services.settings.events_queue_url}")


def serve(settings: Settings, *, err: TextIO = sys.stderr, grace_s: float = STOP_GRACE_S) -> int:
    check(settings)
    services = Services.from_settings(settings)
    services.access.warm_up()  # so the first clicks' acks do not wait on model parsing
    serving = Serving(services, err=err)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    serving.start()
    code = 0
    try:
        while not stop.wait(1.0):
            if serving.crashed():
                log.error("the HTTP server stopped; exiting")
                code = 1
                break
    except KeyboardInterrupt:
        pass
    finally:
        began = time.monotonic()
        drained = serving.stop(grace_s)
        drained = _threads_done(began + grace_s) and drained
        notice(err, "stopped")
    if not drained:  # a thread still works past the bound: stored results are kept
        notice(err, f"work still running after {grace_s:.0f}s; exiting anyway")
        logging.shutdown()
        os._exit(code)
    return code


def notice(err: TextIO, text: str) -> None:
    """What `serve` tells its operator: an "ssm3bot: …" line, or a JSON log line in JSON mode."""
    if logs.json_enabled():
        logs.emit(text, logging.INFO, "bot.slack.serve")
    else:
        err.write(f"ssm3bot: {text}\n")
        err.flush()


def _threads_done(deadline: float) -> bool:
    """Wait until only daemon threads are left (the interpreter would wait for the others at
    exit, past any bound); False when some are still running at the deadline."""
    main = threading.main_thread()
    for thread in threading.enumerate():
        if thread is not main and not thread.daemon and thread.is_alive():
            thread.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() and not t.daemon and t is not main for t in threading.enumerate())


def _slack_error(exc: BoltError) -> str:
    """Bolt words a refused token as a whole auth.test result; Slack's error code says it all."""
    found = re.search(r"'error': '([a-z_]+)'", str(exc))
    return found.group(1) if found else "auth.test failed"
