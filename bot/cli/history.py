"""`ssm3bot history`: recent executions and failed targets of one association, from AWS."""

from __future__ import annotations

import argparse

from bot.cli.common import (
    EXIT_NO_SCOPE,
    EXIT_OK,
    UsageError,
    _existing_store,
    _print_json,
    _settings,
    out,
    say,
)
from bot.core.ids import ACCOUNT_ID, REGION


def cmd_history(args: argparse.Namespace) -> int:

    from contextlib import closing

    from bot.app.resolve import within
    from bot.aws.errors import AWS_ERRORS, describe_error
    from bot.aws.history import fetch_history
    from bot.aws.session import AwsAccess
    from bot.models import AssociationKey, AssociationRef, Scope
    from bot.render.reports import history_json
    from bot.render.text import render_history
    from bot.util.clock import utcnow

    settings = _settings()
    _check_scope_options(args.account, args.region)
    store = _existing_store(settings)
    now = utcnow()
    found = store.associations.find(args.association_id, now=now) if store is not None else []
    stored = {t.key: t.association for t in found}
    ref = AssociationRef(args.association_id, args.account or None, args.region or None)
    known = [t.key for t in within(found, ref)]  # every match: the CLI shows them all
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
            with closing(access.ssm(Scope(key.account_id, key.region))) as ssm:
                history = fetch_history(ssm, key, stored=stored.get(key))
        except AWS_ERRORS as exc:
            say(f"{key.account_id}/{key.region}: {describe_error(exc)}")
            return EXIT_NO_SCOPE
        if args.json:
            documents.append(history_json(history))
        else:
            out(render_history(history, now))
    if args.json:
        _print_json(documents)
    return EXIT_OK


def _check_scope_options(account: str | None, region: str | None) -> None:
    if account is not None and not ACCOUNT_ID.fullmatch(account):
        raise UsageError(f"--account: {account!r} is not a 12-digit AWS account ID")
    if region is not None and not REGION.fullmatch(region):
        raise UsageError(f"--region: {region!r} is not an AWS region (like eu-west-1)")
