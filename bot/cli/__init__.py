"""The `ssm3bot` command line: sweep, digest, history, diagnose, audit, report, health, doctor,
serve, demo.

The parser and `main` live here; each command group is a module of its own (`sweep`, `history`,
`audit`, `report`, `ack`, `health`, `serve`) over what they share (`common`)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from bot import __version__
from bot.cli.ack import cmd_ack, cmd_unack
from bot.cli.audit import cmd_audit
from bot.cli.common import (
    EXIT_BROKEN_PIPE,
    EXIT_NO_SCOPE,
    EXIT_OK,
    EXIT_STRICT,
    EXIT_USAGE,
    UsageError,
    _discard_stdout,
    log,
    open_store,
    out,
    say,
)
from bot.cli.diagnose import add_diagnose
from bot.cli.health import cmd_doctor, cmd_health
from bot.cli.history import cmd_history
from bot.cli.report import add_report
from bot.cli.serve import cmd_demo, cmd_serve
from bot.cli.sweep import cmd_digest, cmd_sweep
from bot.settings.config import ConfigError, log_format_from_env
from bot.util import redact
from bot.util.logs import stderr_handler
from bot.util.strings import one_line

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_NO_SCOPE",
    "EXIT_OK",
    "EXIT_STRICT",
    "EXIT_USAGE",
    "LIBRARY_LOGGERS",
    "UsageError",
    "build_parser",
    "configure_logging",
    "main",
    "open_store",
    "out",
    "say",
]

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
        from bot.cli.help import HELP, epilog

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

    add_diagnose(command)

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

    add_report(command)

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
    if not _logging_set_up(args.command, debug=args.debug):
        return EXIT_USAGE
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    """The subcommand, its errors each one line and an exit status."""
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


def _logging_set_up(command: str, *, debug: bool) -> bool:
    """Logging in SSM3_LOG_FORMAT; False (after one line saying why) when that is bad."""
    try:
        log_format = log_format_from_env()
    except ConfigError as exc:
        configure_logging(command, debug=debug)
        say(str(exc))
        return False
    configure_logging(command, debug=debug, log_format=log_format)
    return True


def configure_logging(command: str, *, debug: bool, log_format: str = "text") -> None:
    """Logs go to stderr, as text or JSON lines (SSM3_LOG_FORMAT). --debug: everything.
    `serve`: ours from INFO, libraries from WARNING. Any other command: errors only (its output
    is the interface; the sweep table already lists the account-regions not swept)."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.ERROR,
        handlers=[stderr_handler(log_format)],
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
