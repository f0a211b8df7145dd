"""AWS clients per account-region: the caller's own account directly, others via AssumeRole.

One AssumeRole per account serves all its regions, and the credentials refresh themselves
before they expire (botocore's RefreshableCredentials), so a `serve` process that lives for
weeks never sweeps with stale keys.

What is kept per account is only those credentials (a few hundred bytes). Clients are not
kept: a botocore client costs about 400 KB and a botocore session per account about 700 KB,
so caching them grew a sweep of 400 account-regions past 300 MB (see docs/benchmarks.md).
Each call to `ssm()` builds a fresh client from the one base session, signed with the
account's credentials as they stand; a sweep uses it for one scope and closes it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials, RefreshableCredentials

from bot.models import Scope
from bot.settings.config import Settings

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_securityhub import SecurityHubClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient

SESSION_NAME = "ssm3-bot"
DEFAULT_STS_REGION = "us-east-1"


def account_active(account: Mapping[str, Any]) -> bool:
    """An organisation member to sweep: `State` ACTIVE. `Status` was retired on 2026-09-09 and
    is read only where an older endpoint still sends it without `State`."""
    state = account.get("State") or account.get("Status")
    return state == "ACTIVE"


def _aware_now() -> datetime:
    return datetime.now(UTC)


class AwsAccess:
    """Builds clients and keeps each account's credentials; safe to share between threads."""

    def __init__(
        self,
        *,
        session: boto3.Session | None = None,
        role_name: str = "SSM3ReadOnly",
        endpoint_url: str | None = None,
        max_attempts: int = 8,
        connect_timeout_s: float = 5,
        read_timeout_s: float = 30,
        max_pool_connections: int = 10,
        refresh_window_s: tuple[int, int] | None = None,
        clock: Callable[[], datetime] = _aware_now,
    ) -> None:
        self._base = session or boto3.Session()
        self.role_name = role_name
        self.endpoint_url = endpoint_url
        self.config = Config(
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
            max_pool_connections=max_pool_connections,
            user_agent_extra="ssm3-bot",
        )
        self._refresh_window = refresh_window_s
        self._clock = clock  # when credentials count as expired; tests move it forward
        self._lock = threading.Lock()
        # boto3 sessions are not safe to build clients from concurrently. Client creation is
        # CPU work under the GIL either way, so the lock costs no parallelism.
        self._create_lock = threading.Lock()
        self._account_locks: dict[str, threading.Lock] = {}
        self._credentials: dict[str, RefreshableCredentials] = {}
        self._sts: STSClient | None = None
        self._identity: dict[str, str] | None = None
        self.assume_role_calls = 0

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> AwsAccess:
        """boto3's own credential and region chain, with AWS_REGION as a last resort for the region.
        `options` go to the constructor (doctor asks for short timeouts and few attempts)."""
        session = boto3.Session()
        if session.region_name is None and settings.aws_region:
            session = boto3.Session(region_name=settings.aws_region)
        return cls(session=session, role_name=settings.role_name, **options)

    # -- who we are ---------------------------------------------------------------------------
    @property
    def default_region(self) -> str | None:
        return self._base.region_name

    def _sts_client(self) -> STSClient:
        with self._lock:
            if self._sts is None:
                region = self.default_region or DEFAULT_STS_REGION
                self._sts = self._client(service="sts", region=region)
            return self._sts

    def _identity_once(self) -> dict[str, str]:
        sts = self._sts_client()
        with self._lock:
            if self._identity is None:
                reply = sts.get_caller_identity()
                self._identity = {"account": reply["Account"], "arn": reply["Arn"]}
            return self._identity

    @property
    def caller_account(self) -> str:
        """The account of the credentials the process runs with (STS GetCallerIdentity)."""
        return self._identity_once()["account"]

    @property
    def caller_arn(self) -> str:
        """The ARN of the identity the process runs as."""
        return self._identity_once()["arn"]

    @property
    def partition(self) -> str:
        """aws, aws-us-gov or aws-cn, read from the caller's ARN, for role ARNs."""
        return self._identity_once()["arn"].split(":")[1]

    def organization_accounts(self) -> list[tuple[str, str | None]]:
        """ACTIVE member accounts of the organisation, (ID, name), in its order (needs
        organizations:ListAccounts)."""
        org: OrganizationsClient = self._client(service="organizations", region=DEFAULT_STS_REGION)
        try:
            accounts: list[tuple[str, str | None]] = []
            for page in org.get_paginator("list_accounts").paginate():
                accounts.extend(
                    (a["Id"], a.get("Name") or None) for a in page["Accounts"] if account_active(a)
                )
            return accounts
        finally:
            org.close()

    # -- clients ------------------------------------------------------------------------------
    def warm_up(self, services: tuple[str, ...] = ("ssm", "sts")) -> None:
        """Build (and drop) a client per service so botocore parses its model now, not inside
        the first request that needs it: a parse holds the GIL for tens of milliseconds."""
        region = self.default_region or DEFAULT_STS_REGION
        for service in services:
            self._client(service=service, region=region).close()

    def ssm(self, scope: Scope) -> SSMClient:
        """A new SSM client for one account-region; close it when done.

        Its credentials are frozen when it is built and stay valid for at least ten minutes
        (botocore refreshes them sooner than that), so ask again for longer work.
        """
        client: SSMClient = self.client(scope, "ssm")
        return client

    def securityhub(self, scope: Scope) -> SecurityHubClient:
        """A new Security Hub client for one account-region (doctor reads SSM.3's status)."""
        client: SecurityHubClient = self.client(scope, "securityhub")
        return client

    def config_service(self, scope: Scope) -> ConfigServiceClient:
        """A new AWS Config client for one account-region (doctor reads recorder status)."""
        client: ConfigServiceClient = self.client(scope, "config")
        return client

    def sqs(self, region: str | None, *, read_timeout_s: float = 40) -> SQSClient:
        """An SQS client with the process's own credentials, for the events queue (which lives
        in the bot's account). Its endpoint is boto3's own choice (AWS_ENDPOINT_URL_SQS, then
        AWS_ENDPOINT_URL), never a simulator override; its read timeout outlasts a 20 s long
        poll; two attempts a call, since the poller backs off on its own."""
        config = self.config.merge(
            Config(
                read_timeout=read_timeout_s,
                retries={"mode": "standard", "total_max_attempts": 2},
            )
        )
        with self._create_lock:
            client: SQSClient = self._base.client(
                "sqs",
                region_name=region or self.default_region or DEFAULT_STS_REGION,
                config=config,
            )
        return client

    def client(self, scope: Scope, service: str, *, attempts: int | None = None) -> Any:
        """A new client of any service for one account-region (AssumeRole on first use);
        `attempts`: botocore's attempts per call, where fewer than the default suit better."""
        return self._client(
            service=service,
            region=scope.region,
            credentials=self.credentials_for(scope.account_id),
            attempts=attempts,
        )

    def credentials_for(self, account_id: str) -> ReadOnlyCredentials | None:
        """The account's current assumed-role credentials; None for the caller's own account.

        The first call for an account assumes its role; later calls reuse the credentials and
        assume the role again only when they are about to expire.
        """
        if account_id == self.caller_account:
            return None
        with self._lock:
            account_lock = self._account_locks.setdefault(account_id, threading.Lock())
        with account_lock:  # one AssumeRole per account, even when its regions start together
            credentials = self._credentials.get(account_id)
            if credentials is None:
                credentials = self._assume(account_id)
                self._credentials[account_id] = credentials
        return credentials.get_frozen_credentials()

    def forget(self, account_id: str) -> None:
        """Drop an account's credentials (after its role was denied, say)."""
        with self._lock:
            self._credentials.pop(account_id, None)

    def role_arn(self, account_id: str) -> str:
        return f"arn:{self.partition}:iam::{account_id}:role/{self.role_name}"

    def _assume(self, account_id: str) -> RefreshableCredentials:
        sts = self._sts_client()
        role_arn = self.role_arn(account_id)

        def fetch() -> dict[str, Any]:
            with self._lock:
                self.assume_role_calls += 1
            reply = sts.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)
            creds = reply["Credentials"]
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": creds["Expiration"].astimezone(UTC).isoformat(),
            }

        first = fetch()
        advisory, mandatory = self._refresh_window or (None, None)
        return RefreshableCredentials(
            access_key=first["access_key"],
            secret_key=first["secret_key"],
            token=first["token"],
            expiry_time=datetime.fromisoformat(first["expiry_time"]),
            refresh_using=fetch,
            method="sts-assume-role",
            time_fetcher=self._clock,
            advisory_timeout=advisory,
            mandatory_timeout=mandatory,
        )

    def _client(
        self,
        *,
        service: str,
        region: str,
        credentials: ReadOnlyCredentials | None = None,
        attempts: int | None = None,
    ) -> Any:
        keys: dict[str, str | None] = {}
        if credentials is not None:
            keys = {
                "aws_access_key_id": credentials.access_key,
                "aws_secret_access_key": credentials.secret_key,
                "aws_session_token": credentials.token,
            }
        make: Callable[..., Any] = self._base.client
        with self._create_lock:
            return make(
                service,
                region_name=region,
                endpoint_url=self.endpoint_url,
                config=self.config
                if attempts is None
                else self.config.merge(
                    Config(retries={"mode": "standard", "total_max_attempts": attempts})
                ),
                **keys,
            )
