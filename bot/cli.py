"""The `ssm3bot` command line: sweep, digest, history, audit, health, doctor, serve, demo."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from bot import __version__, redact
from bot.config import ACCOUNT_ID, REGION, ConfigError, Settings
from bot.strings import one_line

if TYPE_CHECKING:
    from bot.app.acknowledgements import Acknowledgements
    from bot.app.outcomes import Done, Refusal
    from bot.models import SweepSummary
    from bot.store import Store

EXIT_OK, EXIT_NO_SCOPE, EXIT_USAGE, EXIT_STRICT = 0, 1, 2, 3
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader left

log = logging.getLogger("bot")

# `serve` logs what an operator must see (scopes not swept, digests not updated, replies
# refused) from our own loggers at INFO; libraries only from WARNING. Bolt logs through the
# logger the app hands it (bot.slack.bolt), request bodies included at INFO: it counts as theirs.
LIBRARY_LOGGERS = (
    "boto3",
    "botocore",
    "urllib3",
    "slack_sdk",
    "slack_bolt",
    "bot.slack.bolt",
    "apscheduler",
    "waitress",
)


class UsageError(Exception):
    """Bad usage that argparse cannot see (an unknown association ID, say): exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse echoes what was typed in its errors: never a control sequence to the terminal."""

    def error(self, message: str) -> NoReturn:
        super().error(one_line(message))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ssm3bot",
    )
    parser.add_argument("--version", action="version", version=f"ssm3bot {__version__}")
    parser.add_argument("--debug", action="store_true", help="log verbosely, show tracebacks")
    # Global flags work after the subcommand too (`ssm3bot digest --debug`): each subcommand
    # takes them again, leaving the top-level value alone when not given there.
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log verbosely, show tracebacks",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        from bot.cli_help import HELP, epilog

        sub: argparse.ArgumentParser = commands.add_parser(
            name,
            parents=[common],
            description=HELP[name].description,
            epilog=epilog(name),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            **kwargs,
        )
        return sub

    sweep = command("sweep", help="sweep now, store the results, print a table")
    sweep.add_argument("--json", action="store_true", help="print the sweep document as JSON")
    sweep.add_argument(
        "--post", action="store_true", help="also post the digest to SSM3_CHANNEL in Slack"
    )
    sweep.add_argument(
        "--strict",
        action="store_true",
        help="exit 3 when a failing association is not acknowledged, an orphaned item fails "
        "SSM.3, or an account-region could not be swept",
    )
    sweep.set_defaults(handler=cmd_sweep)

    digest = command("digest", help="the digest from stored state (no AWS calls)")
    digest.add_argument("--json", action="store_true", help="print the digest as JSON")
    digest.set_defaults(handler=cmd_digest)

    history = command("history", help="recent executions and failed targets of one association")
    history.add_argument("association_id", metavar="ASSOCIATION_ID")
    history.add_argument(
        "--account", help="the account, when the association is not in the store yet"
    )
    history.add_argument(
        "--region", help="the region, when the association is not in the store yet"
    )
    history.add_argument("--json", action="store_true", help="a JSON array, one entry a match")
    history.set_defaults(handler=cmd_history)

    audit = command(
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

    ack = command(
        "ack",
        help="acknowledge a failing association, as Slack's Acknowledge does (audited)",
    )
    ack.add_argument("association_id", metavar="ASSOCIATION_ID", help="an ID or its ARN")
    ack.add_argument(
        "--for",
        dest="duration",
        metavar="DURATION",
        default="7d",
        help="12h, 7d, 2w… (at most 90d)",
    )
    ack.add_argument("--reason", required=True, help="why it may stay failing for now")
    ack.set_defaults(handler=cmd_ack)

    unack = command(
        "unack",
        help="end an association's acknowledgement: it is back among the failing (audited)",
    )
    unack.add_argument("association_id", metavar="ASSOCIATION_ID", help="an ID or its ARN")
    unack.set_defaults(handler=cmd_unack)

    health = command(
        "health", help="exit 0 when the last sweep is recent enough (Docker's HEALTHCHECK)"
    )
    health.add_argument("--json", action="store_true", help="the verdict as JSON")
    health.set_defaults(handler=cmd_health)

    doctor = command(
        "doctor",
        help="check the set-up (configuration, Slack, AWS): one line each, the fix for each failure",
    )
    doctor.add_argument("--json", action="store_true", help="the checklist as JSON")
    doctor.set_defaults(handler=cmd_doctor)

    serve = command(
        "serve", help="the Slack app: Socket Mode with SLACK_APP_TOKEN, else HTTP on SSM3_HTTP_PORT"
    )
    serve.set_defaults(handler=cmd_serve)

    demo = command("demo", help="sweep a simulated fleet on loopback and print the digest")
    demo.add_argument("--db", help="keep the demo's SQLite database at this path")
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.command, debug=args.debug)
    redactor = redact.install()  # no token or AWS secret in any log line, --debug included
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (ConfigError, UsageError) as exc:
        say(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except BrokenPipeError:  # stdout's reader left outside `out` (demo, doctor): stop quietly
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:
        if args.debug:  # the traceback, through the log's redaction
            log.exception("ssm3bot %s failed", args.command)
            return EXIT_NO_SCOPE
        say(f"{type(exc).__name__}: {redactor.redact(str(exc))} (run with --debug for details)")
        return EXIT_NO_SCOPE


def configure_logging(command: str, *, debug: bool) -> None:
    """Logs go to stderr. --debug: everything. `serve`: ours from INFO, libraries from WARNING.
    Any other command: errors only (its output is the interface; the sweep table already lists
    the account-regions not swept)."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.ERROR,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if debug:
        return
    if command == "serve":
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("bot").setLevel(logging.INFO)
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    else:
        logging.getLogger("botocore").setLevel(logging.CRITICAL)


