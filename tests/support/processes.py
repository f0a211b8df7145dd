"""Helpers for tests that run `ssm3bot` as a user does: the console script in a subprocess,
`serve` with its logs in files, a free port, waiting for /healthz; and real-looking secrets."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.clock_shift import subprocess_env


def ssm3bot(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("ssm3bot") or str(Path(sys.executable).with_name("ssm3bot"))
    return subprocess.run(
        [executable, *args],
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), **subprocess_env(), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(
    port: int, process: subprocess.Popen[str], *, has: str | None = None
) -> dict[str, Any]:
    """/healthz's document once it answers 200 (and, with `has`, once it holds that entry:
    parts such as the events poller start a moment after the port answers)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited: {process.communicate()[1]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            reply = conn.getresponse()
            if reply.status == 200:
                document = dict(json.loads(reply.read()))
                if has is None or has in document:
                    return document
            time.sleep(0.05)
        except OSError:
            time.sleep(0.05)  # not listening yet
        finally:
            conn.close()
    raise AssertionError("serve did not become healthy" + (f" with {has}" if has else ""))


BOT_TOKEN = "xoxb-5521973920131-7788990011223-Zq3pR8sT1uV4wX7yA0bC2dE5"
APP_TOKEN = "xapp-1-A07SSM3BOT1-7788990011224-4f0c1b2a3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6"
SIGNING_SECRET = "a8f3c1e9b2d74f6a0c5e8b1d3f7a9c2e"


def serve(env: dict[str, str], cwd: Path, *, debug: bool = True) -> subprocess.Popen[bytes]:
    """`ssm3bot --debug serve`, its stdout and stderr going to files in `cwd` (a pipe would fill
    up with DEBUG output and stall it)."""
    executable = shutil.which("ssm3bot") or str(Path(sys.executable).with_name("ssm3bot"))
    with (cwd / "stdout.log").open("wb") as out, (cwd / "stderr.log").open("wb") as err:
        return subprocess.Popen(
            [executable, *(["--debug"] if debug else []), "serve"],
            env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), **subprocess_env(), **env},
            cwd=cwd,
            stdout=out,
            stderr=err,
        )


def captured(cwd: Path) -> tuple[str, str]:
    return (
        (cwd / "stdout.log").read_text(errors="replace"),
        (cwd / "stderr.log").read_text(errors="replace"),
    )
