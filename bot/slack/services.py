"""What the Slack app runs on, built once and handed to every listener: settings, the store,
AWS access, the Slack WebClient, the clock, the operators check, and background timers.

Later parts (the scheduler inside `serve`, alerts) plug in here rather than reaching for globals.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler

from bot.aws.session import AwsAccess
from bot.clock import utcnow
from bot.config import ConfigError, Settings
from bot.metrics import Metrics
from bot.runner import Runner
from bot.slack.faults import ServerErrorsRetryHandler
from bot.slack.permissions import Operators
from bot.store import Store

if TYPE_CHECKING:
    from bot.events.poller import EventPoller

log = logging.getLogger(__name__)

FOLLOWUP_DELAY_S = 300.0


def retry_handlers() -> list[RetryHandler]:
    """HTTP 429 waits for Retry-After; 5xx and dropped connections are retried too."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=3),
        RateLimitErrorRetryHandler(max_retry_count=10),
        ServerErrorsRetryHandler(max_retry_count=3),
    ]


def web_client(settings: Settings) -> WebClient:
    """The bot's WebClient: SSM3_SLACK_API_URL, the bot token, slack_sdk's retry handlers."""
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN", "required to talk to Slack (a bot token, xoxb-…)")
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=30,
        retry_handlers=retry_handlers(),
    )


@dataclass
class Services:
    settings: Settings
    store: Store
    access: AwsAccess
    client: WebClient
    clock: Callable[[], datetime] = utcnow
    followup_delay_s: float = FOLLOWUP_DELAY_S
    metrics: Metrics = field(default_factory=Metrics)
    runner: Runner | None = None  # set by `serve`: the scheduled jobs
    poller: EventPoller | None = None  # set by `serve` when SSM3_EVENTS_QUEUE_URL is set
    operators: Operators = field(init=False)
    _timers: list[threading.Timer] = field(default_factory=list, init=False)
    _closed: bool = field(default=False, init=False)
    _timers_lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.operators = Operators(self.settings.operators, self.client)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        client = web_client(settings)
        return cls(
            settings=settings,
            store=Store(settings.db_path),
            access=AwsAccess.from_settings(settings),
            client=client,
        )

    def scheduled(self) -> Runner:
        """`serve`'s Runner, or one without a publisher where none runs (tests, a bare app):
        manual sweeps go through it either way, under the same lease as scheduled ones."""
        return self.runner or Runner(
            settings=self.settings,
            store=self.store,
            access=self.access,
            publisher=None,
            clock=self.clock,
            metrics=self.metrics,
        )

    def later(self, delay_s: float, job: Callable[[], None], name: str = "ssm3-later") -> None:
        """Run `job` once after `delay_s` on its own daemon thread; errors are logged."""

        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("background job %s failed", name)
            finally:
                with self._timers_lock:
                    self._timers[:] = [t for t in self._timers if t.is_alive() and t is not timer]

        timer = threading.Timer(delay_s, run)
        timer.name = name
        timer.daemon = True
        # Started under the lock: `close` must never find (and join) a timer not yet started.
        with self._timers_lock:
            if self._closed:
                # A request still finishing after close: its store and AWS access are going.
                log.debug("not scheduling %s: the services are closed", name)
                return
            self._timers.append(timer)
            timer.start()

    def close(self, timeout_s: float = 10.0) -> None:
        """Cancel pending timers and wait for any already running, so none outlives the store
        and AWS access it uses (a follow-up check dies with the process anyway)."""
        with self._timers_lock:
            self._closed = True
            timers = list(self._timers)
            self._timers.clear()
        for timer in timers:
            timer.cancel()
        current = threading.current_thread()
        for timer in timers:
            if timer is not current:
                timer.join(timeout_s)
