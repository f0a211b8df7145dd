"""AWS checks: who the bot is, which account-regions it would sweep, whether each account's
role can be assumed, whether every State Manager read the bot makes is allowed in each
account-region, and whether Security Hub evaluates SSM.3 and AWS Config records there.

Each read is tried once, as cheaply as the API allows (MaxResults=1, IDs taken from the
listing). An AccessDenied names the IAM action and the policy in iam/ that grants it; any
other answer from AWS, "not found" included, proves the action is allowed. Account-regions
are probed in a pool with short timeouts and few attempts, and a scope that stops answering
is abandoned after its first connection error, so one dead endpoint cannot stall the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.errors import (
    BOT_POLICY,
    DENIED,
    MEMBER_ROLE_STACK,
    NOT_ANSWERED,
    ORG_POLICY,
    READONLY_POLICY,
    describe_error,
    error_code,
    iam_hint,
    policy_for,
)
from bot.aws.reader import ASSOCIATION_NONCOMPLIANT
from bot.aws.securityhub import SSM3_FAILED_FILTERS
from bot.aws.session import AwsAccess
from bot.config import ConfigError, Settings
from bot.doctor.checks import WHERE, Check, Finding, grouped
from bot.models import Scope
from bot.sweep import SweepError, resolve_scopes, security_hub_region

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_securityhub import SecurityHubClient
    from mypy_boto3_ssm import SSMClient

SECTION = "AWS"
# Short timeouts and one retry: a check that hangs helps nobody.
ACCESS_OPTIONS: dict[str, Any] = {"max_attempts": 2, "connect_timeout_s": 3, "read_timeout_s": 10}

# Every State Manager read the sweep and history make, in the order doctor tries them.
SSM_READS = (
    "ListAssociations",
    "DescribeInstanceInformation",
    "DescribeAssociation",
    "DescribeAssociationExecutions",
    "DescribeAssociationExecutionTargets",
    "DescribeInstanceAssociationsStatus",
    "GetCommandInvocation",
    "ListResourceComplianceSummaries",
    "ListComplianceItems",
)
NEEDS_ASSOCIATION = (
    "DescribeAssociation",
    "DescribeAssociationExecutions",
    "DescribeAssociationExecutionTargets",
    "GetCommandInvocation",
)
SSM3_CONFIG_RULE = "ec2-managedinstance-association-compliance-status-check"
ASSOCIATION_COMPLIANCE = "AWS::SSM::AssociationCompliance"


def aws_checks(settings: Settings, make_access: Callable[[], AwsAccess]) -> list[Check]:
    try:
        access = make_access()
        arn, account = access.caller_arn, access.caller_account
    except (ClientError, BotoCoreError) as exc:
        return [judge_identity_error(exc)]
    checks = [Check(SECTION, "pass", f"AWS identity {arn} (account {account})")]
    try:
        scopes = resolve_scopes(settings, access)
    except ConfigError as exc:
        fix = "set SSM3_REGIONS (like eu-west-1,us-east-1) or AWS_REGION"
        return [*checks, Check(SECTION, "fail", str(exc), fix)]
    except SweepError as exc:
        return [*checks, judge_accounts_error(exc)]
    accounts = sorted({scope.account_id for scope in scopes})
    regions = sorted({scope.region for scope in scopes})
    source = "from AWS Organizations" if settings.accounts_from_org else "from SSM3_ACCOUNTS"
    if not settings.accounts_from_org and not settings.accounts:
        source = "the bot's own"
    checks.append(
        Check(
            SECTION,
            "pass",
            f"{len(accounts)} account{'s' if len(accounts) != 1 else ''} ({source}) x "
            f"{len(regions)} region{'s' if len(regions) != 1 else ''} ({', '.join(regions)}) "
            f"= {len(scopes)} account-regions to sweep",
        )
    )
    with ThreadPoolExecutor(settings.concurrency, thread_name_prefix="doctor") as pool:
        members = [a for a in accounts if a != access.caller_account]
        assumed = dict(zip(members, pool.map(lambda a: _assume(access, a), members), strict=True))
        checks.extend(
            grouped(SECTION, [(a, f) for a, f in assumed.items() if f is not None], "accounts")
        )
        reachable = [s for s in scopes if assumed.get(s.account_id) is None]
        probes = list(pool.map(lambda s: probe_scope(access, s), reachable))
    ssm: list[tuple[str, Finding]] = []
    hub: list[tuple[str, Finding]] = []
    config: list[tuple[str, Finding]] = []
    for scope, probe in zip(reachable, probes, strict=True):
        own = scope.account_id == access.caller_account
        name = f"{scope.account_id}/{scope.region}"
        ssm.extend((name, f) for f in judge_state_manager(probe.ssm, own, settings.role_name))
        if probe.security_hub is not None:
            hub.append((name, probe.security_hub))
        if probe.config is not None:
            config.append((name, probe.config))
        if probe.recorded is not None:
            config.append((name, probe.recorded))
    for found in (ssm, hub, config):
        checks.extend(grouped(SECTION, found, "account-regions"))
    if settings.securityhub != "off":
        region = security_hub_region(settings, access) or regions[0]
        home = Scope(access.caller_account, region)
        checks.append(judge_cross_check(region, _ask(lambda: _failed_ssm3(access, home))))
    return checks


# -- identity and accounts --------------------------------------------------------------------------


def judge_identity_error(exc: BaseException) -> Check:
    from botocore.exceptions import NoCredentialsError, ProfileNotFound

    if isinstance(exc, NoCredentialsError):
        return Check(
            SECTION,
            "fail",
            "no AWS credentials found",
            "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run where a "
            "role is attached (instance profile, ECS task role)",
        )
    if isinstance(exc, ProfileNotFound):
        return Check(SECTION, "fail", describe_error(exc), "fix AWS_PROFILE or ~/.aws/config")
    if isinstance(exc, ClientError):
        return Check(
            SECTION,
            "fail",
            f"AWS rejected the bot's credentials ({describe_error(exc)})",
            "refresh them (aws sso login, new keys) or check AWS_PROFILE",
        )
    return Check(
        SECTION,
        "fail",
        f"cannot reach AWS STS ({describe_error(exc)})",
        "check network access to AWS (proxy, VPC endpoints) and AWS_REGION / AWS_ENDPOINT_URL",
    )


def judge_accounts_error(exc: SweepError) -> Check:
    cause = exc.__cause__
    code = error_code(cause) if isinstance(cause, ClientError) else ""
    if code in DENIED:
        return Check(
            SECTION,
            "fail",
            "organizations:ListAccounts denied (SSM3_ACCOUNTS=org)",
            f"attach {ORG_POLICY} to the bot's identity in the organisation's management "
            "or delegated administrator account, or list account IDs in SSM3_ACCOUNTS",
        )
    if code == "AWSOrganizationsNotInUseException":
        return Check(
            SECTION,
            "fail",
            "the bot's account is not in an organisation (SSM3_ACCOUNTS=org)",
            "list account IDs in SSM3_ACCOUNTS instead",
        )
    return Check(
        SECTION,
        "fail",
        str(exc),
        "check network access to AWS Organizations, or list account IDs in SSM3_ACCOUNTS",
    )


def _assume(access: AwsAccess, account_id: str) -> Finding | None:
    """None when the role was assumed; else why not, and what to deploy."""
    try:
        access.credentials_for(account_id)
    except (ClientError, BotoCoreError) as exc:
        access.forget(account_id)
        reason = error_code(exc) if isinstance(exc, ClientError) else describe_error(exc)
        role = access.role_name
        return Finding(
            "fail",
            f"cannot assume role {role} in {WHERE} ({reason})",
            f"deploy {MEMBER_ROLE_STACK} there (BotAccountId={access.caller_account}; "
            "across an organisation as a StackSet), keep SSM3_ROLE_NAME equal to its RoleName, "
            f"and attach {BOT_POLICY} to the bot's identity",
        )
    return None


# -- probing one account-region ---------------------------------------------------------------------


class _Unreachable(Exception):
    """The endpoint stopped answering: give up on this scope's remaining calls."""


