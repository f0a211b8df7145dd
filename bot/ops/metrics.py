"""Prometheus metrics, on a registry of our own so tests and two apps in one process do not clash.

Counters count what this process did since it started (Prometheus expects counters to reset
with the process). Every gauge is read from the store at scrape time (bot/ops/gauges.py), once
`watch` has named the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, generate_latest

from bot.models import SweepSummary

if TYPE_CHECKING:
    from bot.settings.config import Settings
    from bot.store import Store


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self._watching = False
        self.sweeps = Counter("ssm3_sweeps", "Sweeps run", ["trigger"], registry=r)
        self.aws_errors = Counter(
            "ssm3_aws_errors", "Account-regions that failed in a sweep", registry=r
        )
        self.aws_calls = Counter("ssm3_aws_calls", "AWS API calls made by sweeps", registry=r)
        self.slack_errors = Counter(
            "ssm3_slack_errors",
            "Slack Web API calls that failed after retries",
            ["method"],
            registry=r,
        )
        self.alerts = Counter("ssm3_alerts", "New-failure alerts posted", registry=r)
        # Real time (SSM3_EVENTS_QUEUE_URL): each queued event by what became of it
        # (bot/app/realtime.py OUTCOMES), and receives from the queue that failed.
        self.events = Counter(
            "ssm3_events", "Queued EventBridge events, by outcome", ["outcome"], registry=r
        )
        self.events_receive_errors = Counter(
            "ssm3_events_receive_errors", "Receives from the events queue that failed", registry=r
        )
        # HTTP requests refused before any app code saw them (bot/slack/guard.py), by why.
        self.http_refused = Counter(
            "ssm3_http_refused",
            "HTTP requests refused unread or unverified",
            ["reason"],
            registry=r,
        )

    def refused(self, reason: str) -> None:
        self.http_refused.labels(reason=reason).inc()

    def watch(self, store: Store, settings: Settings, clock: Callable[[], datetime]) -> None:
        """Report the store's gauges (once; later calls keep the first store)."""
        from bot.ops.gauges import StoreGauges

        if not self._watching:
            self.registry.register(StoreGauges(store, settings, clock))
            self._watching = True

    def observe_sweep(self, summary: SweepSummary, trigger: str) -> None:
        self.sweeps.labels(trigger=trigger).inc()
        self.aws_errors.inc(summary.scopes_failed)
        self.aws_calls.inc(summary.aws_calls)

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        data: bytes = generate_latest(self.registry)
        return data
