"""The simulated AWS in its own process, so its memory and CPU are never counted as the bot's.

Starts `python -m bot.sim --control` and speaks its stdin protocol: call counts and resets.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

REGIONS = ("eu-west-1", "us-east-1", "eu-central-1", "ap-southeast-2")


@dataclass(frozen=True)
class FleetShape:
    """The fleet the benchmarks sweep: the issue's organisation unless told otherwise."""

    accounts: int = 100
    regions: tuple[str, ...] = REGIONS
    associations: int = 50
    failing: int = 2
    instances: int = 500
    failed_instances: tuple[int, int] = (1, 5)
    # generate_fleet's SSM.3 knobs, off by default (then the fleet is the issue-7 one):
    manual: int = 0  # MANUAL patch-scanning associations, every run succeeding
    manual_noncompliant: tuple[int, int] = (1, 3)  # instances each reports NON_COMPLIANT
    patch_noise: bool = False  # NON_COMPLIANT Patch items on a few instances (not SSM.3's)
    timed_out: int = 0  # associations whose latest run timed out on 1-2 instances
    failing_every: int = 1  # only every n-th account-region has the failing associations
    latency_ms: float = 20
    seed: int = 7
    validate: bool = True  # costs ~0.1-0.4 ms of simulator CPU a call: kept on

    @property
    def scopes(self) -> int:
        return self.accounts * len(self.regions)

    @property
    def associations_per_scope(self) -> int:
        return self.associations + self.manual + self.timed_out

    def describe(self) -> str:
        low, high = self.failed_instances
        extras = []
        if self.manual:
            m_low, m_high = self.manual_noncompliant
            extras.append(
                f"{self.manual} MANUAL patch associations reporting {m_low}-{m_high} "
                "NON_COMPLIANT instances each"
            )
        if self.timed_out:
            extras.append(f"{self.timed_out} timed out on 1-2 instances")
        if self.patch_noise:
            extras.append("Patch compliance noise")
        return (
            f"{self.accounts} accounts x {len(self.regions)} regions, per account-region "
            f"{self.associations} associations ({self.failing} failing on {low}-{high} instances)"
            + "".join(f" + {e}" for e in extras)
            + f" and {self.instances} instances; {self.latency_ms:g} ms latency on every AWS call"
        )


class SimProcess:
    """A running simulator process; use as a context manager."""

    def __init__(self, shape: FleetShape) -> None:
        self.shape = shape
        low, high = shape.failed_instances
        command = [
            sys.executable,
            "-m",
            "bot.sim",
            "--control",
            "--port=0",
            f"--seed={shape.seed}",
            f"--accounts={shape.accounts}",
            f"--regions={','.join(shape.regions)}",
            f"--associations={shape.associations}",
            f"--failing={shape.failing}",
            f"--instances={shape.instances}",
            f"--failed-instances={low}-{high}",
            f"--latency-ms={shape.latency_ms}",
            f"--manual={shape.manual}",
            "--manual-noncompliant={},{}".format(*shape.manual_noncompliant),
            f"--timed-out={shape.timed_out}",
            f"--failing-every={shape.failing_every}",
        ]
        if shape.patch_noise:
            command.append("--patch-noise")
        if not shape.validate:
            command.append("--no-validate")
        started = time.perf_counter()
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        hello = self._read()
        self.start_s = time.perf_counter() - started
        self.endpoint_url: str = hello["endpoint_url"]
        self.access_key_id: str = hello["access_key_id"]
        self.secret_access_key: str = hello["secret_access_key"]
        self.accounts: list[str] = hello["accounts"]

    def _read(self) -> dict[str, Any]:
        stream: IO[str] | None = self._process.stdout
        assert stream is not None
        line = stream.readline()
        if not line:
            raise RuntimeError("the simulator process ended unexpectedly")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _ask(self, command: str) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        return self._read()

    def counts(self, *, reset: bool = True) -> dict[str, int]:
        """Calls by `service:Operation` since the last reset."""
        reply = self._ask("counts")
        if reply["violations"]:
            raise RuntimeError(f"{reply['violations']} responses left botocore's shapes")
        if reset:
            self._ask("reset")
        counts: dict[str, int] = reply["counts"]
        return counts

    @property
    def pid(self) -> int:
        return self._process.pid

    def cpu_s(self) -> float:
        """CPU seconds the simulator process has used so far (Linux /proc)."""
        with open(f"/proc/{self._process.pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def env(self, **extra: str) -> dict[str, str]:
        """Environment in which `ssm3bot` (or boto3) reaches this simulator as AWS."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": self.shape.regions[0],
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            **extra,
        }

    def close(self) -> None:
        if self._process.poll() is None:
            stdin = self._process.stdin
            if stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    stdin.write("quit\n")
                    stdin.flush()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def total(counts: Mapping[str, int], *operations: str) -> int:
    """All calls, or the calls of the named operations (`AssumeRole` or `sts:AssumeRole`)."""
    if not operations:
        return sum(counts.values())
    return sum(
        n for name, n in counts.items() if name in operations or name.split(":")[1] in operations
    )
