"""Likely causes: the three that operators meet most, from what SSM and the agent report."""

from __future__ import annotations

import pytest

from bot.causes import likely_cause


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        ({"ping_status": "ConnectionLost"}, "unreachable"),
        ({"detailed_status": "Undeliverable"}, "unreachable"),
        ({"detailed_status": "DeliveryTimedOut", "error_code": "TIMEOUT"}, "unreachable"),
        (
            {"summary": "the instance has not reported to Systems Manager for 3 hours"},
            "unreachable",
        ),
        (
            {"stderr": "An error occurred (AccessDenied) when calling the GetObject operation"},
            "permissions",
        ),
        (
            {
                "stderr": "User: arn:aws:sts::1:assumed-role/x is not authorized to perform: s3:GetObject"
            },
            "permissions",
        ),
        ({"stderr": "bash: /opt/tool: Permission denied"}, "permissions"),
        ({"detailed_status": "InvalidParameters"}, "bad_parameter"),
        (
            {"summary": "Parameter 'Operation' value 'Scan2' is not in the allowed values"},
            "bad_parameter",
        ),
        (
            {
                "summary": "The operation aws:runShellScript failed with exit code 1.",
                "error_code": "1",
            },
            "unknown",
        ),
        ({}, "unknown"),
    ],
)
def test_classification(evidence: dict[str, str], expected: str) -> None:
    cause = likely_cause(**evidence)
    assert cause.name == expected
    assert cause.text


def test_an_unreachable_instance_wins_over_its_old_error_text() -> None:
    cause = likely_cause(ping_status="Inactive", stderr="AccessDenied")
    assert cause.name == "unreachable"