@dataclass
class ReadProbe:
    """Which State Manager reads were allowed, denied or could not be tried in one scope."""

    allowed: list[str] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    unverifiable: dict[str, str] = field(default_factory=dict)
    unreachable: str | None = None

    def call(self, operation: str, make: Callable[[], Any]) -> Any:
        """The answer, or None when the call was refused (and record what that proves)."""
        try:
            answer = make()
        except ClientError as exc:
            code = error_code(exc)
            if code in DENIED:
                self.denied.append(operation)
            elif code in NOT_ANSWERED:
                self.failed[operation] = describe_error(exc)
            else:  # not found, invalid ID...: AWS checked the permission before the resource
                self.allowed.append(operation)
            return None
        except BotoCoreError as exc:
            self.unreachable = describe_error(exc)
            raise _Unreachable from exc
        self.allowed.append(operation)
        return answer

    def cannot(self, operations: tuple[str, ...], reason: str) -> None:
        for operation in operations:
            self.unverifiable.setdefault(operation, reason)


@dataclass
class ScopeProbe:
    ssm: ReadProbe
    security_hub: Finding | None
    config: Finding | None
    recorded: Finding | None = None  # whether Config records what SSM.3's rule evaluates


def probe_scope(access: AwsAccess, scope: Scope) -> ScopeProbe:
    reads = ReadProbe()
    try:
        ssm = access.ssm(scope)
    except (ClientError, BotoCoreError) as exc:  # credentials, region
        reads.unreachable = describe_error(exc)
        return ScopeProbe(reads, None, None)
    try:
        probe_state_manager(ssm, reads)
    except _Unreachable:
        return ScopeProbe(reads, None, None)
    finally:
        ssm.close()
    return ScopeProbe(
        reads,
        judge_security_hub(_ask(lambda: _ssm3_associations(access, scope))),
        judge_config(_ask(lambda: _recorders(access, scope))),
        judge_recorded_types(_ask(lambda: _recorder_settings(access, scope))),
    )


