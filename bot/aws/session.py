"""AWS clients per account-region: the caller's own account directly, others via AssumeRole.

One AssumeRole per account serves all its regions, and its credentials refresh themselves
before they expire (botocore's RefreshableCredentials), so a `serve` process that lives for
weeks never sweeps with stale keys. All per-account sessions share one model loader: a
botocore session per account would otherwise parse the SSM model hundreds of times.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, RefreshableCredentials

from bot.config import Settings
from bot.models import Scope

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_securityhub import SecurityHubClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient

SESSION_NAME = "ssm3-bot"
DEFAULT_STS_REGION = "us-east-1"


class _FixedProvider(CredentialProvider):
    """Hands botocore the refreshable credentials we built, ahead of every other source."""

    METHOD = "ssm3-assume-role"
    CANONICAL_NAME = "ssm3-assume-role"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self._credentials


class AwsAccess:
    """Builds and caches clients; safe to share between the sweep's worker threads."""

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
        self._lock = threading.Lock()
        self._create_lock = (
            threading.Lock()
        )  # boto3 sessions are not safe to build clients concurrently
        self._account_locks: dict[str, threading.Lock] = {}
        self._sessions: dict[str, boto3.Session] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}
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

    def _identity_once(self) -> dict[str, str]:
        with self._lock:
            if self._identity is None:
                sts = self._client(self._base, "sts", self.default_region or DEFAULT_STS_REGION)
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

    def organization_accounts(self) -> list[str]:
        """ACTIVE member accounts of the organisation (needs organizations:ListAccounts)."""
        org: OrganizationsClient = self._client(self._base, "organizations", DEFAULT_STS_REGION)
        accounts: list[str] = []
        for page in org.get_paginator("list_accounts").paginate():
            accounts.extend(a["Id"] for a in page["Accounts"] if a.get("Status") == "ACTIVE")
        return accounts

    # -- clients ------------------------------------------------------------------------------
    def warm_up(self, services: tuple[str, ...] = ("ssm", "sts")) -> None:
        """Build (and drop) a client per service so botocore parses its model now, not inside
        the first request that needs it: a parse holds the GIL for tens of milliseconds."""
        region = self.default_region or DEFAULT_STS_REGION
        for service in services:
            self._client(self._base, service, region)

    def ssm(self, scope: Scope) -> SSMClient:
        client: SSMClient = self._scoped_client(scope, "ssm")
        return client

    def securityhub(self, scope: Scope) -> SecurityHubClient:
        client: SecurityHubClient = self._scoped_client(scope, "securityhub")
        return client

    def config_service(self, scope: Scope) -> ConfigServiceClient:
        client: ConfigServiceClient = self._scoped_client(scope, "config")
        return client

    def _scoped_client(self, scope: Scope, service: str) -> Any:
        key = (scope.account_id, scope.region, service)
        with self._lock:
            if key in self._clients:
                return self._clients[key]
        session = self.session_for(scope.account_id)
        client = self._client(session, service, scope.region)
        with self._lock:
            return self._clients.setdefault(key, client)

    def session_for(self, account_id: str) -> boto3.Session:
        """The caller's session for its own account; an assumed-role session for any other."""
        if account_id == self.caller_account:
            return self._base
        with self._lock:
            account_lock = self._account_locks.setdefault(account_id, threading.Lock())
        with account_lock:  # one AssumeRole per account, even when its regions start together
            if account_id not in self._sessions:
                self._sessions[account_id] = self._assumed_session(account_id)
            return self._sessions[account_id]

    def forget(self, account_id: str) -> None:
        """Drop an account's cached session and clients (after its role was denied, say)."""
        with self._lock:
            self._sessions.pop(account_id, None)
            for key in [k for k in self._clients if k[0] == account_id]:
                del self._clients[key]

    def role_arn(self, account_id: str) -> str:
        return f"arn:{self.partition}:iam::{account_id}:role/{self.role_name}"

    def _assumed_session(self, account_id: str) -> boto3.Session:
        sts: STSClient = self._client(self._base, "sts", self.default_region or DEFAULT_STS_REGION)
        role_arn = self.role_arn(account_id)

        def fetch() -> dict[str, str]:
            self.assume_role_calls += 1
            reply = sts.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)
            creds = reply["Credentials"]
            expiration: datetime = creds["Expiration"]
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": expiration.astimezone(UTC).isoformat(),
            }

        advisory, mandatory = self._refresh_window or (None, None)
        credentials = RefreshableCredentials.create_from_metadata(
            metadata=fetch(),
            refresh_using=fetch,
            method="sts-assume-role",
            advisory_timeout=advisory,
            mandatory_timeout=mandatory,
        )
        core = botocore.session.Session()
        # Share the parsed service models; each botocore session would load its own copy.
        core.register_component("data_loader", self._base._session.get_component("data_loader"))
        core.get_component("credential_provider").insert_before("env", _FixedProvider(credentials))
        return boto3.Session(botocore_session=core, region_name=self.default_region)

    def _client(self, session: boto3.Session, service: str, region: str) -> Any:
        make: Callable[..., Any] = session.client
        with self._create_lock:
            return make(
                service, region_name=region, endpoint_url=self.endpoint_url, config=self.config
            )
