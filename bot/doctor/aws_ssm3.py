"""Security Hub and AWS Config, SSM.3's evaluators: whether Security Hub evaluates SSM.3 in an
account-region, whether the sweep's cross-check can read its findings, whether AWS Config
records there, and whether it records what SSM.3's rule evaluates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.errors import DENIED, describe_error, error_code, iam_hint
from bot.aws.securityhub import SSM3_FAILED_FILTERS
from bot.aws.session import AwsAccess
from bot.core.findings import FIELD_ASSOCIATION, FIELD_UNTIL, MARKER, NO_EXPIRY
from bot.doctor.checks import WHERE, Finding
from bot.models import Scope

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_securityhub import SecurityHubClient

SSM3_CONFIG_RULE = "ec2-managedinstance-association-compliance-status-check"
ASSOCIATION_COMPLIANCE = "AWS::SSM::AssociationCompliance"


@dataclass(frozen=True)
class Asked:
    answer: Any = None
    code: str | None = None  # the AWS error code, or "unreachable"
    message: str = ""


def ask(call: Callable[[], Any]) -> Asked:
    try:
        return Asked(call())
    except ClientError as exc:
        return Asked(code=error_code(exc), message=describe_error(exc))
    except BotoCoreError as exc:
        return Asked(code="unreachable", message=describe_error(exc))


def ssm3_associations(access: AwsAccess, scope: Scope) -> list[Any]:
    client: SecurityHubClient = access.securityhub(scope)
    try:
        reply = client.list_standards_control_associations(SecurityControlId="SSM.3", MaxResults=25)
    finally:
        client.close()
    return list(reply.get("StandardsControlAssociationSummaries", []))


def failed_ssm3(access: AwsAccess, home: Scope) -> list[Any]:
    """One page of the findings the sweep's cross-check reads, with the bot's own identity."""
    client: SecurityHubClient = access.securityhub(home)
    try:
        reply = client.get_findings(Filters=SSM3_FAILED_FILTERS, MaxResults=1)
    finally:
        client.close()
    return list(reply.get("Findings", []))


def probe_sync(access: AwsAccess, home: Scope, workflow: str) -> list[Any]:
    """SSM3_SECURITYHUB=sync: a BatchUpdateFindings shaped as the sync's (the workflow, the
    bot's note and fields) for a finding that cannot exist, so IAM judges the real request
    and nothing changes. Its UnprocessedFindings (FindingNotFound) mean it was allowed."""
    client: SecurityHubClient = access.securityhub(home)
    product = f"arn:{access.partition}:securityhub:{home.region}::product/aws/securityhub"
    probe = f"arn:{access.partition}:securityhub:{home.region}:{home.account_id}:ssm3-bot/doctor"
    try:
        reply = client.batch_update_findings(
            FindingIdentifiers=[{"Id": probe, "ProductArn": product}],
            Workflow={"Status": workflow},  # type: ignore[typeddict-item]
            Note={
                "Text": "ssm3-bot doctor: permission probe (no such finding)",
                "UpdatedBy": MARKER,
            },
            UserDefinedFields={FIELD_ASSOCIATION: "none", FIELD_UNTIL: NO_EXPIRY},
        )
    finally:
        client.close()
    return list(reply.get("UnprocessedFindings", []))


def judge_sync(region: str, workflow: str, asked: Asked) -> Finding:
    """Whether acknowledgements can reach SSM.3's findings (SSM3_SECURITYHUB=sync)."""
    what = f"Security Hub sync in {region}"
    if asked.code in DENIED:
        return Finding(
            "fail",
            f"{what}: securityhub:BatchUpdateFindings denied, so acknowledgements stay in the "
            "bot and auditors see the findings NEW",
            f"{iam_hint('securityhub:BatchUpdateFindings')} to the bot's identity, "
            "or set SSM3_SECURITYHUB=check",
        )
    if asked.code == "InvalidAccessException":
        return Finding(
            "fail",
            f"{what}: Security Hub is not enabled for the bot's account there",
            "set SSM3_SECURITYHUB_REGION to the aggregation home region of the Security Hub "
            "administrator account the bot runs in",
        )
    if asked.code is not None:
        return Finding("warn", f"{what}: could not be checked ({asked.message})")
    return Finding(
        "pass", f"{what}: securityhub:BatchUpdateFindings allowed (sets {workflow} with a note)"
    )


def recorders(access: AwsAccess, scope: Scope) -> list[Any]:
    client: ConfigServiceClient = access.config_service(scope)
    try:
        reply = client.describe_configuration_recorder_status()
    finally:
        client.close()
    return list(reply.get("ConfigurationRecordersStatus", []))


