"""Security Hub's SSM.3 verdict, read to cross-check the sweep (SSM3_SECURITYHUB=check).

One paginated GetFindings (100 a page) in SSM3_SECURITYHUB_REGION with the bot's own
credentials: in the Security Hub administrator account of the aggregation home region that
covers every member account and linked region. Each finding names its instance at the end of
`Resources[0].Id`; its exact ARN form is not documented, so only that ending is relied on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.core.findings import Finding
from bot.core.ids import INSTANCE_AT_END
from bot.models import InstanceKey, Scope, SecurityHubCheck

if TYPE_CHECKING:
    from mypy_boto3_securityhub import SecurityHubClient
    from mypy_boto3_securityhub.type_defs import AwsSecurityFindingFiltersTypeDef

    from bot.aws.session import AwsAccess
    from bot.settings.config import Settings

FINDINGS_PAGE = 100
SSM3_FAILED_FILTERS: AwsSecurityFindingFiltersTypeDef = {
    "ComplianceSecurityControlId": [{"Value": "SSM.3", "Comparison": "EQUALS"}],
    "ComplianceStatus": [{"Value": "FAILED", "Comparison": "EQUALS"}],
    "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
}


def instance_of(finding: Mapping[str, Any]) -> InstanceKey | None:
    """The (account, region, instance) a per-instance SSM.3 finding is about, if it names one."""
    resources = finding.get("Resources") or []
    if not resources:
        return None
    match = INSTANCE_AT_END.search(str(resources[0].get("Id", "")))
    account = finding.get("AwsAccountId")
    region = finding.get("Region") or resources[0].get("Region")
    if match is None or not account or not region:
        return None
    return InstanceKey(str(account), str(region), match.group(1))


def parse_finding(item: Mapping[str, Any]) -> Finding | None:
    """A per-instance SSM.3 finding as the sync's rule reads it (None: it names no instance)."""
    instance = instance_of(item)
    if instance is None:
        return None
    note = item.get("Note") or {}
    return Finding(
        finding_id=str(item["Id"]),
        product_arn=str(item["ProductArn"]),
        instance=instance,
        workflow=str((item.get("Workflow") or {}).get("Status") or "NEW"),
        compliance=str((item.get("Compliance") or {}).get("Status") or ""),
        note_text=note.get("Text"),
        note_by=note.get("UpdatedBy"),
        fields=dict(item.get("UserDefinedFields") or {}),
    )


def scope_filters(scopes: Sequence[Scope] | None) -> dict[str, list[dict[str, str]]]:
    """Account and Region filters covering `scopes` (a superset when several: the caller
    keeps only the findings of its scopes)."""
    if not scopes:
        return {}
    return {
        "AwsAccountId": [
            {"Value": a, "Comparison": "EQUALS"} for a in sorted({s.account_id for s in scopes})
        ],
        "Region": [
            {"Value": r, "Comparison": "EQUALS"} for r in sorted({s.region for s in scopes})
        ],
    }


def findings(client: SecurityHubClient, filters: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every finding GetFindings returns for `filters`, page by page (100 a page)."""
    return pages(lambda page: client.get_findings(**page), filters)


def pages(
    call: Callable[[dict[str, Any]], Any], filters: Mapping[str, Any]
) -> Iterator[Mapping[str, Any]]:
    """Every finding a GetFindings-shaped call (GetFindings, GetFindingsV2: `call` takes its
    parameters) returns for `filters`, 100 a page (what is not an object, in an untyped V2
    answer, is skipped)."""
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Filters": filters, "MaxResults": FINDINGS_PAGE}
        if token:
            kwargs["NextToken"] = token
        page = call(kwargs)
        yield from (f for f in page.get("Findings", []) if isinstance(f, Mapping))
        token = page.get("NextToken")
        if not token:
            return


def failed_findings(
    client: SecurityHubClient, scopes: Sequence[Scope] | None = None
) -> Iterator[Mapping[str, Any]]:
    """Every ACTIVE, FAILED SSM.3 finding the caller can see (in `scopes`, when given)."""
    return findings(client, {**SSM3_FAILED_FILTERS, **scope_filters(scopes)})


def cross_check(
    findings: Iterable[Mapping[str, Any]],
    *,
    region: str,
    swept: Iterable[Scope],
    noncompliant: Iterable[InstanceKey],
    now: datetime,
) -> SecurityHubCheck:
    """Set Security Hub's failed instances beside the sweep's, within the swept scopes."""
    failed = (key for key in map(instance_of, findings) if key is not None)
    return compare(failed, region=region, swept=swept, noncompliant=noncompliant, now=now)


def compare(
    failed_instances: Iterable[InstanceKey],
    *,
    region: str,
    swept: Iterable[Scope],
    noncompliant: Iterable[InstanceKey],
    now: datetime,
) -> SecurityHubCheck:
    """The instances Security Hub fails beside the sweep's NON_COMPLIANT ones, within the
    swept scopes: `swept`, the account-regions the sweep read (an instance elsewhere is
    neither side's); `noncompliant`, the instances the sweep found NON_COMPLIANT there."""
    scopes = set(swept)
    failed = {key for key in failed_instances if Scope(key.account_id, key.region) in scopes}
    ours = {k for k in noncompliant if Scope(k.account_id, k.region) in scopes}
    return SecurityHubCheck(
        region=region,
        checked_at=now,
        failed_instances=len(failed),
        explained=len(failed & ours),
        unexplained=tuple(sorted(failed - ours)),
        sweep_only=tuple(sorted(ours - failed)),
    )


def security_hub_region(settings: Settings, access: AwsAccess) -> str | None:
    """SSM3_SECURITYHUB_REGION, else the first swept region, else the session's."""
    return settings.securityhub_region or next(iter(settings.regions), access.default_region)
