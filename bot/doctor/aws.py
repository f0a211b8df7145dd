"""AWS checks: who the bot is, which account-regions it would sweep, whether each account's
role can be assumed, whether every State Manager read the bot makes is allowed in each
account-region (`bot.doctor.aws_reads`), and whether Security Hub evaluates SSM.3 and AWS
Config records there (`bot.doctor.aws_ssm3`).

Account-regions are probed in a pool with short timeouts and few attempts, and a scope that
stops answering is abandoned after its first connection error, so one dead endpoint cannot
stall the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from bot.aws.errors import (
    AWS_ERRORS,
    BOT_POLICY,
    DENIED,
    MEMBER_ROLE_STACK,
    ORG_POLICY,
    describe_error,
    error_code,
    policy_for,
)
from bot.aws.securityhub import security_hub_region
from bot.aws.session import AwsAccess
from bot.doctor.aws_reads import (
    NEEDS_ASSOCIATION,
    SSM_READS,
    ReadProbe,
    Unreachable,
    judge_state_manager,
    probe_state_manager,
)
from bot.doctor.aws_ssm3 import (
    ASSOCIATION_COMPLIANCE,
    SSM3_CONFIG_RULE,
    Asked,
    ask,
    failed_ssm3,
    judge_config,
    judge_recorded_types,
    judge_security_hub,
    judge_sync,
    probe_sync,
    recorder_settings,
    recorders,
    records_association_compliance,
    ssm3_associations,
)
from bot.doctor.checks import WHERE, Check, Finding, grouped
from bot.doctor.hubs import hub_findings
from bot.models import Scope
from bot.settings.config import ConfigError, Settings
from bot.sweeping.sweep import SweepError, resolve_scopes

__all__ = [
    "ACCESS_OPTIONS",
    "ASSOCIATION_COMPLIANCE",
    "NEEDS_ASSOCIATION",
    "SECTION",
    "SSM3_CONFIG_RULE",
    "SSM_READS",
    "ReadProbe",
    "ScopeProbe",
    "aws_checks",
    "judge_accounts_error",
    "judge_config",
    "judge_cross_check",
    "judge_identity_error",
    "judge_recorded_types",
    "judge_security_hub",
    "judge_state_manager",
    "probe_scope",
    "probe_state_manager",
    "records_association_compliance",
]

SECTION = "AWS"
# Short timeouts and one retry: a check that hangs helps nobody.
ACCESS_OPTIONS: dict[str, Any] = {"max_attempts": 2, "connect_timeout_s": 3, "read_timeout_s": 10}


def aws_checks(settings: Settings, make_access: Callable[[], AwsAccess]) -> list[Check]:
    try:
        access = make_access()
        arn, account = access.caller_arn, access.caller_account
    except AWS_ERRORS as exc:
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
        checks.append(judge_cross_check(region, ask(lambda: failed_ssm3(access, home))))
        sync_workflow = settings.ack_workflow if settings.securityhub == "sync" else None
        checks.extend(
            Check(SECTION, said.status, said.text, said.fix)
            for said in hub_findings(access, home, sync=sync_workflow)
        )
    if settings.securityhub == "sync":
        workflow = settings.ack_workflow
        sync = judge_sync(region, workflow, ask(lambda: probe_sync(access, home, workflow)))
        checks.append(Check(SECTION, sync.status, sync.text, sync.fix))
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
    except AWS_ERRORS as exc:
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
    except AWS_ERRORS as exc:  # credentials, region
        reads.unreachable = describe_error(exc)
        return ScopeProbe(reads, None, None)
    try:
        probe_state_manager(ssm, reads)
    except Unreachable:
        return ScopeProbe(reads, None, None)
    finally:
        ssm.close()
    return ScopeProbe(
        reads,
        judge_security_hub(ask(lambda: ssm3_associations(access, scope))),
        judge_config(ask(lambda: recorders(access, scope))),
        judge_recorded_types(ask(lambda: recorder_settings(access, scope))),
    )


# -- the sweep's Security Hub cross-check -----------------------------------------------------------


def judge_cross_check(region: str, asked: Asked) -> Check:
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
