"""The report's JSON form (the contract's keys, and more) and CSV form (one row per failure
streak), and the SHA-256 that the HTML prints so a copy can be checked later. Pure.

The hash covers the JSON form without `generated_at` (and without `sha256` itself), serialised
with sorted keys, no spaces and UTF-8 as is: a past period's report made again from the same
store hashes the same. The document holds no floats, so any JSON tool reproduces the bytes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from bot.models import Scope
from bot.models.evidence import DayFigures
from bot.render.spreadsheet import safe_cell
from bot.report.figures import Action, Stats
from bot.report.model import Acknowledgement, Headline, OpenItem, Report, Streak
from bot.report.period import Period
from bot.util.clock import iso

UNHASHED = ("generated_at", "sha256")
STREAK_COLUMNS = (
    "account_id",
    "account_name",
    "region",
    "association_id",
    "association_name",
    "document_name",
    "failure_kind",
    "started_at",
    "ended_at",
    "ended_how",
    "resolve_seconds",
    "routes",
    "source",
)


def report_json(report: Report) -> dict[str, Any]:
    """The JSON form, `sha256` included."""
    names = report.account_names
    document: dict[str, Any] = {
        "period": _period(report.period, report.deployment.timezone),
        "previous_period": _period(report.previous_period, report.deployment.timezone),
        "generated_at": iso(report.generated_at),
        "version": report.version,
        "scope": {
            "accounts": "org"
            if report.deployment.organisation
            else list(report.deployment.accounts),
            "regions": list(report.deployment.regions),
            "sweep_schedule": report.deployment.sweep_schedule,
            "account_regions_swept": report.deployment.scopes_seen,
        },
        "coverage": {
            "sweeps": report.coverage.sweeps,
            "full_sweeps": report.coverage.full_sweeps,
            "gap_threshold_seconds": _seconds(report.coverage.threshold),
            "monitored_seconds": _monitored(report),
            "scopes": [
                {
                    **_scope(s.scope, names),
                    "sweeps": s.sweeps,
                    "ok": s.ok,
                    "gaps": s.gaps,
                }
                for s in report.coverage.scopes
            ],
            "gaps": [
                {
                    "account_id": g.account_id,
                    "region": g.region,
                    "from": iso(g.start),
                    "to": iso(g.end),
                    "seconds": _seconds(g.length),
                }
                for g in report.coverage.gaps
            ],
            "never_swept": [_scope(s, names) for s in report.coverage.never_swept],
            "not_always_swept": [_scope(s, names) for s in report.coverage.not_always_swept],
        },
        "daily": [_day(d) for d in report.daily],
        "streaks": [streak_json(s, names) for s in report.streaks],
        "time_to_resolve": {
            **_stats(report.time_to_resolve),
            "by_kind": {kind: _stats(s) for kind, s in report.by_kind.items()},
            "by_route": [
                {"channel": r.channel or None, **_stats(r.stats)} for r in report.by_route
            ],
        },
        "acknowledgements": [_ack(a) for a in report.acknowledgements],
        "actions": [_action(a) for a in report.actions],
        "open_at_end": len(report.open_items),
        "open_items": [_open(item, names) for item in report.open_items],
        "headline": {
            "current": _headline(report.headline),
            "previous": _headline(report.previous) if report.previous else None,
        },
    }
    document["sha256"] = content_hash(document)
    return document


def content_hash(document: Mapping[str, Any]) -> str:
    """SHA-256 of the document without its unhashed keys, serialised canonically."""
    kept = {k: v for k, v in document.items() if k not in UNHASHED}
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def report_csv(report: Report) -> str:
    """One row per failure streak open during the period, with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(STREAK_COLUMNS)
    for streak in report.streaks:
        row = streak_json(streak, report.account_names)
        writer.writerow(
            [safe_cell(" ".join(row[c]) if c == "routes" else row[c]) for c in STREAK_COLUMNS]
        )
    return buffer.getvalue()


