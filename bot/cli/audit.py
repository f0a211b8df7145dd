"""`ssm3bot audit`: the audit log (state changes and refusals) as evidence."""

from __future__ import annotations

import argparse

from bot.cli.common import (
    EXIT_OK,
    UsageError,
    _print_json,
    _settings,
    out,
    required_store,
)


def cmd_audit(args: argparse.Namespace) -> int:
    from bot.render.audit import audit_csv, audit_json, render_audit
    from bot.util.clock import parse_user_time

    settings = _settings()
    since = None
    if args.since is not None:
        try:
            since = parse_user_time(args.since, settings.zone)
        except ValueError as exc:
            raise UsageError(f"--since: {exc}") from None
    store = required_store(settings, otherwise="; nothing has been recorded there")
    entries = list(reversed(store.audit.entries(since=since)))  # oldest first, like any log
    if args.json:
        _print_json(audit_json(entries))
    elif args.csv:
        out(audit_csv(entries))
    else:
        out(render_audit(entries, since))
    return EXIT_OK
