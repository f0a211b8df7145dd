"""`ssm3bot report`: the evidence report for a period (default: the last full calendar month
in SSM3_TIMEZONE), from stored state only, as HTML, JSON or CSV, to stdout or a file."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.cli.common import EXIT_OK, UsageError, _existing_store, _settings, out, say


def add_report(command: Callable[..., argparse.ArgumentParser]) -> None:
    """The subcommand and its arguments (`command` makes a subparser with the shared flags)."""
    parser = command(
        "report", help="the evidence report for auditors (no AWS calls): HTML, JSON or CSV"
    )
    for flag, default in (("--since", "the last full calendar month"), ("--until", "")):
        parser.add_argument(
            flag,
            metavar="DATE",
            help=f"{'from' if flag == '--since' else 'up to, not including'} DATE: YYYY-MM-DD or "
            f"ISO-8601 (no offset: SSM3_TIMEZONE){'; default: ' + default if default else ''}",
        )
    parser.add_argument("--format", choices=("html", "json", "csv"), default="html")
    parser.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    parser.set_defaults(handler=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from bot.report import build_report, render
    from bot.report.period import MAX_DAYS, Period, last_full_month, month_before
    from bot.util.clock import parse_user_time, utcnow

    settings = _settings()
    zone = settings.zone
    now = utcnow()

    def moment(flag: str, text: str | None) -> datetime | None:
        if text is None:
            return None
        try:
            return parse_user_time(text, zone)
        except ValueError as exc:
            raise UsageError(f"{flag}: {exc}") from None

    since, until = moment("--since", args.since), moment("--until", args.until)
    if since is None and until is None:
        period = last_full_month(now, zone)
    else:
        until = until or now
        period = Period(since or month_before(until, zone), until)
    if period.until <= period.since:
        raise UsageError("--until must be later than --since")
    if period.since >= now:
        raise UsageError("--since is in the future: nothing is recorded there yet")
    if period.length.days > MAX_DAYS:
        raise UsageError(f"a report covers at most {MAX_DAYS} days (the store keeps that long)")
    store = _existing_store(settings)
    if store is None:
        raise UsageError(
            f"SSM3_DB_PATH: no database at {settings.db_path}; nothing has been recorded there"
        )
    try:
        report = build_report(store, settings, period, now)
    finally:
        store.close()
    text, sha = render(report, args.format)
    if args.out is None:
        out(text)
    else:
        _write(Path(args.out), text)
        say(f"wrote the {args.format} report to {args.out} (SHA-256 of its JSON form: {sha})", 20)
    return EXIT_OK


def _write(path: Path, text: str) -> None:
    """Write whole or not at all: a reader never sees half a report."""
    if path.is_dir():
        raise UsageError(f"--out: {path} is a folder; name a file")
    try:
        fd, temporary = tempfile.mkstemp(prefix=".ssm3-report-", dir=path.parent or Path("."))
    except OSError as exc:
        raise UsageError(f"--out: cannot write in {path.parent}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as `>` would create it, not mkstemp's 0600
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise UsageError(f"--out: cannot write {path}: {exc.strerror or exc}") from None
