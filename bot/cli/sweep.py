"""`ssm3bot sweep` (store, print, optionally post the digest; --strict's verdict) and
`ssm3bot digest` (the digest from stored state)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from bot.cli.common import (
    EXIT_NO_SCOPE,
    EXIT_OK,
    EXIT_STRICT,
    _print_json,
    _settings,
    open_store,
    out,
    required_store,
    say,
)
from bot.settings.config import ConfigError, Settings
from bot.util import redact

if TYPE_CHECKING:
    from bot.models import SweepSummary


def cmd_sweep(args: argparse.Namespace) -> int:
    from bot.aws.session import AwsAccess
    from bot.cli.progress import ProgressBar
    from bot.render.documents import sweep_document
    from bot.render.text import render_sweep
    from bot.sweeping.sweep import SweepError, run_sweep
    from bot.util.clock import utcnow

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
        names = store.account_names.names()
        out(
            render_sweep(
                summary, scopes, failing, now, orphans=orphans, security_hub=check, names=names
            )
        )
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
    if not settings.channels:
        raise ConfigError(
            "SSM3_CHANNEL",
            "required for --post (a channel ID like C0123456789), or routes in SSM3_ROUTES_FILE",
        )


def _post_digest(settings: Settings, store: object) -> bool:
    """Post every channel's digest (SSM3_CHANNEL's and each route's) now."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.aws.session import AwsAccess
    from bot.scheduling.runner import Runner
    from bot.slack.delivery import Delivery
    from bot.slack.services import web_client
    from bot.store import Store

    assert isinstance(store, Store)
    delivery = Delivery(client=web_client(settings), zone=settings.zone)
    runner = Runner(
        settings=settings, store=store, access=AwsAccess.from_settings(settings), publisher=delivery
    )
    try:
        posted = runner.post_digests_now()
    except SlackApiError as exc:
        say(f"posting the digest: Slack answered {exc.response.get('error')}")
        return False
    except SlackClientError as exc:
        say(f"could not reach Slack: {redact.REDACTOR.redact(str(exc))}")
        return False
    for post in posted:
        say(f"digest posted to {post.channel} (ts {post.ts})", logging.INFO)
    return True


def cmd_digest(args: argparse.Namespace) -> int:
    from bot.app.digests import DigestComposer
    from bot.render.documents import digest_document
    from bot.render.text import render_digest
    from bot.util.clock import utcnow

    settings = _settings()
    store = required_store(settings)
    view = DigestComposer.from_settings(store, settings).whole(utcnow())
    if args.json:
        _print_json(digest_document(view.digest))
    else:
        out(render_digest(view))
    return EXIT_OK
