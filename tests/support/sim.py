"""A running simulator (bot/sim/) and the ways a test reaches it as a real client would:
boto3 sessions, AwsAccess, and the environment of a subprocess."""

from __future__ import annotations

from typing import Any

import boto3

from bot.aws.session import AwsAccess
from bot.sim.fleet import Fleet
from bot.sim.server import SimServer
from tests.support.clock_shift import subprocess_env


class Sim:
    """A running simulator: the fleet behind it and helpers to reach it like a real client."""

    def __init__(self, fleet: Fleet, server: SimServer) -> None:
        self.fleet = fleet
        self.server = server

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url

    def session(self, region: str = "eu-west-1") -> boto3.Session:
        credentials = self.fleet.caller_credentials
        return boto3.Session(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            region_name=region,
        )

    def access(self, **kwargs: Any) -> AwsAccess:
        kwargs.setdefault("role_name", self.fleet.role_name)
        return AwsAccess(session=self.session(), endpoint_url=self.endpoint_url, **kwargs)

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a subprocess that should reach this simulator as 'AWS'."""
        credentials = self.fleet.caller_credentials
        return {
            "AWS_ACCESS_KEY_ID": credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
            "AWS_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            **subprocess_env(),
            **extra,
        }