def recorder_settings(access: AwsAccess, scope: Scope) -> list[Any]:
    client: ConfigServiceClient = access.config_service(scope)
    try:
        reply = client.describe_configuration_recorders()
    finally:
        client.close()
    return list(reply.get("ConfigurationRecorders", []))


def judge_security_hub(asked: Asked) -> Finding:
    unknown = "SSM.3 status unknown"
    if asked.code in DENIED:
        return Finding(
            "warn",
            f"Security Hub unreadable in {WHERE} ({asked.code}), {unknown}",
            iam_hint("securityhub:ListStandardsControlAssociations"),
        )
    if asked.code == "InvalidAccessException":
        return Finding(
            "warn",
            f"Security Hub is not enabled in {WHERE}, so SSM.3 is not evaluated there",
            "enable Security Hub with the AWS Foundational Security Best Practices standard",
        )
    if asked.code is not None:
        return Finding("warn", f"Security Hub unreadable in {WHERE} ({asked.message}), {unknown}")
    summaries: list[Any] = asked.answer
    if any(s.get("AssociationStatus") == "ENABLED" for s in summaries):
        return Finding("pass", f"Security Hub evaluates SSM.3 in {WHERE}")
    if summaries:
        return Finding(
            "warn",
            f"SSM.3 is disabled in every enabled Security Hub standard in {WHERE}",
            "enable it: Security Hub -> Controls -> SSM.3 -> Enable control",
        )
    return Finding(
        "warn",
        f"no enabled Security Hub standard in {WHERE} contains SSM.3",
        "enable the AWS Foundational Security Best Practices standard",
    )


def judge_config(asked: Asked) -> Finding:
    if asked.code in DENIED:
        return Finding(
            "warn",
            f"AWS Config unreadable in {WHERE} ({asked.code}), recording status unknown",
            iam_hint("config:DescribeConfigurationRecorderStatus"),
        )
    if asked.code is not None:
        return Finding("warn", f"AWS Config unreadable in {WHERE} ({asked.message})")
    recorders: list[Any] = asked.answer
    if any(r.get("recording") for r in recorders):
        return Finding("pass", f"AWS Config recording in {WHERE}")
    why = "has no recorder" if not recorders else "is not recording"
    return Finding(
        "warn",
        f"AWS Config {why} in {WHERE}, so SSM.3 ({SSM3_CONFIG_RULE}) cannot be evaluated there",
        "set up AWS Config to record at least AWS::SSM::AssociationCompliance there"
        if not recorders
        else "start it: aws configservice start-configuration-recorder "
        f"--configuration-recorder-name {recorders[0].get('name', 'default')}",
    )


def records_association_compliance(recorder: Mapping[str, Any]) -> bool:
    """Whether a recorder's recordingGroup includes AWS::SSM::AssociationCompliance."""
    group: Mapping[str, Any] = recorder.get("recordingGroup") or {}
    strategy = (group.get("recordingStrategy") or {}).get("useOnly")
    if strategy == "EXCLUSION_BY_RESOURCE_TYPES":
        excluded = (group.get("exclusionByResourceTypes") or {}).get("resourceTypes") or []
        return ASSOCIATION_COMPLIANCE not in excluded
    if strategy == "INCLUSION_BY_RESOURCE_TYPES":
        return ASSOCIATION_COMPLIANCE in (group.get("resourceTypes") or [])
    if group.get("allSupported", not group):  # no recordingGroup: the default records all
        return True
    return ASSOCIATION_COMPLIANCE in (group.get("resourceTypes") or [])


def judge_recorded_types(asked: Asked) -> Finding | None:
    """A warning when Config does not record association compliance (None: it does, or there
    is no recorder, which judge_config already reports)."""
    if asked.code in DENIED:
        return Finding(
            "warn",
            f"AWS Config recorder settings unreadable in {WHERE} ({asked.code}), so whether it "
            f"records {ASSOCIATION_COMPLIANCE} is unknown",
            iam_hint("config:DescribeConfigurationRecorders"),
        )
    if asked.code is not None:
        return Finding(
            "warn", f"AWS Config recorder settings unreadable in {WHERE} ({asked.message})"
        )
    recorders: list[Any] = asked.answer
    if not recorders or any(records_association_compliance(r) for r in recorders):
        return None
    name = recorders[0].get("name", "default")
    return Finding(
        "warn",
        f"AWS Config does not record {ASSOCIATION_COMPLIANCE} in {WHERE}, so Security Hub shows "
        "SSM.3 PASSED (CONFIG_EVALUATIONS_EMPTY) while instances fail",
        f"add {ASSOCIATION_COMPLIANCE} to recorder {name}'s recording group "
        "(aws configservice put-configuration-recorder)",
    )