def say(message: str) -> None:
    """One line on stderr (errors, and what happened besides the results); AWS's and users'
    text in it cannot drive the terminal."""
    print(f"ssm3bot: {one_line(message)}", file=sys.stderr)


@contextmanager
def _results() -> Iterator[TextIO]:
    """Stdout for results. A reader that stops early (`| head`) is no error: the rest of the
    output is dropped and the command finishes with its own exit status."""
    try:
        yield sys.stdout
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()


def out(text: str) -> None:
    with _results() as stream:
        stream.write(text)


def _discard_stdout() -> None:
    """Point stdout at /dev/null so nothing written later (nor the interpreter's final flush)
    meets the closed pipe again (the recipe in Python's `signal` documentation)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


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
    from bot.sweep import SweepError, run_sweep

    settings = _settings()
    if args.post:
        _check_posting(settings)
    store = open_store(settings)
    access = AwsAccess.from_settings(settings)
    bar = ProgressBar(sys.stderr)
    try:
        summary = run_sweep(settings=settings, access=access, store=store, progress=bar)
    except SweepError as exc:
        bar.close()
        say(str(exc))
        return EXIT_NO_SCOPE
    bar.close()
    now = utcnow()
    scopes = store.sweeps.sweep_scopes(summary.sweep_id)
    swept_ok = [s.scope for s in scopes if s.ok]
    orphans = store.associations.orphans(swept_ok)
    check = store.sweeps.security_hub_check(summary.sweep_id)
    if args.json:
        swept = store.associations.tracked(sweep_id=summary.sweep_id, now=now)
        _print_json(sweep_document(summary, scopes, swept, orphans=orphans, security_hub=check))
    else:  # the table shows failures only: read only those (a tenth of the memory at org scale)
        failing = store.associations.tracked(sweep_id=summary.sweep_id, failing_only=True, now=now)
        out(render_sweep(summary, scopes, failing, now, orphans=orphans, security_hub=check))
    if args.post and not _post_digest(settings, store):
        return EXIT_NO_SCOPE
    if not summary.reached_any_scope:
        say("the sweep reached no account-region")
        return EXIT_NO_SCOPE
    return _strict_verdict(summary, len(orphans)) if args.strict else EXIT_OK


def _strict_verdict(summary: SweepSummary, orphans: int = 0) -> int:
    """--strict: compliance shown in full, or exit 3. An account-region not swept may hide
    failures, and an orphaned item fails SSM.3 with nothing to acknowledge, so both fail the
    check as an unacknowledged failure does."""
    unacknowledged = summary.failing - summary.acknowledged
    if unacknowledged > 0:
        say(f"{unacknowledged} failing association(s) not acknowledged")
    if orphans:
        say(f"{orphans} orphaned compliance item(s): NON_COMPLIANT, their association is gone")
    if summary.scopes_failed:
        say(
            f"{summary.scopes_failed} of {summary.scopes} account-region(s) could not be swept; "
            "their compliance is unknown"
        )
    return EXIT_STRICT if unacknowledged > 0 or orphans or summary.scopes_failed else EXIT_OK


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
        say(f"posting the digest: Slack answered {exc.response.get('error')}")
        return False
    except SlackClientError as exc:
        say(f"could not reach Slack: {redact.REDACTOR.redact(str(exc))}")
        return False
    say(f"digest posted to {post.channel} (ts {post.ts})")
    return True


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.slack.serve import check, serve

    settings = _settings()
    check(settings)  # the Slack variables first: a mistake there creates no database
    open_store(settings).close()  # a bad SSM3_DB_PATH is one line before anything starts
    return serve(settings)


def cmd_digest(args: argparse.Namespace) -> int:
    from bot.clock import utcnow
    from bot.digest import build_digest
    from bot.render.documents import digest_document
    from bot.render.text import render_digest

    settings = _settings()
    store = _existing_store(settings)
    if store is None:
        raise UsageError(
            f"SSM3_DB_PATH: no database at {settings.db_path} yet; run `ssm3bot sweep` first"
        )
    digest = build_digest(store, utcnow())
    if args.json:
        _print_json(digest_document(digest))
    else:
        out(render_digest(digest))
    return EXIT_OK


def _acknowledgements(settings: Settings) -> tuple[Acknowledgements, Store]:
    from bot.app.acknowledgements import Acknowledgements
    from bot.app.permissions import LocalOperator
    from bot.clock import utcnow

    store = _existing_store(settings)
    if store is None:
        raise UsageError(
            f"SSM3_DB_PATH: no database at {settings.db_path} yet; run `ssm3bot sweep` first"
        )
    return Acknowledgements(store=store, permissions=LocalOperator(), clock=utcnow), store


def _refused(refusal: Refusal) -> str:
    """A use case's refusal in one plain line for the terminal."""
    if refusal.miss is not None:
        miss = refusal.miss
        if miss.why == "ambiguous":
            return f"{miss.association_id} is in {len(miss.known_in)} account-regions; give its ARN"
        if miss.why == "elsewhere":
            return f"{miss.association_id} is not in {miss.asked}; it is in {miss.known_places}"
        return f"unknown association {miss.association_id}: no sweep has seen it"
    if refusal.decision is not None:
        return str(refusal.decision.reason)
    assert refusal.item is not None
    name = refusal.item.association.display_name
    if refusal.why == "not_failing":
        return f"{name} is not failing (status {refusal.item.association.status}): nothing to acknowledge"
    return f"{name} was not acknowledged; nothing changed"


