"""The Security Hub sync (bot/app/findings_sync.py) wired to AWS, and the one place that
decides when a read of AWS is synced (`after_read`): a full sweep with the findings its
cross-check read, a triage sweep or an event's re-read for what they read. An acknowledgement
or its removal syncs through its own use case (bot/app/acknowledgements.py), the expiry job
through `sync_scopes`. Each is a no-op unless SSM3_SECURITYHUB=sync, and none raises: what
changed is already stored, and the next sweep brings Security Hub up to date."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.app.findings_sync import FindingsSync
from bot.app.sync_report import SyncReport
from bot.aws.errors import AWS_ERRORS, describe_error
from bot.aws.securityhub import security_hub_region
from bot.aws.securityhub_sync import WRITE_ATTEMPTS, SecurityHubWriter
from bot.core.findings import Finding
from bot.models import Scope, SweepCoverage
from bot.models.answers import AwsFailure
from bot.wiring.context import Context

log = logging.getLogger(__name__)


def findings_sync(context: Context) -> FindingsSync | None:
    """The sync as configured (SSM3_ACK_WORKFLOW, in SSM3_SECURITYHUB_REGION with the bot's
    own credentials); None unless SSM3_SECURITYHUB=sync."""
    settings, access = context.settings, context.access
    if settings.securityhub != "sync":
        return None
    region = security_hub_region(settings, access) or "us-east-1"

    def hub() -> SecurityHubWriter:
        try:
            home = Scope(access.caller_account, region)
            client = access.client(home, "securityhub", attempts=WRITE_ATTEMPTS)
        except AWS_ERRORS as exc:
            raise AwsFailure(describe_error(exc), exc) from exc
        return SecurityHubWriter(client, region=region)

    return FindingsSync(
        store=context.store,
        hub=hub,
        workflow=settings.ack_workflow,
        region=region,
        clock=context.clock,
    )


def after_read(
    context: Context,
    *,
    coverage: SweepCoverage,
    scopes: Sequence[Scope] | None,
    failed: Sequence[Finding] | None,
) -> SyncReport | None:
    """After a read of AWS is stored: what it read reaches Security Hub. A full sweep syncs the
    account-regions it read (`scopes`) with the findings its cross-check read (none read: the
    cross-check failed, and so would the sync), a triage sweep every account-region this
    deployment sweeps, a partial read (an event's) its scopes. Never the whole aggregator: the
    sync itself narrows any of them to what is swept (bot/core/ownership.py)."""
    if coverage == "triage":
        scopes = [state.scope for state in context.store.sweeps.scope_states()]
    if coverage == "full" and failed is None:
        return None
    return sync_scopes(context, scopes or (), failed=failed if coverage == "full" else None)


def sync_scopes(
    context: Context,
    scopes: Sequence[Scope],
    *,
    failed: Sequence[Finding] | None = None,
) -> SyncReport | None:
    """Sync `scopes`; None unless SSM3_SECURITYHUB=sync. Never raises: the next sweep tries
    again."""
    sync = findings_sync(context)
    if sync is None:
        return None
    try:
        report = sync.run(scopes=scopes, failed=failed)
    except Exception:
        log.exception("the Security Hub sync failed; the next sweep tries again")
        return None
    if report.error is not None:
        log.warning("Security Hub not fully updated: %s", report.error)
    return report
