"""What the Slack app runs on, built once and handed to every listener: settings, the store,
AWS access, the Slack WebClient, the clock, the operators check, work due later (as rows:
bot/app/jobs.py), what /healthz checks and what /metrics counts.

Later parts (the scheduler inside `serve`, alerts) plug in here rather than reaching for globals.
"""

from __future__ import annotations

import logging
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

from bot.app.jobs import ScheduledJobs
from bot.aws.session import AwsAccess
from bot.ops.liveness import Liveness
from bot.ops.metrics import Metrics
from bot.scheduling.runner import Runner
from bot.settings.config import ConfigError, Settings
from bot.slack.delivery import Delivery
from bot.slack.faults import ServerErrorsRetryHandler
from bot.slack.members import SlackDirectory
from bot.slack.permissions import Operators, SlackPermissions
from bot.store import Store
from bot.util.clock import utcnow
from bot.wiring.context import Context

if TYPE_CHECKING:
    from bot.realtime.poller import EventPoller

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
    liveness: Liveness = field(default_factory=Liveness)  # what /healthz checks
    after_sweep: list[Callable[[], None]] = field(default_factory=list)  # the Runner's hooks
    poller: EventPoller | None = None  # set by `serve` when SSM3_EVENTS_QUEUE_URL is set
    operators: Operators = field(init=False)  # SSM3_OPERATORS and SSM3_VIEWERS
    members: SlackDirectory = field(init=False)  # the workspace and its people (the team rule)
    permissions: SlackPermissions = field(init=False)  # what every Slack use case is built with
    jobs: ScheduledJobs = field(init=False)  # work due later, as rows (re-run follow-ups)
    delivery: Delivery = field(init=False)  # the one way digests and alerts reach Slack
    _bare_runner: Runner | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.operators = Operators(
            self.settings.operators,
            self.client,
            viewers=self.settings.viewers,
            sync=self.settings.securityhub == "sync",
        )
        self.members = SlackDirectory(self.client)
        self.permissions = SlackPermissions(self.operators, self.members)
        self.jobs = ScheduledJobs(self.store, self.clock)
        self.liveness.add("database", self.store.ping)
        self.metrics.watch(self.store, self.settings, self.clock)
        self.delivery = Delivery(client=self.client, zone=self.settings.zone, clock=self.clock)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        client = web_client(settings)
        return cls(
            settings=settings,
            store=Store(settings.db_path),
            access=AwsAccess.from_settings(settings),
            client=client,
        )

    @property
    def context(self) -> Context:
        """What the use cases are built on: these services' settings, store, AWS and clock."""
        return Context(self.settings, self.store, self.access, self.clock)

    def scheduled(self) -> Runner:
        """`serve`'s Runner, or one publishing through this Delivery where none runs (tests, a
        bare app): manual sweeps, digest edits and alert edits go through it either way."""
        if self.runner is not None:
            return self.runner
        if self._bare_runner is None:
            self._bare_runner = self.new_runner()
        return self._bare_runner

    def new_runner(self) -> Runner:
        """A Runner on these services: their store, AWS, clock, metrics, jobs and after-sweep
        hooks, publishing through the one Delivery when there is a channel to post to."""
        return Runner(
            settings=self.settings,
            store=self.store,
            access=self.access,
            publisher=self.delivery if self.settings.channels else None,
            clock=self.clock,
            metrics=self.metrics,
            jobs=self.jobs,
            hooks=self.after_sweep,
        )

    def close(self, timeout_s: float = 10.0) -> None:
        """Cancel pending timers and wait for any already running, so none outlives the store
        and AWS access it uses; the jobs they were for stay in the store, due."""
        self.jobs.close(timeout_s)
