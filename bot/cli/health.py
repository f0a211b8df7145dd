"""`ssm3bot health` (is the last sweep recent enough) and `ssm3bot doctor` (the set-up checklist)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from bot.cli.common import EXIT_NO_SCOPE, EXIT_OK, _existing_store, _print_json, _settings, out
from bot.settings.config import Settings

if TYPE_CHECKING:
    from bot.store import Store


def cmd_health(args: argparse.Namespace) -> int:
    from bot.core.health import assess, sweep_period
    from bot.util.clock import utcnow

    settings = _settings()
    now = utcnow()
    period = sweep_period(settings.sweep_schedule, settings.timezone, now)
    store = _existing_store(settings)
    last_sweep = store.sweeps.last(finished=True) if store is not None else None
    report = assess(
        last_sweep=last_sweep,
        period=period,
        now=now,
        last_digest_at=_last_digest_at(store),
        where=settings.db_path if store is not None else f"{settings.db_path} (no such file yet)",
    )
    if args.json:
        from bot.render.reports import health_json

        _print_json(health_json(report))
    else:
        out(report.text)
    return EXIT_OK if report.healthy else EXIT_NO_SCOPE


def _last_digest_at(store: Store | None) -> datetime | None:
    posted = store.digests.latest() if store is not None else None
    return posted.posted_at if posted else None


def cmd_doctor(args: argparse.Namespace) -> int:
    from bot.doctor import render_report, run_doctor
    from bot.util.clock import utcnow

    settings, problems = Settings.from_env_all_problems()
    report = run_doctor(settings, problems, now=utcnow())
    if args.json:
        from bot.doctor.render import doctor_json

        _print_json(doctor_json(report))
        return report.exit_code
    encoding = (sys.stdout.encoding or "").lower().replace("-", "").replace("_", "")
    out(render_report(report, ascii_only=not encoding.startswith("utf")))
    return report.exit_code
