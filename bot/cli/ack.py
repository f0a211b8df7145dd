"""`ssm3bot ack` and `ssm3bot unack`: the same acknowledgement as Slack's, the process's OS
account (its uid) as actor."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.common import EXIT_OK, UsageError, _settings, os_actor, out, required_store
from bot.settings.config import Settings

if TYPE_CHECKING:
    from bot.app.acknowledgements import Acknowledgements
    from bot.app.outcomes import Done, Refusal
    from bot.store import Store


def _acknowledgements(settings: Settings) -> tuple[Acknowledgements, Store]:
    from bot.app.acknowledgements import Acknowledgements
    from bot.app.permissions import LocalOperator, require_operators_for_sync
    from bot.util.clock import utcnow

    require_operators_for_sync(settings)
    store = required_store(settings)
    sync = None
    if settings.securityhub == "sync":  # SSM.3's findings follow the change
        from bot.aws.session import AwsAccess
        from bot.wiring.context import Context
        from bot.wiring.findings import findings_sync

        sync = findings_sync(Context(settings, store, AwsAccess.from_settings(settings), utcnow))
    cases = Acknowledgements(store=store, permissions=LocalOperator(), clock=utcnow, sync=sync)
    return cases, store


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
    from bot.app.outcomes import Refusal
    from bot.app.terms import InputError, check_reason, parse_association, parse_duration
    from bot.util.clock import iso, utcnow

    settings = _settings()
    try:
        ref = parse_association(args.association_id)
        until = utcnow() + parse_duration(args.duration)
        reason = check_reason(args.reason)
    except InputError as exc:
        raise UsageError(str(exc).replace("`", "")) from None
    cases, store = _acknowledgements(settings)
    try:
        outcome = cases.acknowledge(os_actor(), ref, reason=reason, until=until)
    finally:
        store.close()
    if isinstance(outcome, Refusal):
        raise UsageError(_refused(outcome))
    line = _security_hub(outcome, "acknowledgement")
    a, ack = outcome.item.association, outcome.item.ack
    assert ack is not None
    assert ack.until is not None
    out(
        f"acknowledged {a.display_name} ({a.account_id} {a.region}) until {iso(ack.until)} "
        f"by {ack.by}: {ack.reason}\n" + (f"{line}\n" if line else "")
    )
    return EXIT_OK


def _security_hub(done: Done, what: str) -> str | None:
    """SSM3_SECURITYHUB=sync: how the SSM.3 findings were brought in line, in one line."""
    from bot.app.sync_report import reply_line

    return reply_line(done.security_hub, what=what) if done.security_hub else None


def cmd_unack(args: argparse.Namespace) -> int:
    from bot.app.outcomes import Refusal
    from bot.app.terms import InputError, parse_association

    settings = _settings()
    try:
        ref = parse_association(args.association_id)
    except InputError as exc:
        raise UsageError(str(exc).replace("`", "")) from None
    cases, store = _acknowledgements(settings)
    try:
        outcome = cases.unacknowledge(os_actor(), ref)
    finally:
        store.close()
    if isinstance(outcome, Refusal):
        raise UsageError(_refused(outcome))
    line = _security_hub(outcome, "removal of the acknowledgement")
    a = outcome.item.association
    out(
        f"reopened {a.display_name} ({a.account_id} {a.region}): it is back among the failing\n"
        + (f"{line}\n" if line else "")
    )
    return EXIT_OK
