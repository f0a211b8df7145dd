"""The evidence report over a simulated month (tests/support/evidence.py: November 2026 in
Berlin against the simulator): its coverage, streaks, time to resolve, acknowledgements, re-runs,
daily figures and gaps equal what the month arranged; the HTML is one self-contained file; the
figures come out the same from the summaries once the raw sweep rows are pruned; and the
scheduled post goes out once, for November."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.report import build_report, render
from bot.report.posting import RAW_DAYS, ReportPoster
from bot.store import Store
from bot.util.clock import iso
from tests.support.evidence import (
    BERLIN,
    CHANNEL,
    NOVEMBER,
    OPERATOR,
    REPORT_SLOT,
    Month,
    live_a_month,
    local,
)


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Month]:
    lived, server = live_a_month(tmp_path_factory.mktemp("month"))
    yield lived
    server.stop()
    lived.store.close()


@pytest.fixture(scope="module")
def document(month: Month) -> dict[str, Any]:
    text, _ = render(build_report(month.store, month.settings, NOVEMBER, REPORT_SLOT), "json")
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def seconds(a: datetime, b: datetime) -> int:
    return int((b - a).total_seconds())


def check_coverage_counts_the_sweeps_that_ran_and_the_gaps_the_month_left(
    month: Month, document: dict[str, Any], tmp_path: Path
) -> None:
    ran = [t for t in month.sweeps if NOVEMBER.since <= t < NOVEMBER.until]
    assert len(ran) == 30 * 4 - len(month.skipped)
    coverage = document["coverage"]
    assert coverage["sweeps"] == coverage["full_sweeps"] == len(ran)
    assert coverage["gap_threshold_seconds"] == 12 * 3600
    unswept = (month.unswept.account_id, month.unswept.region)
    by_scope = {(s["account_id"], s["region"]): s for s in coverage["scopes"]}
    assert len(by_scope) == 4
    for key, scope in by_scope.items():
        failed = len(month.unswept_reads) if key == unswept else 0
        assert (scope["sweeps"], scope["ok"]) == (len(ran), len(ran) - failed)
    # Nothing ran on the 25th after midnight; the unswept account-region's last good read was
    # the 17th at 18:00 and the next the 19th at midnight.
    assert coverage["gaps"] == [
        {
            "account_id": None,
            "region": None,
            "from": iso(local(25, 0)),
            "to": iso(local(26, 0)),
            "seconds": 24 * 3600,
        },
        {
            "account_id": month.unswept.account_id,
            "region": month.unswept.region,
            "from": iso(local(17, 18)),
            "to": iso(local(19, 0)),
            "seconds": 30 * 3600,
        },
    ]
    assert coverage["never_swept"] == []
    assert [(s["account_id"], s["region"]) for s in coverage["not_always_swept"]] == [unswept]
    watched = seconds(NOVEMBER.since, NOVEMBER.until) - 24 * 3600
    assert coverage["monitored_seconds"] == watched
    assert document["headline"]["current"]["monitored_per_mille"] == round(
        1000 * watched / seconds(NOVEMBER.since, NOVEMBER.until)
    )


def check_every_streak_open_in_the_month_with_its_start_end_kind_and_time_to_resolve(
    month: Month, document: dict[str, Any], tmp_path: Path
) -> None:
    streaks = {s["association_id"]: s for s in document["streaks"]}
    assert set(streaks) == {f.association_id for f in month.failures.values()} | set(month.baseline)
    for failure in month.failures.values():
        streak = streaks[failure.association_id]
        assert streak["failure_kind"] == failure.kind
        assert streak["started_at"] == iso(failure.started_at)
        assert streak["ended_at"] == iso(failure.ended_at)
        assert streak["ended_how"] == "resolved"
        assert streak["resolve_seconds"] == failure.resolve_seconds
        assert streak["source"] == "recorded"
    for association_id in month.baseline:  # failing since before the month, never fixed
        streak = streaks[association_id]
        assert streak["started_at"] < iso(NOVEMBER.since)  # type: ignore[operator]
        assert (streak["ended_at"], streak["resolve_seconds"]) == (None, None)
    assert document["open_at_end"] == len(month.baseline)
    assert {i["association_id"] for i in document["open_items"]} == set(month.baseline)


def check_time_to_resolve_is_the_median_and_90th_percentile_of_the_arranged_failures(
    month: Month, document: dict[str, Any], tmp_path: Path
) -> None:
    f = month.failures
    # Resolved in: B 10 h, D 32 h, E 48 h, A 50 h, C 8 d 3 h.
    assert sorted(x.resolve_seconds for x in f.values()) == [
        10 * 3600,
        32 * 3600,
        48 * 3600,
        50 * 3600,
        (8 * 24 + 3) * 3600,
    ]
    ttr = document["time_to_resolve"]
    assert (ttr["count"], ttr["median_seconds"], ttr["p90_seconds"]) == (
        5,
        f["E"].resolve_seconds,  # the middle of five
        f["C"].resolve_seconds,  # nearest rank: the 5th of 5 (ceil(4.5))
    )
    execution = sorted(x.resolve_seconds for x in f.values() if x.kind == "execution")
    assert ttr["by_kind"] == {
        "execution": {
            "count": 4,
            "median_seconds": (execution[1] + execution[2]) // 2,
            "p90_seconds": execution[3],
        },
        "reported": {"count": 1, "median_seconds": 48 * 3600, "p90_seconds": 48 * 3600},
    }


def check_each_day_has_its_last_sweeps_figures_as_the_month_arranged_them(
    month: Month, document: dict[str, Any], tmp_path: Path
) -> None:
    daily = {d["date"]: d for d in document["daily"]}
    assert len(daily) == 30  # a sweep every day, the 25th's at midnight only
    for day in range(1, 31):
        ran = [
            t
            for t in month.sweeps
            if NOVEMBER.since <= t < NOVEMBER.until and t.astimezone(BERLIN).day == day
        ]
        last = max(ran)
        active = month.active_at(last)
        figures = daily[f"2026-11-{day:02d}"]
        assert figures["sweeps"] == len(ran)
        assert figures["failing"] == len(month.baseline) + len(active), day
        assert figures["noncompliant_instances"] == month.baseline_instances + len(
            {f.instance_id for f in active}
        ), day
        assert figures["scopes_failed"] == (1 if last in month.unswept_reads else 0)
        hub = figures["security_hub"]
        assert hub["checks"] == hub["agreed"] == len(ran)
        assert hub["failed_instances"] == figures["noncompliant_instances"]
        assert (hub["unexplained"], hub["sweep_only"], hub["error"]) == (0, 0, None)
    assert daily["2026-11-25"]["sweeps"] == 1


def check_acknowledgements_and_how_each_ended(
    month: Month, document: dict[str, Any], tmp_path: Path
) -> None:
    found = {a["association_id"]: a for a in document["acknowledgements"]}
    assert set(found) == set(month.acked)
    for association_id, (start, until, how, ended) in month.acked.items():
        ack = found[association_id]
        assert (ack["by"], ack["from"], ack["until"]) == (OPERATOR, iso(start), iso(until))
        assert (ack["ended"], ack["ended_at"]) == (how, iso(ended))
    headline = document["headline"]["current"]
    assert (headline["acknowledgements_made"], headline["acknowledgements_expired"]) == (3, 1)


def check_the_rerun_and_its_confirmed_outcome(
    month: Month, document: dict[str, Any], tmp_path: Path
) -> None:
    association_id, at, checked = month.rerun
    assert document["actions"] == [
        {
            "kind": "rerun",
            "account_id": month.fleet.caller_account,
            "region": "us-east-1",
            "association_id": association_id,
            "by": OPERATOR,
            "at": iso(at),
            "detail": None,
            "outcome": "compliant",
            "checked_at": iso(checked),
        }
    ]


def check_the_html_is_one_self_contained_file_with_its_footer(
    month: Month, document: dict[str, Any], tmp_path: Path
) -> None:
    html, sha = render(build_report(month.store, month.settings, NOVEMBER, REPORT_SLOT), "html")
    assert sha == document["sha256"]
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<link" not in lowered
    assert "@import" not in lowered
    references = re.findall(r"""(?:src|href|xlink:href)\s*=\s*["']?([^"'\s>]+)""", html, re.I)
    assert not [r for r in references if not r.startswith("#")], references
    assert not re.findall(r"url\(", lowered)
    assert "http://" not in lowered
    assert "https://" not in lowered
    assert html.count("<svg") == html.count("</svg>") == 1  # the daily chart, inline
    footer = html.split("<footer>", 1)[1]
    for text in (
        "2026-11-01 00:00 to 2026-12-01 00:00 (Europe/Berlin)",
        "eu-west-1, us-east-1",
        "2026-12-01 09:00 (Europe/Berlin)",
        "ssm3-bot 0.1.0",
        sha,
    ):
        assert text in footer, text
    assert "SSM.3 evidence report: November 2026" in html
    assert "compared with October 2026" in html


def check_csv_has_one_row_per_streak(
    month: Month, document: dict[str, Any], tmp_path: Path
) -> None:
    text, _ = render(build_report(month.store, month.settings, NOVEMBER, REPORT_SLOT), "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["association_id"] for r in rows] == [s["association_id"] for s in document["streaks"]]
    assert {r["resolve_seconds"] for r in rows} == {
        str(s["resolve_seconds"] or "") for s in document["streaks"]
    }


def check_the_same_period_made_again_later_and_after_pruning_hashes_the_same(
    month: Month, document: dict[str, Any], tmp_path: Path
) -> None:
    copy = tmp_path / "copy.db"
    with sqlite3.connect(month.path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    store = Store(copy)
    try:
        later = REPORT_SLOT + timedelta(days=RAW_DAYS + 10)
        poster = ReportPoster(
            settings=month.settings, store=store, publisher=None, clock=lambda: later
        )
        before = _count(copy, "sweep_scopes")
        gone = poster.upkeep()
        assert gone["sweep_scopes"] > 0
        assert _count(copy, "sweep_scopes") < before
        assert _count(copy, "sweep_scopes", "WHERE sweep_id LIKE '202611%'") == 0
        again, _ = render(build_report(store, month.settings, NOVEMBER, later), "json")
        redone = json.loads(again)
        assert redone["generated_at"] == iso(later)
        assert redone["sha256"] == document["sha256"]
        assert {k: v for k, v in redone.items() if k != "generated_at"} == {
            k: v for k, v in document.items() if k != "generated_at"
        }
    finally:
        store.close()


def _count(path: Path, table: str, where: str = "") -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(f"SELECT count(*) FROM {table} {where}").fetchone()[0])  # noqa: S608


def check_the_report_is_posted_once_for_november_on_the_first(
    month: Month, document: dict[str, Any], tmp_path: Path
) -> None:
    runner = month.runner
    assert runner.clock() == REPORT_SLOT
    assert runner.reports.post_due()
    assert not runner.reports.post_due()
    [posted] = month.publisher.files
    assert (posted.channel, posted.filename) == (CHANNEL, "ssm3-evidence-2026-11.html")
    assert posted.title == "SSM.3 evidence report: November 2026"
    sha = re.search(r"`([0-9a-f]{64})`", posted.comment)
    assert sha is not None
    assert sha.group(1) in posted.content
    assert "7 failures (5 new, 5 resolved, median 2d), 2 open at the end" in posted.comment
    assert posted.content.startswith("<!DOCTYPE html>")
    assert datetime(2026, 12, 1, 8, tzinfo=UTC) == REPORT_SLOT


def check_every_figure_recomputed_from_the_store_and_the_audit_log(
    month: Month, document: dict[str, Any], tmp_path: Path
) -> None:
    """The report's figures again, from the raw tables with SQL and plain Python: no code of
    the report's own. Anyone holding the database can do the same."""
    since, until = iso(NOVEMBER.since), iso(NOVEMBER.until)
    db = sqlite3.connect(month.path)
    db.row_factory = sqlite3.Row

    def rows(sql: str, *params: object) -> list[sqlite3.Row]:
        return db.execute(sql, params).fetchall()

    sweeps = rows(
        "SELECT * FROM sweeps WHERE finished_at IS NOT NULL AND started_at >= ? AND started_at < ? "
        "ORDER BY started_at",
        since,
        until,
    )
    coverage = document["coverage"]
    assert coverage["sweeps"] == len(sweeps)
    scopes = rows(
        "SELECT s.account_id, s.region, count(*) AS reads, sum(s.ok) AS ok FROM sweep_scopes s "
        "JOIN sweeps w ON w.id = s.sweep_id WHERE w.started_at >= ? AND w.started_at < ? "
        "GROUP BY s.account_id, s.region ORDER BY s.account_id, s.region",
        since,
        until,
    )
    assert [(s["account_id"], s["region"], s["sweeps"], s["ok"]) for s in coverage["scopes"]] == [
        (r["account_id"], r["region"], r["reads"], r["ok"]) for r in scopes
    ]
    starts = [NOVEMBER.since, *(_at(r["started_at"]) for r in sweeps), NOVEMBER.until]
    fleet_gaps = [(a, b) for a, b in itertools.pairwise(starts) if b - a > timedelta(hours=12)]
    assert [(g["from"], g["to"]) for g in coverage["gaps"] if g["account_id"] is None] == [
        (iso(a), iso(b)) for a, b in fleet_gaps
    ]

    streaks = rows(
        "SELECT * FROM failure_streaks WHERE started_at < ? AND (ended_at IS NULL OR ended_at > ?) "
        "ORDER BY started_at, account_id, region, association_id",
        until,
        since,
    )
    assert [s["association_id"] for s in document["streaks"]] == [
        r["association_id"] for r in streaks
    ]
    resolved = sorted(
        int((_at(r["ended_at"]) - _at(r["started_at"])).total_seconds())
        for r in streaks
        if r["ended_how"] == "resolved" and r["ended_at"] < until
    )
    middle = len(resolved) // 2
    median = (
        resolved[middle] if len(resolved) % 2 else (resolved[middle - 1] + resolved[middle]) // 2
    )
    rank = -(-9 * len(resolved) // 10)  # ceil(0.9 n)
    ttr = document["time_to_resolve"]
    assert (ttr["count"], ttr["median_seconds"], ttr["p90_seconds"]) == (
        len(resolved),
        median,
        resolved[rank - 1],
    )
    assert document["open_at_end"] == sum(
        1 for r in streaks if r["ended_at"] is None or r["ended_at"] >= until
    )

    by_day: dict[str, list[sqlite3.Row]] = {}
    for sweep in sweeps:
        by_day.setdefault(
            _at(sweep["started_at"]).astimezone(BERLIN).date().isoformat(), []
        ).append(sweep)
    checks = {r["sweep_id"]: r for r in rows("SELECT * FROM securityhub_checks")}
    assert [d["date"] for d in document["daily"]] == sorted(by_day)
    for day in document["daily"]:
        last = by_day[day["date"]][-1]
        assert (day["sweep_id"], day["failing"], day["noncompliant_instances"]) == (
            last["id"],
            last["failing"],
            last["noncompliant_instances"],
        )
        check = checks[last["id"]]
        assert day["security_hub"]["failed_instances"] == check["failed_instances"]
        agreed = sum(
            1
            for s in by_day[day["date"]]
            if checks[s["id"]]["unexplained"] == "[]" and checks[s["id"]]["sweep_only"] == "[]"
        )
        assert day["security_hub"]["agreed"] == agreed

    acks = rows(
        "SELECT * FROM acks WHERE created_at < ? AND coalesce(ended_at, until) > ? ORDER BY id",
        until,
        since,
    )
    assert [(a["association_id"], a["reason"]) for a in document["acknowledgements"]] == [
        (r["association_id"], r["reason"]) for r in acks
    ]
    audit = rows("SELECT * FROM audit WHERE at >= ? AND at < ? ORDER BY id", since, until)
    started = [r for r in audit if r["action"] in ("rerun", "fix") and r["outcome"] == "started"]
    assert [(a["association_id"], a["at"]) for a in document["actions"]] == [
        (r["association_id"], r["at"]) for r in started
    ]
    for action, entry in zip(document["actions"], started, strict=True):
        check = next(
            r
            for r in audit
            if r["action"] == "rerun_check"
            and r["association_id"] == entry["association_id"]
            and r["id"] > entry["id"]
        )
        assert (action["outcome"], action["checked_at"]) == (check["outcome"], check["at"])
    db.close()


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# One test, so that one worker lives the month once: each check names what it shows, in order
# (the post comes last: it is the only one that changes the store).
CHECKS = (
    check_coverage_counts_the_sweeps_that_ran_and_the_gaps_the_month_left,
    check_every_streak_open_in_the_month_with_its_start_end_kind_and_time_to_resolve,
    check_time_to_resolve_is_the_median_and_90th_percentile_of_the_arranged_failures,
    check_each_day_has_its_last_sweeps_figures_as_the_month_arranged_them,
    check_acknowledgements_and_how_each_ended,
    check_the_rerun_and_its_confirmed_outcome,
    check_the_html_is_one_self_contained_file_with_its_footer,
    check_csv_has_one_row_per_streak,
    check_the_same_period_made_again_later_and_after_pruning_hashes_the_same,
    check_every_figure_recomputed_from_the_store_and_the_audit_log,
    check_the_report_is_posted_once_for_november_on_the_first,
)


def test_the_months_report_equals_what_the_month_arranged(
    month: Month, document: dict[str, Any], tmp_path: Path
) -> None:
    for check in CHECKS:
        check(month, document, tmp_path)
