"""The Security Hub sync (bot/app/findings_sync.py) wired to AWS, and the one place that
decides when a read of AWS is synced (`after_read`): a full sweep with the findings its
cross-check read, a triage sweep or an event's re-read for what they read. An acknowledgement
or its removal syncs through its own use case (bot/app/acknowledgements.py), the expiry job
through `sync_scopes`. Each is a no-op unless SSM3_SECURITYHUB=sync, and none raises: what
changed is already stored, and the next sweep brings Security Hub up to date."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot.app.findings_sync import FindingsHub, FindingsSync
from bot.app.hubs_sync import HubsSync
from bot.app.sync_report import HUB_LABELS, SyncReport
from bot.aws.errors import AWS_ERRORS, describe_error
from bot.aws.securityhub import security_hub_region
from bot.aws.securityhub_sync import WRITE_ATTEMPTS, SecurityHubWriter
from bot.aws.securityhub_v2 import SecurityHubV2Writer, hubs_on
from bot.core.findings import CSPM, V2, Finding
from bot.models import Scope, SweepCoverage
from bot.models.answers import AwsFailure
from bot.wiring.context import Context

if TYPE_CHECKING:
    from mypy_boto3_securityhub import SecurityHubClient

log = logging.getLogger(__name__)


def findings_sync(context: Context) -> HubsSync | None:
    """The sync as configured (SSM3_ACK_WORKFLOW, in SSM3_SECURITYHUB_REGION with the bot's
    own credentials), for each Security Hub that is on; None unless SSM3_SECURITYHUB=sync."""
    settings, access = context.settings, context.access
    if settings.securityhub != "sync":
        return None
    region = security_hub_region(settings, access) or "us-east-1"
    home = Scope(access.caller_account, region)

    def client() -> SecurityHubClient:
        try:
            made: SecurityHubClient = access.client(home, "securityhub", attempts=WRITE_ATTEMPTS)
        except AWS_ERRORS as exc:
            raise AwsFailure(describe_error(exc), exc) from exc
        return made

    def sync(name: str, hub: Callable[[], FindingsHub]) -> FindingsSync:
        return FindingsSync(
            store=context.store,
            hub=hub,
            workflow=settings.ack_workflow,
            region=region,
            clock=context.clock,
            hub_name=name,
        )

    return HubsSync(
        {
            CSPM: sync(CSPM, lambda: SecurityHubWriter(client(), region=region)),
            V2: sync(V2, lambda: SecurityHubV2Writer(client(), region=region)),
        },
        hubs=lambda: hubs_known(context, home),
        workflow=settings.ack_workflow,
        region=region,
    )


def hubs_known(context: Context, home: Scope) -> tuple[str, ...]:
    """Which hubs are on: as the latest cross-check found them, else asked now (one
    DescribeHub, one DescribeSecurityHubV2); when that fails too, CSPM alone (whose own read
    then says why)."""
    check = context.store.sweeps.security_hub_check()
    if check is not None and check.hubs:
        return check.hubs
    try:
        client = context.access.securityhub(home)
        try:
            return hubs_on(client)
        finally:
            client.close()
    except AWS_ERRORS as exc:
        log.warning(
            "which Security Hubs are on in %s: unknown (%s)", home.region, describe_error(exc)
        )
        return (CSPM,)


def after_read(
    context: Context,
    *,
    coverage: SweepCoverage,
    scopes: Sequence[Scope] | None,
    failed: Sequence[Finding] | None,
    failed_v2: Sequence[Finding] | None = None,
) -> SyncReport | None:
    """After a read of AWS is stored: what it read reaches Security Hub. A full sweep syncs the
    account-regions it read (`scopes`) in each hub whose failures its cross-check read (none
    read: that hub was off or its read failed, and so would the sync), a triage sweep every
    account-region this deployment sweeps, a partial read (an event's) its scopes, those two in
    each hub that is on. Never the whole aggregator: the sync itself narrows any of them to
    what is swept (bot/core/ownership.py)."""
    if coverage == "triage":
        scopes = [state.scope for state in context.store.sweeps.scope_states()]
    if coverage == "full":
        hubs = [name for name, read in ((CSPM, failed), (V2, failed_v2)) if read is not None]
        if not hubs:
            return None
        return sync_scopes(context, scopes or (), failed=failed, failed_v2=failed_v2, hubs=hubs)
    return sync_scopes(context, scopes or ())


def sync_scopes(
    context: Context,
    scopes: Sequence[Scope],
    *,
    failed: Sequence[Finding] | None = None,
    failed_v2: Sequence[Finding] | None = None,
    hubs: Sequence[str] | None = None,
) -> SyncReport | None:
    """Sync `scopes` in `hubs` (None: each hub on); None unless SSM3_SECURITYHUB=sync. Never
    raises: the next sweep tries again."""
    sync = findings_sync(context)
    if sync is None:
        return None
    try:
        report = sync.run(scopes=scopes, failed=failed, failed_v2=failed_v2, hubs=hubs)
    except Exception:
        log.exception("the Security Hub sync failed; the next sweep tries again")
        return None
    for one in (report, report.also):
        if one is not None and one.error is not None:
            log.warning("%s not fully updated: %s", HUB_LABELS[one.hub], one.error)
    return report
