"""`ssm3bot health` (is the last sweep recent enough) and `ssm3bot doctor` (the set-up checklist)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.cli.common import EXIT_NO_SCOPE, EXIT_OK, _existing_store, _print_json, _settings, out
from bot.settings.config import Settings

if TYPE_CHECKING:
    pass


def cmd_health(args: argparse.Namespace) -> int:
    from bot.ops.freshness import assess_store
    from bot.util.clock import utcnow

    settings = _settings()
    store = _existing_store(settings)
    where = settings.db_path if store is not None else f"{settings.db_path} (no such file yet)"
    report = assess_store(store, settings, utcnow(), where=where)
    if args.json:
        from bot.render.reports import health_json

        _print_json(health_json(report))
    else:
        out(report.text)
    return EXIT_OK if report.healthy else EXIT_NO_SCOPE


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
