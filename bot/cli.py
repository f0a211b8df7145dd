"""The `ssm3bot` command line: sweep, digest, history, audit, health, doctor, serve, demo."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from bot import __version__, redact
from bot.config import ConfigError, Settings

if TYPE_CHECKING:
    from bot.store import Store

EXIT_OK, EXIT_NO_SCOPE, EXIT_USAGE, EXIT_STRICT = 0, 1, 2, 3

log = logging.getLogger("bot")


class UsageError(Exception):
    """Bad usage that argparse cannot see (an unknown association ID, say): exit 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ssm3bot",
        description="Keep State Manager association compliance (Security Hub SSM.3) visible and fixable.",
    )
    parser.add_argument("--version", action="version", version=f"ssm3bot {__version__}")
    parser.add_argument("--debug", action="store_true", help="log verbosely, show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sweep = commands.add_parser("sweep", help="sweep now, store the results, print a table")
    sweep.add_argument("--json", action="store_true", help="print the sweep document as JSON")
    sweep.add_argument(
        "--post", action="store_true", help="also post the digest to SSM3_CHANNEL in Slack"
    )
    sweep.add_argument(
        "--strict",
        action="store_true",
        help="exit 3 when a failing association is not acknowledged",
    )
    sweep.set_defaults(handler=cmd_sweep)

    digest = commands.add_parser("digest", help="the digest from stored state (no AWS calls)")
    digest.add_argument("--json", action="store_true", help="print the digest as JSON")
    digest.set_defaults(handler=cmd_digest)

    history = commands.add_parser(
        "history", help="recent executions and failed targets of one association"
    )
    history.add_argument("association_id", metavar="ASSOCIATION_ID")
    history.add_argument(
        "--account", help="the account, when the association is not in the store yet"
    )
    history.add_argument(
        "--region", help="the region, when the association is not in the store yet"
    )
    history.set_defaults(handler=cmd_history)

    audit = commands.add_parser(
        "audit", help="the audit log (state changes and refusals) as compliance evidence"
    )
    audit.add_argument(
        "--since",
        metavar="DATE",
        help="only entries at or after DATE: YYYY-MM-DD or ISO-8601 (no offset: SSM3_TIMEZONE)",
    )
    audit_format = audit.add_mutually_exclusive_group()
    audit_format.add_argument("--json", action="store_true", help="a JSON array on stdout")
    audit_format.add_argument("--csv", action="store_true", help="CSV with a header row on stdout")
    audit.set_defaults(handler=cmd_audit)

    health = commands.add_parser(
        "health", help="exit 0 when the last sweep is recent enough (Docker's HEALTHCHECK)"
    )
    health.set_defaults(handler=cmd_health)

    doctor = commands.add_parser(
        "doctor",
        help="check the set-up (configuration, Slack, AWS): one line each, the fix for each failure",
        description="Exit status: 0 nothing failed, 1 a check failed, 2 the configuration is invalid.",
    )
    doctor.set_defaults(handler=cmd_doctor)

    serve = commands.add_parser(
        "serve", help="the Slack app: Socket Mode with SLACK_APP_TOKEN, else HTTP on SSM3_HTTP_PORT"
    )
    serve.set_defaults(handler=cmd_serve)

    demo = commands.add_parser(
        "demo", help="sweep a simulated fleet on loopback and print the digest"
    )
    demo.add_argument("--db", help="keep the demo's SQLite database at this path")
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.ERROR,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.debug:
        logging.getLogger("botocore").setLevel(logging.CRITICAL)
    redactor = redact.install()  # no token or AWS secret in any log line, --debug included
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"ssm3bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"ssm3bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ssm3bot: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:  # the traceback, through the log's redaction
            log.exception("ssm3bot %s failed", args.command)
            return EXIT_NO_SCOPE
        print(
            f"ssm3bot: {type(exc).__name__}: {' '.join(redactor.redact(str(exc)).split())} "
            "(run with --debug for details)",
            file=sys.stderr,
        )
        return EXIT_NO_SCOPE


def _settings() -> Settings:
    settings = Settings.from_env()
    redact.REDACTOR.add(
        (settings.slack_bot_token, settings.slack_app_token, settings.slack_signing_secret)
    )
    return settings


def cmd_sweep(args: argparse.Namespace) -> int:
    from bot.aws.session import AwsAccess
    from bot.clock import utcnow
    from bot.progress import ProgressBar
    from bot.render.documents import sweep_document
    from bot.render.text import render_sweep
    from bot.store import Store
    from bot.sweep import SweepError, run_sweep

    settings = _settings()
    if args.post:
        _check_posting(settings)
    store = Store(settings.db_path)
    access = AwsAccess.from_settings(settings)
    bar = ProgressBar(sys.stderr)
    try:
        summary = run_sweep(settings=settings, access=access, store=store, progress=bar)
    except SweepError as exc:
        bar.close()
        print(f"ssm3bot: {exc}", file=sys.stderr)
        return EXIT_NO_SCOPE
    bar.close()
    now = utcnow()
    scopes = store.sweep_scopes(summary.sweep_id)
    if args.json:
        swept = store.tracked(sweep_id=summary.sweep_id, now=now)
        _print_json(sweep_document(summary, scopes, swept), sys.stdout)
    else:  # the table shows failures only: read only those (a tenth of the memory at org scale)
        failing = store.tracked(sweep_id=summary.sweep_id, failing_only=True, now=now)
        sys.stdout.write(render_sweep(summary, scopes, failing, now))
    if args.post and not _post_digest(settings, store):
        return EXIT_NO_SCOPE
    if not summary.reached_any_scope:
        print("ssm3bot: the sweep reached no account-region", file=sys.stderr)
        return EXIT_NO_SCOPE
    if args.strict and summary.failing > summary.acknowledged:
        print(
            f"ssm3bot: {summary.failing - summary.acknowledged} failing association(s) not acknowledged",
            file=sys.stderr,
        )
        return EXIT_STRICT
    return EXIT_OK


def _check_posting(settings: Settings) -> None:
    """Fail before sweeping, not after, when the digest could not be posted anyway."""
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN", "required for --post (a bot token, xoxb-…)")
    if not settings.channel:
        raise ConfigError("SSM3_CHANNEL", "required for --post (a channel ID like C0123456789)")


def _post_digest(settings: Settings, store: object) -> bool:
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.slack.delivery import Delivery
    from bot.slack.services import web_client
    from bot.store import Store

    assert isinstance(store, Store)
    assert settings.channel
    delivery = Delivery(client=web_client(settings), store=store, zone=settings.zone)
    try:
        post = delivery.post_digest(settings.channel)
    except SlackApiError as exc:
        print(
            f"ssm3bot: posting the digest: Slack answered {exc.response.get('error')}",
            file=sys.stderr,
        )
        return False
    except SlackClientError as exc:
        print(f"ssm3bot: could not reach Slack: {exc}", file=sys.stderr)
        return False
    print(f"ssm3bot: digest posted to {post.channel} (ts {post.ts})", file=sys.stderr)
    return True


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.slack.serve import serve

    return serve(_settings())


def cmd_digest(args: argparse.Namespace) -> int:
    from bot.clock import utcnow
    from bot.digest import build_digest
    from bot.render.documents import digest_document
    from bot.render.text import render_digest
    from bot.store import Store

    settings = _settings()
    digest = build_digest(Store(settings.db_path), utcnow())
    if args.json:
        _print_json(digest_document(digest), sys.stdout)
    else:
        sys.stdout.write(render_digest(digest))
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from bot.aws.history import fetch_history
    from bot.aws.reader import describe_error
    from bot.aws.session import AwsAccess
    from bot.clock import utcnow
    from bot.models import AssociationKey, Scope
    from bot.render.text import render_history
    from bot.store import Store

    settings = _settings()
    store = Store(settings.db_path)
    known = [t.key for t in store.find(args.association_id)]
    if args.account:
        known = [k for k in known if k.account_id == args.account]
    if args.region:
        known = [k for k in known if k.region == args.region]
    if not known:
        if not (args.account and args.region):
            raise UsageError(
                f"association {args.association_id} is not in the store; run a sweep first, "
                "or pass --account and --region"
            )
        known = [AssociationKey(args.account, args.region, args.association_id)]
    access = AwsAccess.from_settings(settings)
    for key in known:
        try:
            history = fetch_history(access.ssm(Scope(key.account_id, key.region)), key)
        except (ClientError, BotoCoreError) as exc:
            print(f"ssm3bot: {key.account_id}/{key.region}: {describe_error(exc)}", file=sys.stderr)
            return EXIT_NO_SCOPE
        sys.stdout.write(render_history(history, utcnow()))
    return EXIT_OK


def _existing_store(settings: Settings) -> Store | None:
    """The store, or None when SSM3_DB_PATH names no file yet (never create one to read it)."""
    from pathlib import Path

    from bot.store import Store

    if settings.db_path != ":memory:" and not Path(settings.db_path).is_file():
        return None
    return Store(settings.db_path)


def cmd_audit(args: argparse.Namespace) -> int:
    from bot.clock import parse_user_time
    from bot.render.audit import audit_csv, audit_json, render_audit

    settings = _settings()
    since = None
    if args.since is not None:
        try:
            since = parse_user_time(args.since, settings.zone)
        except ValueError as exc:
            raise UsageError(f"--since: {exc}") from None
    store = _existing_store(settings)
    if store is None:
        raise UsageError(
            f"SSM3_DB_PATH: no database at {settings.db_path}; nothing has been recorded there"
        )
    entries = list(reversed(store.audit_entries(since=since)))  # oldest first, like any log
    if args.json:
        _print_json(audit_json(entries), sys.stdout)
    elif args.csv:
        sys.stdout.write(audit_csv(entries))
    else:
        sys.stdout.write(render_audit(entries, since))
    return EXIT_OK


def cmd_health(args: argparse.Namespace) -> int:
    from bot.clock import utcnow
    from bot.health import assess, sweep_period

    settings = _settings()
    now = utcnow()
    period = sweep_period(settings.sweep_schedule, settings.timezone, now)
    store = _existing_store(settings)
    last_sweep = store.last_sweep(finished=True) if store is not None else None
    report = assess(
        last_sweep=last_sweep,
        period=period,
        now=now,
        last_digest_at=_last_digest_at(store),
        where=settings.db_path if store is not None else f"{settings.db_path} (no such file yet)",
    )
    sys.stdout.write(report.text)
    return EXIT_OK if report.healthy else EXIT_NO_SCOPE


def _last_digest_at(store: Store | None) -> datetime | None:
    from bot.ledger import Ledger

    run = Ledger(store).last_digest() if store is not None else None
    return run.posted_at if run else None


def cmd_doctor(args: argparse.Namespace) -> int:
    from bot.clock import utcnow
    from bot.doctor import render_report, run_doctor

    settings, problems = Settings.from_env_all_problems()
    report = run_doctor(settings, problems, now=utcnow())
    encoding = (sys.stdout.encoding or "").lower().replace("-", "").replace("_", "")
    sys.stdout.write(render_report(report, ascii_only=not encoding.startswith("utf")))
    return report.exit_code


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    code: int = run_demo(db_path=args.db, out=sys.stdout, err=sys.stderr)
    return code


def _print_json(document: object, stream: TextIO) -> None:
    json.dump(document, stream, indent=2, sort_keys=False)
    stream.write("\n")
