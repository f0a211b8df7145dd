"""The evidence report on a year of history: hourly sweeps of 1,000 associations (10
account-regions of 100) for 365 days, written straight into a store (no AWS) with failure streaks,
acknowledgements, re-runs and Security Hub checks; then the report's time and peak memory.

    .venv/bin/python bench/report_bench.py [--associations 1000] [--scopes 10] [--days 365]

Prints, for the last month and for the whole year: building the report the first time (every
closed day summarised on the way), again (summaries in place), and each form's rendering; then
the upkeep that prunes raw rows older than 100 days, and the month once more from summaries.
Times are without tracing; `--memory` traces Python's allocations instead (tracemalloc: each
step's peak, and slower times) — run it twice for both. The process's peak RSS is printed last.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.report import build_report, render  # noqa: E402
from bot.report.period import Period, last_full_month  # noqa: E402
from bot.report.posting import ReportPoster  # noqa: E402
from bot.settings.config import Settings  # noqa: E402
from bot.store import Database, Store  # noqa: E402
from bot.util.clock import iso  # noqa: E402

T = TypeVar("T")
END = datetime(2026, 12, 1, 9, tzinfo=UTC)


def fill(path: Path, *, associations: int, scopes: int, days: int, seed: int = 7) -> dict[str, int]:
    """A year of the bot's rows, as its repositories would have written them."""
    rng = random.Random(seed)
    db = Database(path)
    start = END - timedelta(days=days)
    accounts = [f"{100000000000 + n:012d}" for n in range(scopes)]
    scope_list = [(a, "eu-west-1") for a in accounts]
    per_scope = associations // scopes
    sweeps, scope_rows, checks = [], [], []
    for hour in range(days * 24):
        at = start + timedelta(hours=hour)
        sweep_id = f"{at:%Y%m%dT%H%M%SZ}-bench"
        failing = rng.randint(5, 40)
        sweeps.append(
            {
                "id": sweep_id,
                "started_at": iso(at),
                "finished_at": iso(at + timedelta(seconds=40)),
                "trigger": "schedule",
                "scopes": scopes,
                "scopes_failed": int(rng.random() < 0.01),
                "associations": associations,
                "failing": failing,
                "acknowledged": failing // 4,
                "noncompliant_instances": failing * 3,
                "aws_calls": 40 * scopes,
                "duration_ms": 40_000,
                "coverage": "full",
            }
        )
        for account_id, region in scope_list:
            scope_rows.append(
                {
                    "sweep_id": sweep_id,
                    "account_id": account_id,
                    "region": region,
                    "ok": int(rng.random() > 0.002),
                    "error": None,
                    "started_at": iso(at),
                    "duration_ms": 4000,
                    "aws_calls": 40,
                    "associations": per_scope,
                    "failing": failing // scopes,
                    "reused_drilldowns": 0,
                    "noncompliant_instances": failing * 3 // scopes,
                }
            )
        checks.append(
            {
                "sweep_id": sweep_id,
                "region": "eu-west-1",
                "checked_at": iso(at),
                "failed_instances": failing * 3,
                "explained": failing * 3,
                "unexplained": "[]" if rng.random() > 0.05 else '[["1","eu-west-1","i-1"]]',
                "sweep_only": "[]",
                "error": None,
            }
        )
    streaks, acks, audit = [], [], []
    for n in range(associations):
        account_id, region = scope_list[n % scopes]
        association_id = f"{n:08x}-1111-4222-8333-444455556666"
        moment = start + timedelta(hours=rng.randint(0, 24 * 60))
        while moment < END:
            length = timedelta(hours=rng.expovariate(1 / 30) + 1)
            ended = moment + length
            streaks.append(
                {
                    "account_id": account_id,
                    "region": region,
                    "association_id": association_id,
                    "started_at": iso(moment),
                    "ended_at": iso(ended) if ended < END else None,
                    "ended_how": "resolved" if ended < END else None,
                    "failure_kind": "execution" if rng.random() < 0.8 else "reported",
                    "association_name": f"job-{n:04d}",
                    "document_name": "AWS-RunPatchBaseline",
                    "source": "recorded",
                }
            )
            if rng.random() < 0.2:
                acks.append(_ack(account_id, region, association_id, moment, ended))
            if rng.random() < 0.2:
                audit += _rerun(account_id, region, association_id, moment + timedelta(minutes=30))
            moment = ended + timedelta(hours=rng.expovariate(1 / (24 * 60)) + 1)
    with db.write():
        db.insert_many("sweeps", sweeps)
        db.insert_many("sweep_scopes", scope_rows)
        db.insert_many("securityhub_checks", checks)
        db.insert_many("failure_streaks", streaks)
        db.insert_many(
            "scope_state",
            [
                {
                    "account_id": a,
                    "region": r,
                    "ok": 1,
                    "error": None,
                    "swept_at": iso(END),
                    "last_ok_at": iso(END),
                }
                for a, r in scope_list
            ],
        )
    with db.write() as raw:
        raw.table("acks").insert_all(acks)
        raw.table("audit").insert_all(audit)
    db.close()
    return {
        "sweeps": len(sweeps),
        "sweep_scopes": len(scope_rows),
        "failure_streaks": len(streaks),
        "acks": len(acks),
        "audit": len(audit),
    }


