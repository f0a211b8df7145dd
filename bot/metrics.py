"""Prometheus metrics, on a registry of our own so tests and two apps in one process do not clash."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from bot.models import SweepSummary


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.sweep_duration = Gauge(
            "ssm3_sweep_duration_seconds", "Duration of the last sweep", registry=r
        )
        self.sweep_finished = Gauge(
            "ssm3_last_sweep_timestamp_seconds", "When the last sweep finished", registry=r
        )
        self.digest_posted = Gauge(
            "ssm3_last_digest_timestamp_seconds", "When the last digest was posted", registry=r
        )
        self.failing = Gauge(
            "ssm3_failing_associations", "Failing associations after the last sweep", registry=r
        )
        self.acknowledged = Gauge(
            "ssm3_acknowledged_associations", "Failing associations acknowledged", registry=r
        )
        self.noncompliant = Gauge(
            "ssm3_noncompliant_instances",
            "Distinct instances with a failed association",
            registry=r,
        )
        self.scopes_failed = Gauge(
            "ssm3_scopes_failed", "Account-regions the last sweep could not read", registry=r
        )
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

    def observe_sweep(self, summary: SweepSummary, trigger: str) -> None:
        self.sweeps.labels(trigger=trigger).inc()
        self.sweep_duration.set(summary.duration_s)
        if summary.finished_at:
            self.sweep_finished.set(summary.finished_at.timestamp())
        self.failing.set(summary.failing)
        self.acknowledged.set(summary.acknowledged)
        self.noncompliant.set(summary.noncompliant_instances)
        self.scopes_failed.set(summary.scopes_failed)
        self.aws_errors.inc(summary.scopes_failed)
        self.aws_calls.inc(summary.aws_calls)

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        data: bytes = generate_latest(self.registry)
        return data