def streak_json(streak: Streak, names: Mapping[str, str]) -> dict[str, Any]:
    r = streak.record
    return {
        "account_id": r.account_id,
        "account_name": r.account_name or names.get(r.account_id),
        "region": r.region,
        "association_id": r.association_id,
        "association_name": r.association_name,
        "document_name": r.document_name,
        "failure_kind": r.failure_kind,
        "started_at": iso(r.started_at),
        "ended_at": iso(streak.ended_at),
        "ended_how": streak.ended_how,
        "resolve_seconds": streak.resolve_seconds,
        "routes": list(streak.routes),
        "source": r.source,
    }


def _monitored(report: Report) -> int:
    span = min(report.period.until, report.generated_at) - report.period.since
    unwatched = sum(
        (g.length for g in report.coverage.gaps if g.account_id is None), start=timedelta()
    )
    return max(0, _seconds(span - unwatched))


def _seconds(span: timedelta) -> int:
    return int(span.total_seconds())


def _period(period: Period, zone: str) -> dict[str, Any]:
    return {"since": iso(period.since), "until": iso(period.until), "timezone": zone}


def _scope(scope: Scope, names: Mapping[str, str]) -> dict[str, Any]:
    return {
        "account_id": scope.account_id,
        "account_name": names.get(scope.account_id),
        "region": scope.region,
    }


def _day(day: DayFigures) -> dict[str, Any]:
    checked = day.securityhub_checks or day.securityhub_error is not None
    return {
        "date": day.day.isoformat(),
        "noncompliant_instances": day.noncompliant_instances,
        "failing": day.failing,
        "acknowledged": day.acknowledged,
        "associations": day.associations,
        "sweeps": day.sweeps,
        "scopes": day.scopes,
        "scopes_failed": day.scopes_failed,
        "sweep_id": day.sweep_id,
        "security_hub": {
            "checks": day.securityhub_checks,
            "agreed": day.securityhub_agreed,
            "failed_instances": day.securityhub_failed_instances,
            "explained": day.securityhub_explained,
            "unexplained": day.securityhub_unexplained,
            "sweep_only": day.securityhub_sweep_only,
            "error": day.securityhub_error,
        }
        if checked
        else None,
    }


def _stats(stats: Stats) -> dict[str, Any]:
    return {
        "count": stats.count,
        "median_seconds": stats.median_seconds,
        "p90_seconds": stats.p90_seconds,
    }


def _ack(ack: Acknowledgement) -> dict[str, Any]:
    r = ack.record
    return {
        "account_id": r.account_id,
        "region": r.region,
        "association_id": r.association_id,
        "by": r.by,
        "by_name": r.by_name,
        "reason": r.reason,
        "from": iso(r.created_at),
        "until": iso(r.until),
        "ended": ack.ended,
        "ended_at": iso(ack.ended_at),
    }


def _action(action: Action) -> dict[str, Any]:
    return {
        "kind": action.kind,
        "account_id": action.key.account_id,
        "region": action.key.region,
        "association_id": action.key.association_id,
        "by": action.by,
        "at": iso(action.at),
        "detail": action.detail,
        "outcome": action.outcome,
        "checked_at": iso(action.checked_at),
    }


def _open(item: OpenItem, names: Mapping[str, str]) -> dict[str, Any]:
    row = streak_json(item.streak, names)
    return {
        **{k: row[k] for k in ("account_id", "account_name", "region", "association_id")},
        **{k: row[k] for k in ("association_name", "document_name", "failure_kind", "started_at")},
        "acknowledged_by": item.acknowledged_by,
        "acknowledged_until": iso(item.acknowledged_until),
    }


def _headline(headline: Headline) -> dict[str, Any]:
    values = asdict(headline)
    values["monitored_per_mille"] = round(values.pop("monitored_share") * 1000)
    return values
