"""SSM3_REPORT_SCHEDULE: at each slot, the report for the days since the previous slot (the
default `0 9 1 * *`: the month before) goes to SSM3_CHANNEL as an HTML file, once per period
however many processes run and however often they try (claimed in the store, as digests are);
and the store's upkeep: summaries written for each closed day, raw sweep rows pruned after.

A slot missed while the bot was down is posted when it comes back (late beats silent); a period
that ended before the bot's first sweep is not worth a report and is skipped."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.app.publisher import Publisher
from bot.core.slots import cron_trigger, latest_fire
from bot.report import build_report, render
from bot.report.cells import NONE
from bot.report.html import period_name
from bot.report.model import Report
from bot.report.period import TICK, Period, for_slot, is_month_start
from bot.settings.config import OFF, Settings
from bot.store import Store
from bot.util.clock import humanize

log = logging.getLogger(__name__)

RAW_DAYS = 100  # per-account-region sweep rows and Security Hub checks, once summarised
SWEEP_DAYS = 400  # each sweep's own row (the health check and the trend read recent ones)
SUMMARY_DAYS = 800  # daily figures, reads per day and ended streaks: at least 400 days


class ReportPoster:
    """The scheduled report and the store's upkeep, as plain methods for the scheduler."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        publisher: Publisher | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.store = store
        self.publisher = publisher
        self.clock = clock
        off = settings.report_schedule == OFF
        self.trigger = None if off else cron_trigger(settings.report_schedule, settings.zone)

    def due(self) -> tuple[datetime, Period] | None:
        """The latest slot and the period it reports on, or None (off, or no slot yet)."""
        if self.trigger is None:
            return None
        slot = latest_fire(self.trigger, self.clock())
        if slot is None:
            return None
        return slot, for_slot(self.trigger, slot, self.settings.zone)

    def post_due(self) -> bool:
        """Post the latest slot's report unless some process already did; True when posted."""
        channel = self.settings.channel
        due = self.due()
        if due is None or channel is None or self.publisher is None:
            return False
        slot, period = due
        first = self.store.evidence.first_sweep_at()
        if first is None or first >= period.until:
            return False  # the bot was not sweeping yet: nothing to report on
        if self.store.report_posts.posted_at(period.since, period.until, channel) is not None:
            return False  # the usual answer, read without taking the write lock
        now = self.clock()
        if not self.store.report_posts.claim(
            period.since, period.until, channel, slot=slot, now=now
        ):
            return False
        try:
            report = build_report(self.store, self.settings, period, now)
            html, sha = render(report, "html")
            file_id = self.publisher.post_file(
                channel,
                filename=report_filename(period, self.settings.zone),
                content=html,
                title=f"SSM.3 evidence report: {period_name(period, self.settings.zone)}",
                comment=report_comment(report, sha),
            )
        except Exception as exc:
            name = period_name(period, self.settings.zone)
            log.error("posting the evidence report for %s failed, will retry: %s", name, exc)
            log.debug("posting the evidence report failed", exc_info=exc)
            self.store.report_posts.failed(period.since, period.until, channel)
            return False
        self.store.report_posts.posted(
            period.since, period.until, channel, now=self.clock(), file_id=file_id, sha256=sha
        )
        log.info(
            "posted the evidence report for %s to %s",
            period_name(period, self.settings.zone),
            channel,
        )
        return True

    def upkeep(self) -> dict[str, int]:
        """Summarise the days that closed, then prune raw rows that are summarised."""
        now = self.clock()
        written = self.store.evidence.summarise(self.settings.zone, now)
        gone = self.store.evidence.prune(
            now, raw_days=RAW_DAYS, sweep_days=SWEEP_DAYS, summary_days=SUMMARY_DAYS
        )
        gone["failure_streaks"] = self.store.streaks.prune(now - timedelta(days=SUMMARY_DAYS))
        return {"summarised": written, **gone}


def report_filename(period: Period, zone: ZoneInfo) -> str:
    """ssm3-evidence-2026-11.html for a month, else its first and last day."""
    first, last = period.since.astimezone(zone), (period.until - TICK).astimezone(zone)
    whole = is_month_start(period.since, zone) and is_month_start(period.until, zone)
    if whole and (first.year, first.month) == (last.year, last.month):
        return f"ssm3-evidence-{first:%Y-%m}.html"
    return f"ssm3-evidence-{first:%Y-%m-%d}-to-{last:%Y-%m-%d}.html"


def report_comment(report: Report, sha256: str) -> str:
    """The message the file is shared with: the headline in one line (numbers only: nothing
    from AWS or people goes into mrkdwn here)."""
    h = report.headline
    zone = ZoneInfo(report.deployment.timezone)
    median = humanize_seconds(h.median_resolve_seconds)
    return (
        f"*SSM.3 evidence report: {period_name(report.period, zone)}*\n"
        f"Monitored {h.monitored_share * 100:.1f} % of the period ({h.gaps} gaps), "
        f"{h.streaks} failures ({h.new_streaks} new, {h.resolved} resolved, median {median}), "
        f"{h.open_at_end} open at the end.\n"
        f"SHA-256 of its JSON form: `{sha256}`"
    )


def humanize_seconds(seconds: int | None) -> str:
    if seconds is None:
        return NONE
    return humanize(timedelta(seconds=seconds))
