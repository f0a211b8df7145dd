"""The last fortnight at a glance: failing associations and non-compliant instances a day,
from stored sweeps, drawn as a text sparkline. Pure: the store reads the sweeps, this judges.

A day's figure is its last whole sweep: the latest finished one among that day's sweeps of
the most account-regions, so a sweep of one scope (a re-read after an event) never stands
for the whole estate. A day without a finished sweep has no figure and shows as a gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.models import SweepSummary

TREND_DAYS = 14
BARS = "▁▂▃▄▅▆▇█"
GAP = "·"


@dataclass(frozen=True)
class Trend:
    """One figure a day, oldest first, ending today (None: no whole sweep that day)."""

    days: tuple[date, ...]
    failing: tuple[int | None, ...]
    noncompliant: tuple[int | None, ...]

    @property
    def known(self) -> int:
        """Days that have a figure."""
        return sum(1 for value in self.failing if value is not None)


def since(now: datetime, zone: ZoneInfo | None = None, days: int = TREND_DAYS) -> datetime:
    """The start of the first day of the trend that ends today (in `zone`): what to read."""
    tz = zone or UTC
    first = now.astimezone(tz).date() - timedelta(days=days - 1)
    return datetime.combine(first, datetime.min.time(), tzinfo=tz)


def daily(
    sweeps: Iterable[SweepSummary],
    *,
    now: datetime,
    zone: ZoneInfo | None = None,
    days: int = TREND_DAYS,
) -> Trend:
    """Each of the `days` days ending today (in `zone`) with its last whole sweep's figures."""
    tz = zone or UTC
    today = now.astimezone(tz).date()
    span = tuple(today - timedelta(days=days - 1 - n) for n in range(days))
    best: dict[date, tuple[tuple[int, datetime], SweepSummary]] = {}
    for sweep in sweeps:
        finished = sweep.finished_at
        if finished is None or finished > now:
            continue
        day = finished.astimezone(tz).date()
        rank = (sweep.scopes, finished)
        if day >= span[0] and (day not in best or rank > best[day][0]):
            best[day] = (rank, sweep)
    chosen = {day: sweep for day, (_, sweep) in best.items()}
    return Trend(
        days=span,
        failing=tuple(chosen[d].failing if d in chosen else None for d in span),
        noncompliant=tuple(chosen[d].noncompliant_instances if d in chosen else None for d in span),
    )


def sparkline(values: Sequence[int | None]) -> str:
    """One character a value: ▁ for 0, ▂ to █ for the rest in proportion to the largest,
    and · for a missing value. Any non-zero value shows above zero."""
    peak = max((v for v in values if v is not None), default=0)
    out = []
    for value in values:
        if value is None:
            out.append(GAP)
        elif value <= 0 or peak <= 0:
            out.append(BARS[0])
        else:
            # 1..peak onto the 7 bars above the zero bar, rounding up so small values show.
            level = -(-value * (len(BARS) - 1) // peak)
            out.append(BARS[max(1, min(len(BARS) - 1, level))])
    return "".join(out)


def change(values: Sequence[int | None]) -> tuple[int, int] | None:
    """The first and last known values, or None with fewer than two."""
    known = [v for v in values if v is not None]
    return (known[0], known[-1]) if len(known) >= 2 else None
