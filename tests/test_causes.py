"""One set of rules for why an association fails, on every surface: History's cause per
target and the row's cause line come from the diagnosis's rules (over what History or the
sweep read), and a diagnosis made during the streak stands for the association from then on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.causes import cause_line, kind_label, remedy, short_remedy, target_cause
from bot.models import Association, FailedTarget, TrackedAssociation


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        ({"ping_status": "ConnectionLost"}, "unreachable"),
        ({"detailed_status": "Undeliverable"}, "unreachable"),
        ({"detailed_status": "DeliveryTimedOut"}, "unreachable"),
        (
            {
                "stderr": "User: arn:aws:sts::1:assumed-role/app/i-1 is not authorized to perform: "
                "s3:GetObject on resource: arn:aws:s3:::b/k"
            },
            "permissions",
        ),
        ({"stderr": "ssm agent: please update to latest version"}, "agent_outdated"),
        ({"detailed_status": "InvalidParameters"}, "bad_parameter"),
        ({"detailed_status": "TimedOut"}, "timed_out"),
        ({"summary": "The operation aws:runShellScript failed with exit code 1."}, "unknown"),
        ({}, "unknown"),
    ],
)
def test_a_targets_cause_is_the_diagnosis_rules(read: dict[str, Any], expected: str) -> None:
    read.setdefault("detailed_status", "Failed")
    cause = target_cause(association=None, instance_id="i-1", **read)
    assert cause.name == expected
    assert cause.text


def test_an_unreachable_instance_wins_over_its_old_error_text() -> None:
    cause = target_cause(
        association=None,
        instance_id="i-1",
        detailed_status="Failed",
        ping_status="Inactive",
        stderr="User: arn:aws:sts::1:assumed-role/r/i is not authorized to perform: s3:GetObject",
    )
    assert cause.name == "unreachable"
    assert "Inactive" in cause.text


def test_the_row_says_the_diagnosis_of_this_streak_else_what_the_stored_facts_say() -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    lost = _association(
        failed_targets=(
            FailedTarget("i-1", "DeliveryTimedOut"),
            FailedTarget("i-2", "Undeliverable"),
            FailedTarget("i-3", "TimedOut"),
        ),
        noncompliant_instances=("i-1", "i-2", "i-3"),
    )
    tracked = TrackedAssociation(lost, since, since)
    assert cause_line(tracked) == "unreachable (2); timed out (1)"
    diagnosed = TrackedAssociation(
        lost, since, since, diagnosed="missing permission s3:GetObject (3)"
    )
    assert cause_line(diagnosed) == "missing permission s3:GetObject (3)"
    unknown = TrackedAssociation(_association(), since, since)
    assert cause_line(unknown) is None, "the top error says more than 'unknown'"
    healthy = TrackedAssociation(_association(noncompliant_instances=()), since, since)
    assert cause_line(healthy) is None


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
