"""What the evidence report reads from the store: failure streaks, reads of each account-region,
each day's figures and acknowledgements as they were. Plain, frozen data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

StreakEnd = Literal["resolved", "deleted", "unswept"]
StreakSource = Literal["recorded", "backfill"]
FLEET = "*"  # the account and region of a whole sweep's read, beside each account-region's


@dataclass(frozen=True)
class StreakRecord:
    """One failing streak of one association: from its first failure to the sweep that saw it
    compliant again (`resolved`), deleted, or no longer swept; `ended_at` None: still open."""

    account_id: str
    region: str
    association_id: str
    association_name: str | None
    document_name: str
    failure_kind: str | None  # execution | reported; None: not known (a backfilled streak)
    started_at: datetime
    ended_at: datetime | None
    ended_how: StreakEnd | None
    source: StreakSource  # backfill: rebuilt by a migration from older tables
    account_name: str | None = None  # from Organizations, where known


@dataclass(frozen=True)
class Read:
    """One read of an account-region (`ok`: it was swept), or, with account and region FLEET,
    one sweep of the whole configuration (`ok`: a full sweep, not a triage one)."""

    account_id: str
    region: str
    at: datetime
    ok: bool


@dataclass(frozen=True)
class DayFigures:
    """A day's figures (in the zone it was summarised in): its last sweep's, and how Security
    Hub's SSM.3 findings agreed with the day's sweeps."""

    day: date
    zone: str
    sweeps: int
    sweep_id: str
    at: datetime
    associations: int
    failing: int
    acknowledged: int
    noncompliant_instances: int
    scopes: int
    scopes_failed: int
    securityhub_checks: int  # the day's sweeps that read Security Hub without an error
    securityhub_agreed: int  # of those, the ones where every failing instance matched
    securityhub_failed_instances: int | None  # the last check's figures (None: no check)
    securityhub_explained: int | None
    securityhub_unexplained: int | None
    securityhub_sweep_only: int | None
    securityhub_error: str | None


@dataclass(frozen=True)
class AckRecord:
    """An acknowledgement as recorded, however it ended."""

    account_id: str
    region: str
    association_id: str
    by: str
    by_name: str | None
    reason: str
    created_at: datetime
    until: datetime | None
    ended_at: datetime | None
    end_reason: str | None  # expired, unacknowledged, resolved, replaced, deleted, unswept
