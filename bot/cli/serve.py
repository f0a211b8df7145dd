"""`ssm3bot serve` (the Slack app and the scheduler) and `ssm3bot demo` (a simulated fleet)."""

from __future__ import annotations

import argparse
import sys

from bot.cli.common import _settings, open_store


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.app.permissions import require_operators_for_sync
    from bot.slack.serve import check, serve

    settings = _settings()
    check(settings)  # the Slack variables first: a mistake there creates no database
    require_operators_for_sync(settings)
    open_store(settings).close()  # a bad SSM3_DB_PATH is one line before anything starts
    return serve(settings)


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.cli.demo import run_demo

    code: int = run_demo(db_path=args.db, out=sys.stdout, err=sys.stderr)
    return code
