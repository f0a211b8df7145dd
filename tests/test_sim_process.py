"""`python -m bot.sim --control`: the simulator in its own process, as the benchmarks run it,
answering boto3 over loopback and reporting its call counts on stdin/stdout."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest


@pytest.fixture
def sim_process() -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.sim",
            "--control",
            "--port=0",
            "--accounts=2",
            "--regions=eu-west-1",
            "--associations=55",
            "--instances=10",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def _ask(process: subprocess.Popen[str], command: str) -> dict[str, Any]:
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(command + "\n")
    process.stdin.flush()
    reply: dict[str, Any] = json.loads(process.stdout.readline())
    return reply


def test_control_channel_reports_and_resets_call_counts(
    sim_process: subprocess.Popen[str],
) -> None:
    assert sim_process.stdout is not None
    hello = json.loads(sim_process.stdout.readline())
    assert len(hello["accounts"]) == 2
    ssm = boto3.client(
        "ssm",
        region_name="eu-west-1",
        endpoint_url=hello["endpoint_url"],
        aws_access_key_id=hello["access_key_id"],
        aws_secret_access_key=hello["secret_access_key"],
    )
    pages = list(ssm.get_paginator("list_associations").paginate())
    ssm.close()
    assert sum(len(p["Associations"]) for p in pages) == 55

    assert _ask(sim_process, "counts") == {"counts": {"ssm:ListAssociations": 2}, "violations": 0}
    assert _ask(sim_process, "reset") == {"ok": True}
    assert _ask(sim_process, "counts") == {"counts": {}, "violations": 0}
    assert "error" in _ask(sim_process, "launch")

    assert sim_process.stdin is not None
    sim_process.stdin.write("quit\n")
    sim_process.stdin.flush()
    assert sim_process.wait(timeout=10) == 0


def test_a_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "bot.sim", f"--port={port}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"python -m bot.sim: cannot listen on 127.0.0.1:{port}: Address already in use; "
        "choose another with --port (0: any free one)"
    ]


def test_the_ssm3_knobs_reach_the_fleet() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.sim",
            "--control",
            "--port=0",
            "--accounts=1",
            "--regions=eu-west-1",
            "--associations=5",
            "--failing=0",
            "--instances=60",
            "--manual=2",
            "--manual-noncompliant=2,2",
            "--patch-noise",
            "--timed-out=1",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        hello = json.loads(process.stdout.readline())
        ssm = boto3.client(
            "ssm",
            region_name="eu-west-1",
            endpoint_url=hello["endpoint_url"],
            aws_access_key_id=hello["access_key_id"],
            aws_secret_access_key=hello["secret_access_key"],
        )
        listed = ssm.list_associations()["Associations"]
        names = {a.get("AssociationName"): a["AssociationId"] for a in listed}
        assert len(listed) == 5 + 2 + 1
        manual = [names["patch-scan-quicksetup"], names["patch-scan-quicksetup-2"]]
        for association_id in manual:
            description = ssm.describe_association(AssociationId=association_id)
            assert description["AssociationDescription"]["SyncCompliance"] == "MANUAL"
        timed_out = ssm.describe_association_executions(
            AssociationId=names["long-running-backup-1"]
        )["AssociationExecutions"][0]
        assert "TimedOut" in timed_out["ResourceCountByStatus"]

        summaries = ssm.list_resource_compliance_summaries()["ResourceComplianceSummaryItems"]
        kinds = {s["ComplianceType"] for s in summaries if s["Status"] == "NON_COMPLIANT"}
        assert {"Association", "Patch"} <= kinds
        noncompliant = sum(
            s["NonCompliantSummary"]["NonCompliantCount"]
            for s in summaries
            if s["ComplianceType"] == "Association"
        )
        assert 2 * 2 + 1 <= noncompliant <= 2 * 2 + 2  # MANUAL reports, then 1-2 timed out
        ssm.close()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("value", ["3,1", "x", "-1,2"])
def test_a_bad_manual_range_is_a_usage_error(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.sim.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main([f"--manual-noncompliant={value}"])
    assert exited.value.code == 2
    assert "--manual-noncompliant" in capsys.readouterr().err
