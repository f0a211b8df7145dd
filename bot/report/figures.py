"""The report's arithmetic, as pure functions of what the store read: monitoring gaps and
coverage, time-to-resolve statistics, and re-runs and fixes with their confirmed outcomes."""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import pairwise

from bot.models import AssociationKey, AuditEntry, Scope
from bot.models.evidence import FLEET, Read

ACTION_KINDS = ("rerun", "fix")
CHECK = "rerun_check"  # the audit entry of a re-run's or a fix's confirmed outcome
OUTCOMES = ("compliant", "still_failing", "pending", "unknown")
NOT_TAKEN = ("refused", "failed", "error", "denied")  # an attempt that changed nothing
_OUTCOME_IN_TEXT = re.compile(r"\boutcome\s*[:=]\s*\"?([a-z_]+)")


@dataclass(frozen=True)
class Gap:
    """No sweep (account_id None: of the whole configuration) from `start` to `end`."""

    account_id: str | None
    region: str | None
    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True)
class ScopeCoverage:
    scope: Scope
    sweeps: int  # reads of it (a triage sweep may leave it out)
    ok: int  # reads that swept it
    gaps: int


@dataclass(frozen=True)
class Coverage:
    sweeps: int  # full and triage sweeps started in the period
    full_sweeps: int
    scopes: tuple[ScopeCoverage, ...]
    gaps: tuple[Gap, ...]  # the whole configuration's first, then each account-region's
    never_swept: tuple[Scope, ...]
    not_always_swept: tuple[Scope, ...]
    threshold: timedelta
    monitored_share: float  # of the period, the part outside the whole configuration's gaps


@dataclass(frozen=True)
class Stats:
    count: int
    median_seconds: int | None
    p90_seconds: int | None


@dataclass(frozen=True)
class Action:
    kind: str  # rerun | fix
    key: AssociationKey
    by: str
    at: datetime
    detail: str | None
    outcome: str | None  # the confirmed outcome by the period's end (None: none by then)
    checked_at: datetime | None


def gaps_between(
    moments: Sequence[datetime], start: datetime, end: datetime, threshold: timedelta
) -> list[tuple[datetime, datetime]]:
    """Stretches of [start, end] longer than `threshold` with none of `moments` (sorted) in
    them; the period's own edges count as moments, so a stretch is measured within it."""
    points = [start, *(m for m in moments if start <= m <= end), end]
    return [(a, b) for a, b in pairwise(points) if b - a > threshold]


def _covered(
    span: tuple[datetime, datetime], gaps: Sequence[tuple[datetime, datetime]]
) -> timedelta:
    a, b = span
    return sum((min(b, d) - max(a, c) for c, d in gaps if min(b, d) > max(a, c)), start=timedelta())


def coverage_of(
    reads: Iterable[Read],
    expected: Iterable[Scope],
    start: datetime,
    end: datetime,
    threshold: timedelta,
) -> Coverage:
    """Sweeps run, reads of each account-region, and the gaps longer than `threshold` in
    [start, end]. An account-region's gap is listed only where it is not the whole
    configuration's (more than `threshold` of it fell outside the fleet's gaps)."""
    fleet: list[Read] = []
    by_scope: dict[Scope, list[Read]] = defaultdict(list)
    for read in reads:
        if read.account_id == FLEET:
            fleet.append(read)
        else:
            by_scope[Scope(read.account_id, read.region)].append(read)
    for scope in expected:
        by_scope.setdefault(scope, [])
    fleet_gaps = gaps_between([r.at for r in fleet], start, end, threshold)
    gaps = [Gap(None, None, a, b) for a, b in fleet_gaps]
    scopes: list[ScopeCoverage] = []
    never: list[Scope] = []
    partly: list[Scope] = []
    for scope in sorted(by_scope):
        found = by_scope[scope]
        ok = [r.at for r in found if r.ok]
        own = [
            (a, b)
            for a, b in gaps_between(ok, start, end, threshold)
            if (b - a) - _covered((a, b), fleet_gaps) > threshold
        ]
        gaps += [Gap(scope.account_id, scope.region, a, b) for a, b in own]
        scopes.append(ScopeCoverage(scope, len(found), len(ok), len(own)))
        if not ok:
            never.append(scope)
        elif own or len(ok) < len(found):
            partly.append(scope)
    span = end - start
    unwatched = sum((b - a for a, b in fleet_gaps), start=timedelta())
    return Coverage(
        sweeps=len(fleet),
        full_sweeps=sum(1 for r in fleet if r.ok),
        scopes=tuple(scopes),
        gaps=tuple(gaps),
        never_swept=tuple(never),
        not_always_swept=tuple(partly),
        threshold=threshold,
        monitored_share=1.0 if span <= timedelta() else max(0.0, 1 - unwatched / span),
    )


def stats(seconds: Iterable[float]) -> Stats:
    """Count, median and 90th percentile (nearest rank: the smallest value at or above 90% of
    them), in whole seconds."""
    ordered = sorted(seconds)
    if not ordered:
        return Stats(0, None, None)
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]
    return Stats(len(ordered), round(statistics.median(ordered)), round(p90))


def actions_taken(entries: Iterable[AuditEntry], until: datetime) -> list[Action]:
    """Re-runs and fixes taken (refused and failed attempts changed nothing), each with the
    outcome of the first check that followed it on its association before the next action
    there, as the audit log had it by `until`. `entries` in any order, from the period's start."""
    taken: list[Action] = []
    pending: dict[AssociationKey, int] = {}  # association -> its latest action awaiting a check
    for entry in sorted(entries, key=lambda e: (e.at, e.id)):
        if entry.at >= until or entry.account_id is None:
            continue
        key = AssociationKey(entry.account_id, entry.region or "", entry.association_id or "")
        if entry.action in ACTION_KINDS and entry.outcome not in NOT_TAKEN:
            pending[key] = len(taken)
            taken.append(Action(entry.action, key, entry.actor, entry.at, entry.detail, None, None))
        elif entry.action == CHECK and key in pending:
            index = pending.pop(key)
            outcome = checked_outcome(entry)
            taken[index] = replace(taken[index], outcome=outcome, checked_at=entry.at)
    return taken


def checked_outcome(entry: AuditEntry) -> str | None:
    """A check's outcome: its `outcome` column when it names one, else the `outcome` its
    detail names (`{"outcome": "compliant"}` or `outcome: compliant`)."""
    if entry.outcome in OUTCOMES:
        return entry.outcome
    detail = entry.detail or ""
    try:
        parsed = json.loads(detail)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("outcome") in OUTCOMES:
        return str(parsed["outcome"])
    found = _OUTCOME_IN_TEXT.search(detail)
    return found.group(1) if found and found.group(1) in OUTCOMES else None
