"""The evidence report for a period, from the store and the audit log only (no AWS call): the
use case behind `ssm3bot report` and the scheduled post.

Everything is as known at the period's end: a streak that ended later is open in it, an outcome
checked later is not in it. So a past period's report comes out the same whenever it is made,
and its JSON form's SHA-256 with it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot import __version__
from bot.core.health import sweep_period
from bot.models import Scope
from bot.models.evidence import AckRecord, DayFigures, StreakRecord
from bot.report.figures import Action, Coverage, Stats, actions_taken, coverage_of, stats
from bot.report.model import (
    ACK_ENDS,
    Acknowledgement,
    Deployment,
    Headline,
    OpenItem,
    Report,
    RouteStats,
    Streak,
)
from bot.report.period import Period, previous
from bot.settings.config import Settings
from bot.store import Store

LOOKBACK = timedelta(days=31)  # account-regions read this long before a period are expected in it


def build_report(
    store: Store, settings: Settings, period: Period, now: datetime, *, compare: bool = True
) -> Report:
    """The report for `period`; with `compare`, beside the previous period's headline."""
    store.evidence.summarise(settings.zone, now)
    end = min(period.until, now)
    coverage = _coverage(store, settings, period, end)
    daily = tuple(store.evidence.days(settings.zone, period.since, period.until, now))
    streaks = tuple(
        _streak(r, period, settings) for r in store.streaks.open_during(period.since, end)
    )
    resolved = [s for s in streaks if s.resolve_seconds is not None]
    by_kind: dict[str, list[int]] = defaultdict(list)
    for streak in resolved:
        by_kind[streak.record.failure_kind or "unknown"].append(streak.resolve_seconds or 0)
    acks = tuple(_acknowledgement(a, period) for a in store.acks.overlapping(period.since, end))
    actions = tuple(actions_taken(store.audit.entries(since=period.since), period.until))
    open_items = tuple(_open_items(streaks, acks, period.until))
    headline = _headline(
        period=period,
        coverage=coverage,
        daily=daily,
        streaks=streaks,
        acks=acks,
        actions=actions,
        open_items=open_items,
    )
    earlier = previous(period, settings.zone)
    before = build_report(store, settings, earlier, now, compare=False) if compare else None
    return Report(
        period=period,
        previous_period=earlier,
        generated_at=now,
        version=__version__,
        deployment=Deployment(
            accounts=settings.accounts,
            organisation=settings.accounts_from_org,
            regions=settings.regions,
            timezone=settings.timezone,
            sweep_schedule=settings.sweep_schedule,
            scopes_seen=sum(1 for s in coverage.scopes if s.ok),
        ),
        coverage=coverage,
        daily=daily,
        streaks=streaks,
        time_to_resolve=stats(s.resolve_seconds or 0 for s in resolved),
        by_kind={kind: stats(values) for kind, values in sorted(by_kind.items())},
        by_route=_by_route(resolved, settings),
        acknowledgements=acks,
        actions=actions,
        open_items=open_items,
        headline=headline,
        previous=before.headline if before else None,
        account_names=store.account_names.names(),
    )


def gap_threshold(settings: Settings, at: datetime) -> timedelta:
    """Twice the sweep schedule's period; in triage mode an account-region Security Hub does
    not name is read only by the full sweep, so twice that schedule's period for them all."""
    period = sweep_period(settings.sweep_schedule, settings.timezone, at)
    if settings.triage != "off":
        period = max(period, sweep_period(settings.full_sweep_schedule, settings.timezone, at))
    return 2 * period


def _coverage(store: Store, settings: Settings, period: Period, end: datetime) -> Coverage:
    reads = store.evidence.reads(period.since, end)
    configured = {s.scope for s in store.sweeps.scope_states()}
    before = store.evidence.scopes_read(period.since - min(period.length, LOOKBACK), period.since)
    expected = {Scope(account_id, region) for account_id, region in before}
    return coverage_of(
        reads, expected & configured, period.since, end, gap_threshold(settings, end)
    )


def _streak(record: StreakRecord, period: Period, settings: Settings) -> Streak:
    ended = record.ended_at is not None and record.ended_at < period.until
    routes = tuple(
        dict.fromkeys(
            route.channel
            for route in settings.routes
            if route.matches(record.account_id, record.region, record.document_name)
        )
    )
    return Streak(
        record=record,
        ended_at=record.ended_at if ended else None,
        ended_how=record.ended_how if ended else None,
        routes=routes,
    )


def _acknowledgement(record: AckRecord, period: Period) -> Acknowledgement:
    if record.ended_at is not None and record.ended_at < period.until:
        return Acknowledgement(record, ACK_ENDS.get(record.end_reason or "", None), record.ended_at)
    if record.until is not None and record.until <= period.until:  # lapsed: not yet ended
        return Acknowledgement(record, "expired", record.until)
    return Acknowledgement(record, None, None)


def _open_items(
    streaks: Sequence[Streak], acks: Sequence[Acknowledgement], until: datetime
) -> list[OpenItem]:
    in_force = {
        (a.record.account_id, a.record.region, a.record.association_id): a.record
        for a in acks
        if a.ended is None
    }
    found = []
    for streak in streaks:
        if streak.ended_at is not None:
            continue
        r = streak.record
        ack = in_force.get((r.account_id, r.region, r.association_id))
        found.append(OpenItem(streak, ack.by if ack else None, ack.until if ack else None))
    return found


def _by_route(resolved: Sequence[Streak], settings: Settings) -> tuple[RouteStats, ...]:
    if not settings.routes:
        return ()
    grouped: dict[str, list[int]] = {route.channel: [] for route in settings.routes}
    grouped[""] = []
    for streak in resolved:
        for channel in streak.routes or ("",):
            grouped[channel].append(streak.resolve_seconds or 0)
    return tuple(RouteStats(channel, stats(values)) for channel, values in grouped.items())


def _headline(
    *,
    period: Period,
    coverage: Coverage,
    daily: Sequence[DayFigures],
    streaks: Sequence[Streak],
    acks: Sequence[Acknowledgement],
    actions: Sequence[Action],
    open_items: Sequence[OpenItem],
) -> Headline:
    resolved = [s.resolve_seconds for s in streaks if s.resolve_seconds is not None]
    ttr: Stats = stats(resolved)
    checked = [d for d in daily if d.securityhub_checks]
    return Headline(
        monitored_share=coverage.monitored_share,
        sweeps=coverage.sweeps,
        gaps=len(coverage.gaps),
        scopes_never_swept=len(coverage.never_swept),
        scopes_not_always_swept=len(coverage.not_always_swept),
        streaks=len(streaks),
        new_streaks=sum(1 for s in streaks if s.record.started_at >= period.since),
        resolved=len(resolved),
        median_resolve_seconds=ttr.median_seconds,
        p90_resolve_seconds=ttr.p90_seconds,
        open_at_end=len(open_items),
        noncompliant_instances_at_end=daily[-1].noncompliant_instances if daily else None,
        peak_noncompliant_instances=max((d.noncompliant_instances for d in daily), default=None),
        acknowledgements_made=sum(1 for a in acks if a.record.created_at >= period.since),
        acknowledgements_expired=sum(1 for a in acks if a.ended == "expired"),
        actions=len(actions),
        actions_compliant=sum(1 for a in actions if a.outcome == "compliant"),
        securityhub_days_checked=len(checked),
        securityhub_days_agreed=sum(
            1 for d in checked if d.securityhub_agreed == d.securityhub_checks
        ),
    )
