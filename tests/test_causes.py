"""Likely causes: the three that operators meet most, from what SSM and the agent report."""

from __future__ import annotations

import pytest

from bot.core.causes import kind_label, likely_cause, remedy, short_remedy
from bot.models import Association, FailedTarget


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


# -- what fails SSM.3 and what fixes it -----------------------------------------------------------


def _association(**changes: object) -> Association:
    values: dict[str, object] = {
        "account_id": "111111111111",
        "region": "eu-west-1",
        "association_id": "a",
        "association_name": "x",
        "document_name": "AWS-RunShellScript",
        "status": "Failed",
        "detailed_status": "Failed",
        "counts": {"Failed": 1},
        "last_execution_at": None,
        "failed_targets": (FailedTarget("i-1"),),
        "sync_compliance": "AUTO",
        "noncompliant_instances": ("i-1",),
    }
    values.update(changes)
    return Association(**values)  # type: ignore[arg-type]


def test_a_timed_out_target_has_its_own_cause() -> None:
    assert likely_cause(detailed_status="TimedOut").name == "timed_out"
    assert likely_cause(detailed_status="DeliveryTimedOut").name == "unreachable"


@pytest.mark.parametrize(
    ("changes", "kind", "label", "fix"),
    [
        ({}, "execution", "run failed", "A re-run can fix it"),
        ({"detailed_status": "TimedOut"}, "execution", "run timed out", "A re-run can fix it"),
        (
            {
                "document_name": "AWS-RunPatchBaselineAssociation",
                "sync_compliance": "MANUAL",
                "status": "Success",
                "failed_targets": (),
            },
            "reported",
            "reported NON_COMPLIANT (SyncCompliance MANUAL)",
            "missing patches",
        ),
        (
            {"sync_compliance": "MANUAL", "status": "Success", "failed_targets": ()},
            "reported",
            "reported NON_COMPLIANT (SyncCompliance MANUAL)",
            "reported by its document",
        ),
        (
            {"noncompliant_instances": ("i-1", "i-2")},
            "reported",
            "reported NON_COMPLIANT",
            "without a failed latest run",
        ),
        ({"noncompliant_instances": ()}, None, "compliant", "Nothing to do"),
    ],
)
def test_each_kind_says_what_would_fix_it(
    changes: dict[str, object], kind: str | None, label: str, fix: str
) -> None:
    association = _association(**changes)
    assert association.failure_kind == kind
    assert kind_label(association) == label
    assert fix in remedy(association)
    if kind == "reported":
        assert remedy(association).startswith("A re-run will not fix it")
        assert short_remedy(association).startswith("A re-run will not fix it")
        assert len(short_remedy(association)) <= 100