def probe_state_manager(ssm: SSMClient, probe: ReadProbe) -> None:
    """Try each read once, feeding IDs from earlier answers into the calls that need them."""
    listing = probe.call("ListAssociations", lambda: ssm.list_associations(MaxResults=1))
    instances = probe.call(
        "DescribeInstanceInformation", lambda: ssm.describe_instance_information(MaxResults=5)
    )
    association_id = _first(listing, "Associations", "AssociationId")
    instance_id = _first(instances, "InstanceInformationList", "InstanceId")
    summaries = probe.call(
        "ListResourceComplianceSummaries",
        lambda: ssm.list_resource_compliance_summaries(
            Filters=ASSOCIATION_NONCOMPLIANT, MaxResults=1
        ),
    )
    if association_id is None:
        probe.cannot(NEEDS_ASSOCIATION, _why_missing(probe, "ListAssociations", "no associations"))
    else:
        probe.call(
            "DescribeAssociation", lambda: ssm.describe_association(AssociationId=association_id)
        )
        executions = probe.call(
            "DescribeAssociationExecutions",
            lambda: ssm.describe_association_executions(AssociationId=association_id, MaxResults=1),
        )
        execution_id = _first(executions, "AssociationExecutions", "ExecutionId")
        if execution_id is None:
            reason = _why_missing(probe, "DescribeAssociationExecutions", "no association has run")
            probe.cannot(("DescribeAssociationExecutionTargets", "GetCommandInvocation"), reason)
        else:
            targets = probe.call(
                "DescribeAssociationExecutionTargets",
                lambda: ssm.describe_association_execution_targets(
                    AssociationId=association_id, ExecutionId=execution_id, MaxResults=1
                ),
            )
            target: dict[str, Any] = next(
                iter((targets or {}).get("AssociationExecutionTargets", [])), {}
            )
            command_id = target.get("OutputSource", {}).get("OutputSourceId")
            instance_id = target.get("ResourceId") or instance_id
            if command_id and target.get("ResourceId"):
                probe.call(
                    "GetCommandInvocation",
                    lambda: ssm.get_command_invocation(
                        CommandId=command_id, InstanceId=target["ResourceId"]
                    ),
                )
            else:
                reason = _why_missing(
                    probe, "DescribeAssociationExecutionTargets", "no run with a command"
                )
                probe.cannot(("GetCommandInvocation",), reason)
    if instance_id is None:
        reason = _why_missing(probe, "DescribeInstanceInformation", "no managed instances")
        probe.cannot(("DescribeInstanceAssociationsStatus",), reason)
    else:
        probe.call(
            "DescribeInstanceAssociationsStatus",
            lambda: ssm.describe_instance_associations_status(InstanceId=instance_id, MaxResults=1),
        )
    resource_id = _first(summaries, "ResourceComplianceSummaryItems", "ResourceId") or instance_id
    if resource_id is None:
        reason = _why_missing(probe, "DescribeInstanceInformation", "no managed instances")
        probe.cannot(("ListComplianceItems",), reason)
    else:
        probe.call(
            "ListComplianceItems",
            lambda: ssm.list_compliance_items(
                ResourceIds=[resource_id], ResourceTypes=["ManagedInstance"], MaxResults=1
            ),
        )


def _why_missing(probe: ReadProbe, source: str, absent: str) -> str:
    """Why an ID was not at hand: the call that lists it failed (already reported), or the
    estate has none yet."""
    return f"needs ssm:{source}" if source not in probe.allowed else absent


def _first(answer: Any, items: str, key: str) -> str | None:
    for item in (answer or {}).get(items, []):
        value = item.get(key)
        if value:
            return str(value)
    return None


@dataclass(frozen=True)
class _Asked:
    answer: Any = None
    code: str | None = None  # the AWS error code, or "unreachable"
    message: str = ""


