"""The gauges of /metrics, read from the store at scrape time (a Prometheus custom collector).

Nothing here is remembered in memory: right after a restart or a deploy, and in a second
process beside the first, every gauge says what the database says, so an alert on
`ssm3_failing_associations` never fires on a 0 that only means "just started".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.ops.freshness import assess_store
from bot.settings.config import Settings
from bot.store import Store


class StoreGauges(Collector):
    def __init__(self, store: Store, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    def describe(self) -> Iterator[Metric]:
        return iter(())  # registering must not read the store; names are checked at scrape

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        store = self.store
        last = store.sweeps.last(finished=True)
        digest = store.digests.latest()
        failing, acknowledged, instances = store.associations.compliance_counts(now)
        health = assess_store(store, self.settings, now)

        def gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, help_text, value=value)

        finished = last.finished_at if last else None
        yield gauge(
            "ssm3_last_sweep_timestamp_seconds",
            "When the last finished sweep finished (0: none yet)",
            finished.timestamp() if finished else 0,
        )
        yield gauge(
            "ssm3_sweep_duration_seconds",
            "Duration of the last finished sweep",
            last.duration_s if last else 0,
        )
        yield gauge(
            "ssm3_scopes_failed",
            "Account-regions the last finished sweep could not read",
            last.scopes_failed if last else 0,
        )
        yield gauge(
            "ssm3_sweep_stale",
            "1 when the last sweep is older than two sweep periods or reached no account-region "
            "(what `ssm3bot health` fails on), else 0",
            0 if health.healthy else 1,
        )
        yield gauge(
            "ssm3_sweep_max_age_seconds",
            "How old the last sweep may be before it is stale (two sweep periods)",
            health.max_age.total_seconds(),
        )
        yield gauge(
            "ssm3_last_digest_timestamp_seconds",
            "When the last digest was posted (0: none yet)",
            digest.posted_at.timestamp() if digest and digest.posted_at else 0,
        )
        yield gauge("ssm3_failing_associations", "Failing associations, as now stored", failing)
        yield gauge(
            "ssm3_acknowledged_associations",
            "Failing associations with an acknowledgement in force",
            acknowledged,
        )
        yield gauge(
            "ssm3_noncompliant_instances",
            "Distinct instances SSM.3 fails in the swept account-regions",
            instances,
        )
        yield gauge(
            "ssm3_scheduled_jobs_pending",
            "Jobs due later (re-run follow-ups, sweeps to complete) not done yet",
            len(store.jobs.pending()),
        )