def cmd_ack(args: argparse.Namespace) -> int:
    import getpass

    from bot.app.outcomes import Refusal
    from bot.app.terms import InputError, check_reason, parse_association, parse_duration
    from bot.clock import iso, utcnow

    settings = _settings()
    try:
        ref = parse_association(args.association_id)
        until = utcnow() + parse_duration(args.duration)
        reason = check_reason(args.reason)
    except InputError as exc:
        raise UsageError(str(exc).replace("`", "")) from None
    cases, store = _acknowledgements(settings)
    try:
        outcome = cases.acknowledge(getpass.getuser(), ref, reason=reason, until=until)
        line = None if isinstance(outcome, Refusal) else _security_hub(settings, store, outcome)
    finally:
        store.close()
    if isinstance(outcome, Refusal):
        raise UsageError(_refused(outcome))
    a, ack = outcome.item.association, outcome.item.ack
    assert ack is not None
    assert ack.until is not None
    out(
        f"acknowledged {a.display_name} ({a.account_id} {a.region}) until {iso(ack.until)} "
        f"by {ack.by}: {ack.reason}\n" + (f"{line}\n" if line else "")
    )
    return EXIT_OK


def _security_hub(settings: Settings, store: Store, done: Done) -> str | None:
    """SSM3_SECURITYHUB=sync: bring the association's SSM.3 findings in line; one line."""
    import getpass

    from bot.app.findings_triggers import sync_change
    from bot.aws.session import AwsAccess
    from bot.clock import utcnow

    return sync_change(
        settings=settings,
        access=AwsAccess.from_settings(settings),
        store=store,
        clock=utcnow,
        item=done.item,
        actor=getpass.getuser(),
        acknowledged=done.item.ack is not None,
    )


