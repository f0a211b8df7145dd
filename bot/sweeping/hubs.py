"""A full sweep's cross-check against both Security Hubs (SSM3_SECURITYHUB=check or sync).

In SSM3_SECURITYHUB_REGION with the bot's own credentials: one DescribeHub and one
DescribeSecurityHubV2 say which hubs are on; each hub on is read for SSM.3's failures (CSPM:
GetFindings; the new hub: GetFindingsV2, 100 a page) and set beside the sweep's NON_COMPLIANT
instances. An error is the check's, never the sweep's: CSPM's in the top-level `error`, the new
hub's in `v2.error`; each is logged once per streak of failed checks. What each hub's read
found goes on to the sync (bot/wiring/findings.py `after_read`), so it reads nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.aws import securityhub as cspm
from bot.aws import securityhub_v2 as v2
from bot.aws.errors import AWS_ERRORS, describe_error
from bot.core.findings import CSPM, V2, Finding
from bot.models import InstanceKey, Scope, SecurityHubCheck

if TYPE_CHECKING:
    from mypy_boto3_securityhub import SecurityHubClient

    from bot.aws.session import AwsAccess
    from bot.settings.config import Settings
    from bot.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HubsRead:
    """The cross-check, and each hub's SSM.3 failures for the sync (None: that hub was off or
    not read, and so is not synced from this read)."""

    check: SecurityHubCheck | None  # None: no cross-check was made
    failed: list[Finding] | None = None
    failed_v2: list[Finding] | None = None


def check_security_hubs(
    settings: Settings, access: AwsAccess, store: Store, swept: list[Scope], now: datetime
) -> HubsRead:
    region = cspm.security_hub_region(settings, access) or swept[0].region
    checker = _Checker(region, now, swept, store)
    try:
        client = access.securityhub(Scope(access.caller_account, region))
    except AWS_ERRORS as exc:
        return HubsRead(checker.failure("Security Hub", exc, checker.previous))
    try:
        try:
            hubs: tuple[str, ...] | None = v2.hubs_on(client)
        except AWS_ERRORS as exc:  # unknown: read CSPM as before, say why the new hub was not
            log.warning(
                "which Security Hubs are on in %s: unknown (%s)", region, describe_error(exc)
            )
            hubs = None
        main, failed = checker.cspm(client, hubs)
        second, failed_v2 = checker.v2(client, hubs)
    finally:
        client.close()
    return HubsRead(replace(main, hubs=hubs or (), v2=second), failed, failed_v2)


def hubs_and_new_hub(
    settings: Settings, access: AwsAccess, store: Store, swept: list[Scope], now: datetime
) -> tuple[tuple[str, ...], SecurityHubCheck | None]:
    """For a triage sweep (which reads CSPM's failures to plan): which hubs are on, and the new
    hub's verdict over `swept` when it is on (None: off; an error check: unknown)."""
    region = cspm.security_hub_region(settings, access) or swept[0].region
    checker = _Checker(region, now, swept, store)
    try:
        client = access.securityhub(Scope(access.caller_account, region))
        try:
            hubs: tuple[str, ...] | None = v2.hubs_on(client)
        except AWS_ERRORS as exc:
            log.warning(
                "which Security Hubs are on in %s: unknown (%s)", region, describe_error(exc)
            )
            hubs = None
        try:
            second, _ = checker.v2(client, hubs)
        finally:
            client.close()
    except AWS_ERRORS as exc:
        return (), checker.failure("New Security Hub", exc, None)
    return hubs or (), second


class _Checker:
    """One sweep's cross-check of each hub, beside the same NON_COMPLIANT instances."""

    def __init__(self, region: str, now: datetime, swept: list[Scope], store: Store) -> None:
        self.region, self.now, self.swept = region, now, swept
        self.previous = store.sweeps.security_hub_check()
        self.noncompliant = store.associations.noncompliant_instances()

    def verdict(self, failed: Iterable[InstanceKey]) -> SecurityHubCheck:
        return cspm.compare(
            failed,
            region=self.region,
            swept=self.swept,
            noncompliant=self.noncompliant,
            now=self.now,
        )

    def failure(
        self, what: str, exc: Exception | str, before: SecurityHubCheck | None
    ) -> SecurityHubCheck:
        error = exc if isinstance(exc, str) else describe_error(exc)
        level = logging.DEBUG if before is not None and before.error else logging.WARNING
        log.log(level, "%s cross-check in %s failed: %s", what, self.region, error)
        return SecurityHubCheck(region=self.region, checked_at=self.now, error=error)

    def cspm(
        self, client: SecurityHubClient, hubs: tuple[str, ...] | None
    ) -> tuple[SecurityHubCheck, list[Finding] | None]:
        if hubs is not None and CSPM not in hubs:
            error = (
                f"Security Hub CSPM is not enabled for the bot's account in {self.region} "
                "(DescribeHub: InvalidAccessException)"
            )
            return self.failure("Security Hub CSPM", error, self.previous), None
        try:
            read: list[Mapping[str, Any]] = list(cspm.failed_findings(client))
        except AWS_ERRORS as exc:
            return self.failure("Security Hub CSPM", exc, self.previous), None
        failed = [f for f in map(cspm.parse_finding, read) if f is not None]
        return self.verdict(k for k in map(cspm.instance_of, read) if k is not None), failed

    def v2(
        self, client: SecurityHubClient, hubs: tuple[str, ...] | None
    ) -> tuple[SecurityHubCheck | None, list[Finding] | None]:
        if hubs is None:
            error = "not known whether the new Security Hub is on (DescribeSecurityHubV2 failed)"
            return SecurityHubCheck(region=self.region, checked_at=self.now, error=error), None
        if V2 not in hubs:
            return None, None
        try:
            read = list(v2.failed_findings(client))
        except AWS_ERRORS as exc:
            before = self.previous.v2 if self.previous else None
            return self.failure("New Security Hub", exc, before), None
        failed = [f for f in map(v2.parse_finding, read) if f is not None]
        return self.verdict(k for k in map(v2.instance_of, read) if k is not None), failed