def _ask(call: Callable[[], Any]) -> _Asked:
    try:
        return _Asked(call())
    except ClientError as exc:
        return _Asked(code=error_code(exc), message=describe_error(exc))
    except BotoCoreError as exc:
        return _Asked(code="unreachable", message=describe_error(exc))


def _ssm3_associations(access: AwsAccess, scope: Scope) -> list[Any]:
    client: SecurityHubClient = access.securityhub(scope)
    try:
        reply = client.list_standards_control_associations(SecurityControlId="SSM.3", MaxResults=25)
    finally:
        client.close()
    return list(reply.get("StandardsControlAssociationSummaries", []))


def _failed_ssm3(access: AwsAccess, home: Scope) -> list[Any]:
    """One page of the findings the sweep's cross-check reads, with the bot's own identity."""
    client: SecurityHubClient = access.securityhub(home)
    try:
        reply = client.get_findings(Filters=SSM3_FAILED_FILTERS, MaxResults=1)
    finally:
        client.close()
    return list(reply.get("Findings", []))


def _recorders(access: AwsAccess, scope: Scope) -> list[Any]:
    client: ConfigServiceClient = access.config_service(scope)
    try:
        reply = client.describe_configuration_recorder_status()
    finally:
        client.close()
    return list(reply.get("ConfigurationRecordersStatus", []))


def _recorder_settings(access: AwsAccess, scope: Scope) -> list[Any]:
    client: ConfigServiceClient = access.config_service(scope)
    try:
        reply = client.describe_configuration_recorders()
    finally:
        client.close()
    return list(reply.get("ConfigurationRecorders", []))


# -- judging ----------------------------------------------------------------------------------------


def judge_state_manager(probe: ReadProbe, own_account: bool, role_name: str) -> Iterator[Finding]:
    if probe.unreachable:
        yield Finding(
            "fail",
            f"State Manager did not answer in {WHERE} ({probe.unreachable})",
            "check network access to the SSM endpoint (proxy, VPC endpoint) and AWS_ENDPOINT_URL",
        )
        return
    grant = (
        f"attach {READONLY_POLICY} to the bot's own identity"
        if own_account
        else f"add it to role {role_name} there ({READONLY_POLICY} grants it; redeploy "
        f"{MEMBER_ROLE_STACK})"
    )
    for operation in probe.denied:
        yield Finding("fail", f"ssm:{operation} denied in {WHERE}", grant)
    for operation, message in probe.failed.items():
        yield Finding("fail", f"ssm:{operation} failed in {WHERE} ({message})", "run doctor again")
    if probe.denied or probe.failed:
        return
    unverifiable = {
        op: why for op, why in probe.unverifiable.items() if not why.startswith("needs")
    }
    if not unverifiable:
        yield Finding("pass", f"all {len(SSM_READS)} State Manager reads allowed in {WHERE}")
        return
    yield Finding("pass", f"{len(probe.allowed)} State Manager reads allowed in {WHERE}")
    by_reason: dict[str, list[str]] = {}
    for operation, why in unverifiable.items():
        by_reason.setdefault(why, []).append(f"ssm:{operation}")
    for why, operations in by_reason.items():
        yield Finding(
            "warn",
            f"not verifiable in {WHERE}, {why}: {', '.join(operations)}",
            "run doctor again once State Manager has associations that ran there",
        )


def judge_security_hub(asked: _Asked) -> Finding:
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


def judge_cross_check(region: str, asked: _Asked) -> Check:
    """Whether each sweep can read SSM.3's verdict (SSM3_SECURITYHUB=check)."""
    what = f"Security Hub cross-check in {region} (SSM3_SECURITYHUB_REGION)"
    if asked.code in DENIED:
        return Check(
            SECTION,
            "warn",
            f"{what}: securityhub:GetFindings denied, so the digest cannot say whether Security "
            "Hub agrees",
            f"attach {policy_for('securityhub:GetFindings')} to the bot's identity, "
            "or set SSM3_SECURITYHUB=off",
        )
    if asked.code == "InvalidAccessException":
        return Check(
            SECTION,
            "warn",
            f"{what}: Security Hub is not enabled for the bot's account there",
            "set SSM3_SECURITYHUB_REGION to the aggregation home region of the Security Hub "
            "administrator account the bot runs in",
        )
    if asked.code is not None:
        return Check(SECTION, "warn", f"{what}: unreadable ({asked.message})")
    return Check(SECTION, "pass", f"{what}: SSM.3 findings readable")


def judge_config(asked: _Asked) -> Finding:
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


def judge_recorded_types(asked: _Asked) -> Finding | None:
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
