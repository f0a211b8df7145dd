"""`doctor` on both Security Hubs: which are on in SSM3_SECURITYHUB_REGION for the bot's own
account, and, when the new Security Hub is on, whether the bot can read its SSM.3 findings and
(SSM3_SECURITYHUB=sync) write acknowledgements to them. CSPM's own read and write are judged
by bot/doctor/aws_ssm3.py as before.

The write is probed as CSPM's is: a BatchUpdateFindingsV2 shaped as the sync's (its StatusId,
a comment with the marker) for a finding that cannot exist, so IAM judges the real request and
nothing changes; a ResourceNotFoundException in UnprocessedFindings means it was allowed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.aws.errors import DENIED, iam_hint
from bot.aws.securityhub_v2 import STATUS_ID, failed_findings, hubs_on
from bot.aws.session import AwsAccess
from bot.core.findings import CSPM, MARKER, V2
from bot.doctor.aws_ssm3 import Asked, ask
from bot.doctor.checks import Finding
from bot.models import Scope

if TYPE_CHECKING:
    from mypy_boto3_securityhub import SecurityHubClient

NAMES = {CSPM: "Security Hub CSPM", V2: "the new Security Hub"}


def _client(access: AwsAccess, home: Scope) -> SecurityHubClient:
    return access.securityhub(home)


def which_hubs(access: AwsAccess, home: Scope) -> tuple[str, ...]:
    client = _client(access, home)
    try:
        return hubs_on(client)
    finally:
        client.close()


def read_v2(access: AwsAccess, home: Scope) -> list[Any]:
    """The first finding of the new hub's SSM.3 failures, as the cross-check reads them."""
    client = _client(access, home)
    try:
        return [next(iter(failed_findings(client)), None)]
    finally:
        client.close()


def probe_v2_sync(access: AwsAccess, home: Scope, workflow: str) -> list[Any]:
    client = _client(access, home)
    try:
        reply = client.batch_update_findings_v2(
            MetadataUids=[f"ssm3-bot-doctor-probe-{home.account_id}-{home.region}"],
            StatusId=STATUS_ID[workflow],
            Comment=f"{MARKER} doctor: permission probe (no such finding)",
        )
    finally:
        client.close()
    return list(reply.get("UnprocessedFindings", []))


def hub_findings(access: AwsAccess, home: Scope, *, sync: str | None) -> list[Finding]:
    """The lines doctor says about both hubs (`sync`: SSM3_ACK_WORKFLOW in sync mode)."""
    region = home.region
    asked = ask(lambda: which_hubs(access, home))
    if asked.code is not None:
        return [judge_hubs(region, asked)]
    on: tuple[str, ...] = asked.answer
    found = [judge_hubs(region, asked)]
    if V2 in on:
        found.append(judge_v2_read(region, ask(lambda: read_v2(access, home))))
        if sync is not None:
            found.append(
                judge_v2_sync(region, sync, ask(lambda: probe_v2_sync(access, home, sync)))
            )
    return found


def judge_hubs(region: str, asked: Asked) -> Finding:
    what = f"Security Hubs in {region}"
    if asked.code in DENIED:
        return Finding(
            "warn",
            f"{what}: which are on is unknown (DescribeHub/DescribeSecurityHubV2 denied), so "
            "only Security Hub CSPM is read",
            f"{iam_hint('securityhub:DescribeHub')} to the bot's identity",
        )
    if asked.code is not None:
        return Finding("warn", f"{what}: which are on is unknown ({asked.message})")
    on: tuple[str, ...] = asked.answer
    if not on:
        return Finding(
            "warn",
            f"{what}: neither Security Hub CSPM nor the new Security Hub is on for the bot's "
            "account",
            "set SSM3_SECURITYHUB_REGION to the aggregation home region of the Security Hub "
            "administrator account the bot runs in, or SSM3_SECURITYHUB=off",
        )
    said = ", ".join(f"{NAMES[h]} {'on' if h in on else 'off'}" for h in (CSPM, V2))
    return Finding("pass", f"{what}: {said}")


def judge_v2_read(region: str, asked: Asked) -> Finding:
    what = f"New Security Hub cross-check in {region}"
    if asked.code in DENIED:
        return Finding(
            "warn",
            f"{what}: securityhub:GetFindings denied for GetFindingsV2, so the digest cannot "
            "say whether the new Security Hub agrees",
            f"{iam_hint('securityhub:GetFindings')} to the bot's identity",
        )
    if asked.code is not None:
        return Finding("warn", f"{what}: unreadable ({asked.message})")
    return Finding("pass", f"{what}: SSM.3 findings readable (GetFindingsV2)")


def judge_v2_sync(region: str, workflow: str, asked: Asked) -> Finding:
    what = f"New Security Hub sync in {region}"
    if asked.code in DENIED:
        return Finding(
            "fail",
            f"{what}: securityhub:BatchUpdateFindings denied for BatchUpdateFindingsV2, so "
            "acknowledgements stay New there",
            f"{iam_hint('securityhub:BatchUpdateFindings')} to the bot's identity, "
            "or set SSM3_SECURITYHUB=check",
        )
    if asked.code is not None:
        return Finding("warn", f"{what}: could not be checked ({asked.message})")
    return Finding(
        "pass",
        f"{what}: BatchUpdateFindingsV2 allowed (sets StatusId {STATUS_ID[workflow]} with a "
        "comment)",
    )
