"""What the evidence report reads beyond streaks: every read of each account-region, each day's
figures, and the summaries that let the bulky per-sweep rows go.

Summaries are derived, never typed in: `summarise` writes, for each day that has closed, the
day's figures (daily_figures, days in SSM3_TIMEZONE) and each account-region's reads of each UTC
day (scope_days: when, and whether it was swept). The report reads a summary where one exists
and the raw rows (sweeps, sweep_scopes, securityhub_checks) otherwise, so the two give the same
figures and `prune` may drop raw rows that are summarised.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.models.evidence import DayFigures, Read
from bot.store.db import Database
from bot.util.clock import iso, parse_iso

SETTLE = timedelta(hours=6)  # a day is summarised this long after it ends: its sweeps are done
DAY = timedelta(days=1)
_SWEEPS = (
    "SELECT w.id, w.started_at, w.coverage, w.associations, w.failing, w.acknowledged, "
    "w.noncompliant_instances, w.scopes, w.scopes_failed, c.sweep_id AS checked, "
    "c.failed_instances, c.explained, json_array_length(coalesce(c.unexplained, '[]')) AS "
    "unexplained, json_array_length(coalesce(c.sweep_only, '[]')) AS sweep_only, c.error "
    "FROM sweeps w LEFT JOIN securityhub_checks c ON c.sweep_id = w.id "
    "WHERE w.finished_at IS NOT NULL AND coalesce(w.coverage, 'full') IN ('full', 'triage') "
    "AND w.started_at >= ? AND w.started_at < ? ORDER BY w.started_at, w.rowid"
)
_READS = (  # a read is dated by its sweep's start: the time every surface goes by
    "SELECT s.account_id, s.region, w.started_at AS at, s.ok "
    "FROM sweeps w JOIN sweep_scopes s ON s.sweep_id = w.id "
    "WHERE w.started_at >= ? AND w.started_at < ? "
    "UNION ALL SELECT '*', '*', started_at, coalesce(coverage, 'full') = 'full' FROM sweeps "
    "WHERE finished_at IS NOT NULL AND coalesce(coverage, 'full') IN ('full', 'triage') "
    "AND started_at >= ? AND started_at < ?"
)


class Evidence:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- summarising ----------------------------------------------------------------------------
    def summarise(self, zone: ZoneInfo, now: datetime) -> int:
        """Summarise every closed day not summarised yet; how many summary rows were written."""
        return self._summarise_days(zone, now) + self._summarise_reads(now)

    def _summarise_days(self, zone: ZoneInfo, now: datetime) -> int:
        first = self.db.rows("SELECT min(started_at) AS at FROM sweeps")[0]["at"]
        if first is None:
            return 0
        first_day = _local(parse_iso(first), zone)
        last = self.db.rows(
            "SELECT max(day) AS day FROM daily_figures WHERE zone = ?", (zone.key,)
        )[0]["day"]
        start = first_day if last is None else max(first_day, date.fromisoformat(last) + DAY)
        # Days summarised in another zone (SSM3_TIMEZONE changed) are redone while raw rows last.
        other = self.db.rows(
            "SELECT min(day) AS day FROM daily_figures WHERE zone != ? AND day >= ?",
            (zone.key, first_day.isoformat()),
        )[0]["day"]
        if other is not None:
            start = min(start, date.fromisoformat(other))
        end = _local(now - SETTLE, zone)  # the first day not closed
        if start >= end:
            return 0
        figures = self._days_from_raw(zone, _midnight(start, zone), _midnight(end, zone))
        with self.db.write():
            self.db.insert_many("daily_figures", [_figures_row(f) for f in figures])
        return len(figures)

    def _summarise_reads(self, now: datetime) -> int:
        first = self.db.rows("SELECT min(started_at) AS at FROM sweeps")[0]["at"]
        if first is None:
            return 0
        last = self.db.rows("SELECT max(day) AS day FROM scope_days")[0]["day"]
        start = _utc_day(first) if last is None else date.fromisoformat(last) + DAY
        end = (now - SETTLE).astimezone(UTC).date()
        if start >= end:
            return 0
        grouped: dict[tuple[str, str, str], list[list[int]]] = defaultdict(list)
        for read in self._raw_reads(_utc_midnight(start), _utc_midnight(end)):
            key = (read.at.date().isoformat(), read.account_id, read.region)
            grouped[key].append([int(read.at.timestamp()), int(read.ok)])
        rows = [
            {"day": day, "account_id": a, "region": r, "reads": json.dumps(reads)}
            for (day, a, r), reads in grouped.items()
        ]
        with self.db.write():
            self.db.insert_many("scope_days", rows)
        return len(rows)

    # -- reading --------------------------------------------------------------------------------
    def first_sweep_at(self) -> datetime | None:
        """When the oldest sweep the store keeps began."""
        return parse_iso(self.db.rows("SELECT min(started_at) AS at FROM sweeps")[0]["at"])

    def reads(self, since: datetime, until: datetime) -> list[Read]:
        """Every read of an account-region, and every sweep (account and region FLEET), that
        began in [since, until), in time order: from summaries where a day has one."""
        first, last = _utc_day(iso(since) or ""), _utc_day(iso(until) or "")
        summarised = self.db.rows(
            "SELECT * FROM scope_days WHERE day >= ? AND day <= ?",
            (first.isoformat(), last.isoformat()),
        )
        found: list[Read] = []
        days: set[str] = set()
        for row in summarised:
            days.add(row["day"])
            for at, ok in json.loads(row["reads"]):
                found.append(
                    Read(row["account_id"], row["region"], datetime.fromtimestamp(at, UTC), ok == 1)
                )
        # Summarised days run from the first kept day to the last summarised one: only later
        # days need the raw rows.
        raw_since = (
            max(since, _utc_midnight(date.fromisoformat(max(days))) + DAY) if days else since
        )
        found += [
            r for r in self._raw_reads(raw_since, until) if r.at.date().isoformat() not in days
        ]
        kept = [r for r in found if since <= r.at < until]
        kept.sort(key=_when)
        return kept

    def scopes_read(self, since: datetime, until: datetime) -> set[tuple[str, str]]:
        """The account-regions read (well or not) at some moment of [since, until), by day."""
        first, last = _utc_day(iso(since) or ""), _utc_day(iso(until) or "")
        found = {
            (r["account_id"], r["region"])
            for r in self.db.rows(
                "SELECT DISTINCT account_id, region FROM scope_days WHERE day >= ? AND day <= ? "
                "AND account_id != '*'",
                (first.isoformat(), last.isoformat()),
            )
        }
        found |= {
            (r["account_id"], r["region"])
            for r in self.db.rows(
                "SELECT DISTINCT s.account_id, s.region FROM sweeps w "
                "JOIN sweep_scopes s ON s.sweep_id = w.id WHERE w.started_at >= ? AND w.started_at < ?",
                (iso(since), iso(until)),
            )
        }
        return found

    def _raw_reads(self, since: datetime, until: datetime) -> list[Read]:
        moments = (iso(since), iso(until))
        rows = self.db.rows(_READS, (*moments, *moments))
        return [
            Read(r["account_id"], r["region"], parse_iso(r["at"]), bool(r["ok"]))  # type: ignore[arg-type]
            for r in rows
        ]

    def days(
        self, zone: ZoneInfo, since: datetime, until: datetime, now: datetime
    ) -> list[DayFigures]:
        """Each day of [since, until) that had a sweep (days in `zone`), with its last sweep's
        figures: a closed whole day from its summary, any other from the raw rows."""
        first, last = _local(since, zone), _local(until - timedelta(microseconds=1), zone)
        stored = {
            row["day"]: row
            for row in self.db.rows(
                "SELECT * FROM daily_figures WHERE day >= ? AND day <= ?",
                (first.isoformat(), last.isoformat()),
            )
        }
        closed = _local(now - SETTLE, zone)
        found: list[DayFigures] = []
        raw_from: datetime | None = None
        day = first
        while day <= last:
            start, end = _midnight(day, zone), _midnight(day + DAY, zone)
            whole = since <= start and end <= until and day < closed
            if whole and day.isoformat() in stored:
                found += self._days_from_raw(zone, raw_from, start) if raw_from else []
                raw_from = None
                found.append(_figures(stored[day.isoformat()]))
            elif raw_from is None:
                raw_from = max(start, since)
            day += DAY
        if raw_from is not None:
            found += self._days_from_raw(zone, raw_from, until)
        return found

    def _days_from_raw(self, zone: ZoneInfo, since: datetime, until: datetime) -> list[DayFigures]:
        by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
        for row in self.db.rows(_SWEEPS, (iso(since), iso(until))):
            by_day[_local(parse_iso(row["started_at"]), zone)].append(row)
        return [_day_figures(day, zone, rows) for day, rows in sorted(by_day.items())]

    # -- pruning --------------------------------------------------------------------------------
    def prune(
        self, now: datetime, *, raw_days: int, sweep_days: int, summary_days: int
    ) -> dict[str, int]:
        """Drop per-scope sweep rows older than `raw_days` and sweeps older than `sweep_days`
        once summarised (the latest sweep always stays), and summaries older than
        `summary_days`; how many rows went from each table."""
        reads_through = self._summarised_through("scope_days")
        days_through = self._summarised_through("daily_figures")
        raw = min(now - timedelta(days=raw_days), reads_through, days_through)
        old = min(now - timedelta(days=sweep_days), reads_through, days_through)
        keep_summaries = (now - timedelta(days=summary_days)).date().isoformat()
        gone: dict[str, int] = {}
        with self.db.write():
            for table in ("sweep_scopes", "securityhub_checks"):
                gone[table] = self.db.execute(
                    f"DELETE FROM {table} WHERE sweep_id IN "  # noqa: S608
                    "(SELECT id FROM sweeps WHERE started_at < ?)",
                    (iso(raw),),
                )
            gone["sweeps"] = self.db.execute(
                "DELETE FROM sweeps WHERE started_at < ? AND id != "
                "(SELECT id FROM sweeps ORDER BY started_at DESC, rowid DESC LIMIT 1)",
                (iso(old),),
            )
            for table in ("daily_figures", "scope_days"):
                gone[table] = self.db.execute(
                    f"DELETE FROM {table} WHERE day < ?",  # noqa: S608
                    (keep_summaries,),
                )
        return gone

    def _summarised_through(self, table: str) -> datetime:
        """The moment before which every raw row belongs to a summarised day of `table`: the
        end of its last summarised day (days are summarised whole and in order, so every day
        before it is summarised too); the epoch when nothing is, so nothing may go."""
        rows = self.db.rows(
            f"SELECT day, {'zone' if table == 'daily_figures' else chr(39) + 'UTC' + chr(39)} "  # noqa: S608
            f"AS zone FROM {table} ORDER BY day DESC LIMIT 1"
        )
        if not rows:
            return datetime(1970, 1, 1, tzinfo=UTC)
        last = date.fromisoformat(rows[0]["day"])
        return _midnight(last + DAY, ZoneInfo(rows[0]["zone"]))


def _when(read: Read) -> tuple[datetime, str, str]:
    """Time order; at one moment the whole sweep ("*") first, then account-regions."""
    return read.at, read.account_id, read.region


def _local(moment: datetime | None, zone: ZoneInfo) -> date:
    assert moment is not None
    return moment.astimezone(zone).date()


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _utc_day(text: str) -> date:
    return date.fromisoformat(text[:10])


def _day_figures(day: date, zone: ZoneInfo, rows: Sequence[Mapping[str, Any]]) -> DayFigures:
    """A day's figures from its sweeps (oldest first): the last full sweep's (a triage sweep
    reads only part of the estate), else the last sweep's; Security Hub's agreement."""
    full = [r for r in rows if (r["coverage"] or "full") == "full"]
    pick = (full or list(rows))[-1]
    checks = [r for r in rows if r["checked"] is not None]
    good = [r for r in checks if r["error"] is None]
    last = checks[-1] if checks else None
    return DayFigures(
        day=day,
        zone=zone.key,
        sweeps=len(rows),
        sweep_id=pick["id"],
        at=parse_iso(pick["started_at"]),  # type: ignore[arg-type]
        associations=pick["associations"] or 0,
        failing=pick["failing"] or 0,
        acknowledged=pick["acknowledged"] or 0,
        noncompliant_instances=pick["noncompliant_instances"] or 0,
        scopes=pick["scopes"] or 0,
        scopes_failed=pick["scopes_failed"] or 0,
        securityhub_checks=len(good),
        securityhub_agreed=sum(1 for r in good if r["unexplained"] == 0 and r["sweep_only"] == 0),
        securityhub_failed_instances=last["failed_instances"] if last else None,
        securityhub_explained=last["explained"] if last else None,
        securityhub_unexplained=last["unexplained"] if last else None,
        securityhub_sweep_only=last["sweep_only"] if last else None,
        securityhub_error=last["error"] if last else None,
    )


_FIGURES = (
    "sweeps",
    "sweep_id",
    "associations",
    "failing",
    "acknowledged",
    "noncompliant_instances",
    "scopes",
    "scopes_failed",
    "securityhub_checks",
    "securityhub_agreed",
    "securityhub_failed_instances",
    "securityhub_explained",
    "securityhub_unexplained",
    "securityhub_sweep_only",
    "securityhub_error",
)


def _figures_row(figures: DayFigures) -> dict[str, Any]:
    row = {name: getattr(figures, name) for name in _FIGURES}
    return {"day": figures.day.isoformat(), "zone": figures.zone, "at": iso(figures.at), **row}


def _figures(row: Mapping[str, Any]) -> DayFigures:
    values = {name: row[name] for name in _FIGURES}
    return DayFigures(
        day=date.fromisoformat(row["day"]),
        zone=row["zone"],
        at=parse_iso(row["at"]),  # type: ignore[arg-type]
        **values,
    )
