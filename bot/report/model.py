"""The evidence report as data: what every form (HTML, JSON, CSV) renders, nothing more."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.models.evidence import AckRecord, DayFigures, StreakRecord
from bot.report.figures import Action, Coverage, Stats
from bot.report.period import Period

ACK_ENDS = {  # how the store says an acknowledgement ended -> how the report says it
    "expired": "expired",
    "unacknowledged": "lifted",
    "resolved": "resolved",
    "replaced": "replaced",
    "deleted": "deleted",
    "unswept": "unswept",
}


@dataclass(frozen=True)
class Deployment:
    """The scope the report speaks for, from the configuration (no AWS call)."""

    accounts: tuple[str, ...]  # empty: the caller's own account, or the organisation's
    organisation: bool
    regions: tuple[str, ...]  # empty: the session's region
    timezone: str
    sweep_schedule: str
    scopes_seen: int  # account-regions the store saw swept in the period


@dataclass(frozen=True)
class Streak:
    """A failing streak as of the period's end: an end after it is not known yet."""

    record: StreakRecord
    ended_at: datetime | None
    ended_how: str | None
    routes: tuple[str, ...]  # the team channels (SSM3_ROUTES_FILE) it goes to

    @property
    def resolve_seconds(self) -> int | None:
        """How long it took to resolve, for a streak that was resolved (not deleted)."""
        if self.ended_at is None or self.ended_how != "resolved":
            return None
        return int((self.ended_at - self.record.started_at).total_seconds())


@dataclass(frozen=True)
class Acknowledgement:
    record: AckRecord
    ended: str | None  # expired | lifted | resolved | replaced | deleted | unswept (by the end)
    ended_at: datetime | None


@dataclass(frozen=True)
class OpenItem:
    """A streak still open at the period's end, and whether an acknowledgement covered it."""

    streak: Streak
    acknowledged_by: str | None
    acknowledged_until: datetime | None


@dataclass(frozen=True)
class Headline:
    """The first page's figures for one period."""

    monitored_share: float
    sweeps: int
    gaps: int
    scopes_never_swept: int
    scopes_not_always_swept: int
    streaks: int  # open at some moment of the period
    new_streaks: int  # began in it
    resolved: int
    median_resolve_seconds: int | None
    p90_resolve_seconds: int | None
    open_at_end: int
    noncompliant_instances_at_end: int | None
    peak_noncompliant_instances: int | None
    acknowledgements_made: int
    acknowledgements_expired: int
    actions: int
    actions_compliant: int
    securityhub_days_checked: int
    securityhub_days_agreed: int


@dataclass(frozen=True)
class RouteStats:
    channel: str  # a route's channel, or "" for streaks no team route takes
    stats: Stats


@dataclass(frozen=True)
class Report:
    period: Period
    previous_period: Period
    generated_at: datetime
    version: str
    deployment: Deployment
    coverage: Coverage
    daily: tuple[DayFigures, ...]
    streaks: tuple[Streak, ...]
    time_to_resolve: Stats
    by_kind: dict[str, Stats]
    by_route: tuple[RouteStats, ...]
    acknowledgements: tuple[Acknowledgement, ...]
    actions: tuple[Action, ...]
    open_items: tuple[OpenItem, ...]
    headline: Headline
    previous: Headline | None
    account_names: dict[str, str]