def cmd_unack(args: argparse.Namespace) -> int:
    import getpass

    from bot.app.outcomes import Refusal
    from bot.app.terms import InputError, parse_association

    settings = _settings()
    try:
        ref = parse_association(args.association_id)
    except InputError as exc:
        raise UsageError(str(exc).replace("`", "")) from None
    cases, store = _acknowledgements(settings)
    try:
        outcome = cases.unacknowledge(getpass.getuser(), ref)
        line = None if isinstance(outcome, Refusal) else _security_hub(settings, store, outcome)
    finally:
        store.close()
    if isinstance(outcome, Refusal):
        raise UsageError(_refused(outcome))
    a = outcome.item.association
    out(
        f"reopened {a.display_name} ({a.account_id} {a.region}): it is back among the failing\n"
        + (f"{line}\n" if line else "")
    )
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from bot.aws.errors import describe_error
    from bot.aws.history import fetch_history
    from bot.aws.session import AwsAccess
    from bot.clock import utcnow
    from bot.models import AssociationKey, Scope
    from bot.render.reports import history_json
    from bot.render.text import render_history

    settings = _settings()
    _check_scope_options(args.account, args.region)
    store = _existing_store(settings)
    found = store.associations.find(args.association_id) if store is not None else []
    stored = {t.key: t.association for t in found}
    known = [t.key for t in found]
    if args.account:
        known = [k for k in known if k.account_id == args.account]
    if args.region:
        known = [k for k in known if k.region == args.region]
    if not known:
        if not (args.account and args.region):
            missing = (
                "" if store is not None else f" (there is no database at {settings.db_path} yet)"
            )
            raise UsageError(
                f"association {args.association_id} is not in the store{missing}; "
                "run `ssm3bot sweep` first, or pass --account and --region"
            )
        known = [AssociationKey(args.account, args.region, args.association_id)]
    access = AwsAccess.from_settings(settings)
    documents: list[dict[str, object]] = []
    for key in known:
        try:
            history = fetch_history(
                access.ssm(Scope(key.account_id, key.region)), key, stored=stored.get(key)
            )
        except (ClientError, BotoCoreError) as exc:
            say(f"{key.account_id}/{key.region}: {describe_error(exc)}")
            return EXIT_NO_SCOPE
        if args.json:
            documents.append(history_json(history))
        else:
            out(render_history(history, utcnow()))
    if args.json:
        _print_json(documents)
    return EXIT_OK


def _check_scope_options(account: str | None, region: str | None) -> None:
    if account is not None and not ACCOUNT_ID.fullmatch(account):
        raise UsageError(f"--account: {account!r} is not a 12-digit AWS account ID")
    if region is not None and not REGION.fullmatch(region):
        raise UsageError(f"--region: {region!r} is not an AWS region (like eu-west-1)")


def open_store(settings: Settings) -> Store:
    """The store at SSM3_DB_PATH, created when missing; a path that cannot hold one (a folder,
    another kind of file, a place that cannot be written) is a configuration error."""
    from pathlib import Path

    from bot.store import Store

    path = settings.db_path
    if path != ":memory:" and Path(path).is_dir():
        raise ConfigError("SSM3_DB_PATH", f"{path} is a folder; name a file (like {path}/ssm3.db)")
    try:
        return Store(path)
    except sqlite3.Error as exc:
        raise ConfigError("SSM3_DB_PATH", f"cannot use {path} as the database: {exc}") from None
    except OSError as exc:
        raise ConfigError("SSM3_DB_PATH", f"cannot create {path}: {exc.strerror or exc}") from None


def _existing_store(settings: Settings) -> Store | None:
    """The store, or None when SSM3_DB_PATH names no file yet (never create one to read it)."""
    from pathlib import Path

    path = Path(settings.db_path)
    if settings.db_path != ":memory:" and not path.is_file() and not path.is_dir():
        return None
    return open_store(settings)


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
    entries = list(reversed(store.audit.entries(since=since)))  # oldest first, like any log
    if args.json:
        _print_json(audit_json(entries))
    elif args.csv:
        out(audit_csv(entries))
    else:
        out(render_audit(entries, since))
    return EXIT_OK


def cmd_health(args: argparse.Namespace) -> int:
    from bot.clock import utcnow
    from bot.health import assess, sweep_period

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
    run = store.ledger.last_digest() if store is not None else None
    return run.posted_at if run else None


def cmd_doctor(args: argparse.Namespace) -> int:
    from bot.clock import utcnow
    from bot.doctor import render_report, run_doctor

    settings, problems = Settings.from_env_all_problems()
    report = run_doctor(settings, problems, now=utcnow())
    if args.json:
        from bot.render.reports import doctor_json

        _print_json(doctor_json(report))
        return report.exit_code
    encoding = (sys.stdout.encoding or "").lower().replace("-", "").replace("_", "")
    out(render_report(report, ascii_only=not encoding.startswith("utf")))
    return report.exit_code


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    code: int = run_demo(db_path=args.db, out=sys.stdout, err=sys.stderr)
    return code


def _print_json(document: object) -> None:
    with _results() as stream:  # streamed: an organisation's sweep document is large
        json.dump(document, stream, indent=2, sort_keys=False)
        stream.write("\n")
