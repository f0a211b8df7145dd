"""Where the Security Hub sync (bot/app/findings_sync.py) is called from, and the one line it
answers with: after an acknowledgement or its removal (Slack, after the ack; the CLI), after
the expiry job, and after each full sweep's Security Hub read. Each is a no-op unless
SSM3_SECURITYHUB=sync, and none raises: the change itself is already stored, and the next
sweep brings Security Hub up to date."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.app.findings_sync import FindingsSync, SyncReport
from bot.aws.securityhub import security_hub_region
from bot.aws.securityhub_sync import WRITE_ATTEMPTS, SecurityHubWriter
from bot.aws.session import AwsAccess
from bot.config import Settings
from bot.models import InstanceKey, Scope, TrackedAssociation
from bot.store import Store

log = logging.getLogger(__name__)


def for_settings(
    settings: Settings, access: AwsAccess, store: Store, clock: Callable[[], datetime]
) -> FindingsSync:
    """The sync as configured: SSM3_ACK_WORKFLOW, in SSM3_SECURITYHUB_REGION with the bot's
    own credentials."""
    region = security_hub_region(settings, access) or "us-east-1"

    def hub() -> SecurityHubWriter:
        home = Scope(access.caller_account, region)
        return SecurityHubWriter(
            access.client(home, "securityhub", attempts=WRITE_ATTEMPTS), region=region
        )

    return FindingsSync(
        store=store, hub=hub, workflow=settings.ack_workflow, region=region, clock=clock
    )


def sync_change(
    *,
    settings: Settings,
    access: AwsAccess,
    store: Store,
    clock: Callable[[], datetime],
    item: TrackedAssociation,
    actor: str,
    channel: str | None = None,
    acknowledged: bool,
) -> str | None:
    """After an acknowledgement (or its removal) of `item`: sync its account-region and say
    how it went in one line; None unless SSM3_SECURITYHUB=sync. Never raises: the change
    itself is already stored."""
    if settings.securityhub != "sync":
        return None
    what = "acknowledgement" if acknowledged else "removal of the acknowledgement"
    key = item.key
    focus = (
        [
            InstanceKey(key.account_id, key.region, i)
            for i in item.association.noncompliant_instances
        ]
        if acknowledged
        else []
    )
    try:
        report = for_settings(settings, access, store, clock).run(
            scopes=[key.scope], actor=actor, channel=channel, focus=focus
        )
    except Exception:
        log.exception("the Security Hub sync after a change to %s failed", key.association_id)
        report = SyncReport(workflow=settings.ack_workflow, error="an internal error: see the log")
    return reply_line(report, what=what)


def sync_scopes(
    *,
    settings: Settings,
    access: AwsAccess,
    store: Store,
    clock: Callable[[], datetime],
    scopes: Sequence[Scope],
    failed: Sequence[Mapping[str, Any]] | None = None,
) -> SyncReport | None:
    """After a sweep (`scopes`: those it read; `failed`: its cross-check's findings), an
    event's re-read or the expiry job; None unless SSM3_SECURITYHUB=sync. Never raises: the
    next sweep tries again."""
    if settings.securityhub != "sync":
        return None
    try:
        report = for_settings(settings, access, store, clock).run(scopes=scopes, failed=failed)
    except Exception:
        log.exception("the Security Hub sync failed; the next sweep tries again")
        return None
    if report.error is not None:
        log.warning("Security Hub not fully updated: %s", report.error)
    return report


def reply_line(report: SyncReport, *, what: str = "acknowledgement") -> str:
    """The one line a Slack reply or the CLI prints about Security Hub."""
    if report.error is not None and not report.changed:
        return (
            f"Security Hub not updated ({report.error}): the {what} stands in the bot; "
            "it will be retried at the next sweep."
        )
    parts: list[str] = []
    if report.set:
        parts.append(f"{_n(report.set)} set {report.workflow}")
    if report.reopened:
        parts.append(f"{_n(report.reopened)} set back to NEW")
    if not parts and report.in_sync:
        parts.append(f"{_n(report.in_sync)} already as the bot's acknowledgements say")
    if report.kept_new:
        parts.append(
            f"{report.kept_new} kept NEW (another failing association or an orphaned item on "
            "the instance is not acknowledged)"
        )
    if report.hand:
        parts.append(f"{report.hand} changed by hand in Security Hub left as they are (audited)")
    if report.unprocessed:
        parts.append(f"{report.unprocessed} not updated after retries (see `ssm3bot audit`)")
    if report.pending:
        parts.append(f"{report.pending} not updated ({report.error}): retried at the next sweep")
    if report.missing:
        parts.append(
            f"{report.missing} without a FAILED SSM.3 finding yet (the next sweep looks again)"
        )
    return "Security Hub: " + ("; ".join(parts) if parts else "no SSM.3 finding to change") + "."


def _n(count: int) -> str:
    return f"{count} SSM.3 finding" + ("" if count == 1 else "s")