def _ack(
    account_id: str, region: str, association_id: str, start: datetime, end: datetime
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "region": region,
        "association_id": association_id,
        "by": "U0OPS00001",
        "reason": "waiting on the vendor",
        "created_at": iso(start + timedelta(minutes=20)),
        "until": iso(start + timedelta(days=7)),
        "ended_at": iso(min(end, start + timedelta(days=7))),
        "end_reason": "resolved" if end < start + timedelta(days=7) else "expired",
    }


def _rerun(account_id: str, region: str, association_id: str, at: datetime) -> list[dict[str, Any]]:
    base = {
        "account_id": account_id,
        "region": region,
        "association_id": association_id,
        "channel": None,
    }
    return [
        {
            **base,
            "at": iso(at),
            "actor": "U0OPS00001",
            "action": "rerun",
            "outcome": "started",
            "detail": None,
        },
        {
            **base,
            "at": iso(at + timedelta(minutes=5)),
            "actor": "ssm3bot",
            "action": "rerun_check",
            "outcome": "compliant",
            "detail": None,
        },
    ]


TRACE = False  # --memory


def measured(what: str, step: Callable[[], T]) -> T:
    if TRACE:
        tracemalloc.start()
    began = time.perf_counter()
    result = step()
    took = time.perf_counter() - began
    if TRACE:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  {what:<52} {took:7.2f} s   peak {peak / 2**20:7.1f} MiB (traced)")
    else:
        print(f"  {what:<52} {took:7.2f} s")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--associations", type=int, default=1000)
    parser.add_argument("--scopes", type=int, default=10)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--memory", action="store_true", help="trace allocations (slower)")
    args = parser.parse_args()
    global TRACE  # noqa: PLW0603 - a script's one switch
    TRACE = args.memory
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "year.db"
        began = time.perf_counter()
        counts = fill(path, associations=args.associations, scopes=args.scopes, days=args.days)
        print(f"filled in {time.perf_counter() - began:.1f} s: {counts}")
        print(f"database: {path.stat().st_size / 2**20:.0f} MiB")
        settings = Settings(db_path=str(path), timezone="Europe/Berlin", channel="C0EVIDENCE1")
        store = Store(path)
        month = last_full_month(END, settings.zone)
        year = Period(END - timedelta(days=args.days) + timedelta(days=1), month.until)
        for label, period in (("last month", month), (f"{year.length.days} days", year)):
            print(f"{label} ({iso(period.since)} to {iso(period.until)}):")
            report = measured(
                "build (first time: summarises every closed day)",
                lambda p=period: build_report(store, settings, p, END),
            )
            report = measured(
                "build again (summaries in place)",
                lambda p=period: build_report(store, settings, p, END),
            )
            for form in ("json", "html", "csv"):
                text, _ = measured(f"render {form}", lambda f=form, r=report: render(r, f))  # type: ignore[misc]
                print(f"  {'':<52} {len(text) / 1024:7.0f} KiB")
            print(
                f"  streaks {len(report.streaks)}, gaps {len(report.coverage.gaps)}, days {len(report.daily)}"
            )
        poster = ReportPoster(settings=settings, store=store, publisher=None, clock=lambda: END)
        gone = measured("upkeep: prune raw rows older than 100 days", poster.upkeep)
        print(f"  {gone}")
        measured(
            "last month again, from summaries", lambda: build_report(store, settings, month, END)
        )
        store.close()
        print(f"database after pruning: {path.stat().st_size / 2**20:.0f} MiB (before VACUUM)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the whole run (filling included): {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
