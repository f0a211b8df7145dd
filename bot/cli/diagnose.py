"""`ssm3bot diagnose`: why a failing association fails, per instance, with evidence and fix."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from bot.cli.common import (
    EXIT_NO_SCOPE,
    EXIT_OK,
    EXIT_USAGE,
    _existing_store,
    _print_json,
    _settings,
    out,
    say,
)
from bot.cli.history import _check_scope_options


def add_diagnose(command: Callable[..., argparse.ArgumentParser]) -> None:
    """The subcommand's arguments (`command` makes a subparser with the shared flags)."""
    diagnose = command(
        "diagnose", help="why an association fails, per instance, with the evidence and the fix"
    )
    diagnose.add_argument("association_id", metavar="ASSOCIATION_ID")
    diagnose.add_argument("--account", help="its account, when the store does not know it")
    diagnose.add_argument("--region", help="its region, when the store does not know it")
    diagnose.add_argument("--json", action="store_true", help="the diagnosis as JSON")
    diagnose.set_defaults(handler=cmd_diagnose)


def cmd_diagnose(args: argparse.Namespace) -> int:
    from bot.app.diagnoses import Diagnoses, NotDiagnosed
    from bot.aws.evidence import AwsEvidence
    from bot.aws.session import AwsAccess
    from bot.models import AssociationRef
    from bot.render.diagnosis import diagnosis_json, render_diagnosis
    from bot.util.clock import utcnow

    settings = _settings()
    _check_scope_options(args.account, args.region)
    store = _existing_store(settings)
    try:
        cases = Diagnoses(
            store=store,
            evidence=AwsEvidence(AwsAccess.from_settings(settings), clock=utcnow),
            clock=utcnow,
        )
        found = cases.diagnose(AssociationRef(args.association_id, args.account, args.region))
    finally:
        if store is not None:
            store.close()
    if isinstance(found, NotDiagnosed):
        say(found.message)
        return EXIT_NO_SCOPE if found.why == "aws_error" else EXIT_USAGE
    if args.json:
        _print_json(diagnosis_json(found))
    else:
        out(render_diagnosis(found))
    return EXIT_OK
