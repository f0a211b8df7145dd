"""The `ssm3bot` command line: sweep, digest, history, demo (serve, audit, doctor, health grow here)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from bot import __version__
from bot.config import ConfigError, Settings

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
        if args.debug:
            raise
        print(
            f"ssm3bot: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr
        )
        return EXIT_NO_SCOPE


def _settings() -> Settings:
    return Settings.from_env()


def cmd_sweep(args: argparse.Namespace) -> int:
    from bot.aws.session import AwsAccess
    from bot.clock import utcnow
    from bot.progress import ProgressBar
    from bot.render.documents import sweep_document
    from bot.render.text import render_sweep
    from bot.store import Store
    from bot.sweep import SweepError, run_sweep

    settings = _settings()
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


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    code: int = run_demo(db_path=args.db, out=sys.stdout, err=sys.stderr)
    return code


def _print_json(document: object, stream: TextIO) -> None:
    json.dump(document, stream, indent=2, sort_keys=False)
    stream.write("\n")
