"""Reading queued EventBridge events: the four handled kinds in their standard envelope, what
each claims, and every way a body can be unusable (including hostile ones)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.aws.eventbridge import MAX_BODY_BYTES, classify
from bot.models import Scope
from bot.models.hints import Claim, Hint, Ignored, Unusable
from bot.sim.events import compliance_event

ACCOUNT, REGION = "222222222222", "eu-west-1"
ASSOCIATION = "8d6c0e2a-1b3f-4c5d-9e7f-0a1b2c3d4e5f"
INSTANCE = "i-0123456789abcdef0"


def instance_event(status: str = "Failed", **changes: Any) -> dict[str, Any]:
    event = {
        "version": "0",
        "id": "f3b2c1d0-0000-4000-8000-000000000001",
        "detail-type": "EC2 State Manager Instance Association State Change",
        "source": "aws.ssm",
        "account": ACCOUNT,
        "time": "2026-11-30T10:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{INSTANCE}"],
        "detail": {
            "association-id": ASSOCIATION,
            "instance-id": INSTANCE,
            "document-name": "AWS-RunPatchBaseline",
            "status": status,
            "detailed-status": "Failed",
            "error-code": "1",
            "execution-summary": "1 out of 1 plugin processed, 1 failed",
        },
    }
    event.update(changes)
    return event


def finding(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Id": "arn:aws:securityhub:eu-west-1:222222222222:security-control/SSM.3/finding/x",
        "AwsAccountId": ACCOUNT,
        "Region": REGION,
        "GeneratorId": "security-control/SSM.3",
        "Compliance": {"Status": "FAILED", "SecurityControlId": "SSM.3"},
        "RecordState": "ACTIVE",
        "Resources": [{"Id": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{INSTANCE}"}],
    }
    item.update(changes)
    return item


def imported(*findings: dict[str, Any]) -> dict[str, Any]:
    # The envelope names the administrator account and home region where the update was made.
    return {
        "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub",
        "account": "111111111111",
        "region": "us-east-1",
        "detail": {"findings": list(findings)},
    }


def test_an_instance_association_event_claims_a_failure_of_that_association() -> None:
    event = classify(json.dumps(instance_event()))
    assert event == Hint(
        "instance_association",
        (Claim(Scope(ACCOUNT, REGION), ASSOCIATION, INSTANCE, failing=True),),
    )


@pytest.mark.parametrize(
    ("status", "failing"), [("Success", False), ("TimedOut", True), ("Pending", None)]
)
def test_run_statuses_become_claims(status: str, failing: bool | None) -> None:
    event = classify(json.dumps(instance_event(status)))
    assert isinstance(event, Hint)
    assert event.claims[0].failing is failing


def test_an_association_event_names_the_association_not_an_instance() -> None:
    body = instance_event(**{"detail-type": "EC2 State Manager Association State Change"})
    event = classify(json.dumps(body))
    assert event == Hint(
        "association", (Claim(Scope(ACCOUNT, REGION), ASSOCIATION, None, failing=True),)
    )


def test_association_compliance_is_a_hint_and_other_compliance_is_ignored() -> None:
    failing = classify(json.dumps(compliance_event(ACCOUNT, REGION, INSTANCE)))
    assert failing == Hint(
        "compliance", (Claim(Scope(ACCOUNT, REGION), None, INSTANCE, failing=True),)
    )
    passing = classify(json.dumps(compliance_event(ACCOUNT, REGION, INSTANCE, status="compliant")))
    assert isinstance(passing, Hint)
    assert passing.claims[0].failing is False
    patch = classify(
        json.dumps(compliance_event(ACCOUNT, REGION, INSTANCE, compliance_type="Patch"))
    )
    assert patch == Ignored("compliance", "compliance-type 'Patch'", (Scope(ACCOUNT, REGION),))


def test_a_findings_event_takes_each_findings_own_account_and_region() -> None:
    other = finding(AwsAccountId="333333333333", Region="ap-south-1")
    event = classify(json.dumps(imported(finding(), other)))
    assert isinstance(event, Hint)
    assert event.scopes == (Scope(ACCOUNT, REGION), Scope("333333333333", "ap-south-1"))
    assert event.claims[0] == Claim(
        Scope(ACCOUNT, REGION), None, INSTANCE, failing=True, compliance="FAILED"
    )


def test_a_finding_noted_by_the_bot_is_marked_as_its_own() -> None:
    noted = finding(
        Note={
            "Text": "Acknowledged by U1",
            "UpdatedBy": "ssm3-bot",
            "UpdatedAt": "2026-11-30T10:00:00Z",
        },
        Compliance={"Status": "PASSED", "SecurityControlId": "SSM.3"},
    )
    [claim] = classify(json.dumps(imported(noted))).claims  # type: ignore[union-attr]
    assert claim.by_bot
    assert claim.failing is False
    assert claim.compliance == "PASSED"
    someone = finding(Note={"Text": "x", "UpdatedBy": "arn:aws:iam::1:user/alice"})
    assert not classify(json.dumps(imported(someone))).claims[0].by_bot  # type: ignore[union-attr]


def test_an_archived_finding_fails_nothing() -> None:
    [claim] = classify(json.dumps(imported(finding(RecordState="ARCHIVED")))).claims  # type: ignore[union-attr]
    assert claim.failing is False
    assert claim.compliance is None


def test_findings_of_other_controls_are_ignored() -> None:
    other = finding(
        GeneratorId="security-control/EC2.8",
        Compliance={"Status": "FAILED", "SecurityControlId": "EC2.8"},
    )
    assert classify(json.dumps(imported(other))) == Ignored(
        "securityhub", "not an SSM.3 finding", (Scope(ACCOUNT, REGION),)
    )


def deep(n: int) -> str:
    return "[" * n + "]" * n


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json at all", "the body is not JSON"),
        ("", "the body is not JSON"),
        ('["an", "array"]', "the body is JSON but not an object"),
        ("null", "the body is JSON but not an object"),
        ('{"source": "aws.ssm", "account": "222222222222"}', "no detail-type"),
        ('{"detail-type": "   "}', "no detail-type"),
        ('{"detail-type": 7}', "no detail-type"),
        (
            '{"detail-type": "EC2 Instance State-change Notification"}',
            "unhandled detail-type 'EC2 Instance State-change Notification'",
        ),
        (json.dumps({**instance_event(), "account": None}), "no account"),
        (json.dumps({k: v for k, v in instance_event().items() if k != "region"}), "no region"),
        (
            json.dumps(instance_event(account="12345")),
            "account '12345' is not a 12-digit account ID",
        ),
        (
            json.dumps(instance_event(account=["222222222222"])),
            "account <list> is not a 12-digit account ID",
        ),
        (json.dumps(instance_event(region="moon-1")), "region 'moon-1' is not an AWS region"),
        (json.dumps(imported()), "a Security Hub event without findings"),
        (
            json.dumps(imported(finding(AwsAccountId=None))),
            "a Security Hub finding without a valid AwsAccountId and Region",
        ),
        (deep(100_000), "the body is not JSON"),  # 200 KB, deeper than the parser goes
    ],
)
def test_unusable_bodies_say_why(body: str, reason: str) -> None:
    assert classify(body) == Unusable(reason)


def test_a_body_at_sqs_s_limit_is_read_and_one_past_it_is_not() -> None:
    padding = "x" * (MAX_BODY_BYTES - len(json.dumps(instance_event(padding=""))))
    at_limit = json.dumps(instance_event(padding=padding))
    assert len(at_limit.encode()) == MAX_BODY_BYTES
    assert isinstance(classify(at_limit), Hint)
    assert classify(at_limit + " ") == Unusable(
        f"the body is {MAX_BODY_BYTES + 1} bytes, more than SQS's {MAX_BODY_BYTES}"
    )


def test_a_reason_never_carries_more_than_a_short_clean_piece_of_the_body() -> None:
    hostile = "\x1b]8;;https://evil\x07" + "A" * 5000
    reason = classify(json.dumps({"detail-type": hostile})).reason  # type: ignore[union-attr]
    assert len(reason) < 100
    assert "\x1b" not in reason
    assert "\x07" not in reason


def test_malformed_fields_inside_a_handled_event_are_dropped_not_trusted() -> None:
    body = instance_event(
        detail={"association-id": "../../etc", "instance-id": {"x": 1}, "status": 5}
    )
    assert classify(json.dumps(body)) == Hint(
        "instance_association", (Claim(Scope(ACCOUNT, REGION), None, None, failing=None),)
    )
    findings = imported(finding(Resources="not a list"), finding(Compliance="FAILED"))
    event = classify(json.dumps(findings))
    assert isinstance(event, Hint)
    assert [c.instance_id for c in event.claims] == [None, INSTANCE]


def ocsf(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "metadata": {"uid": "arn:aws:securityhub:eu-west-1:222222222222:x/1"},
        "cloud": {"account": {"uid": ACCOUNT}, "region": REGION},
        "compliance": {"control": "SSM.3", "status_id": 3},
        "resources": [{"uid": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{INSTANCE}"}],
        "status_id": 1,
    }
    item.update(changes)
    return item


def imported_v2(*findings: Any) -> dict[str, Any]:
    return {
        **imported(),
        "detail-type": "Findings Imported V2",
        "detail": {"findings": list(findings)},
    }


def test_a_findings_imported_v2_event_claims_ssm3_failures_of_its_findings_own_scope() -> None:
    event = classify(json.dumps(imported_v2(ocsf())))
    assert event == Hint(
        "securityhub",
        (Claim(Scope(ACCOUNT, REGION), instance_id=INSTANCE, failing=True, compliance="FAILED"),),
    )
    passed = classify(
        json.dumps(imported_v2(ocsf(compliance={"control": "SSM.3", "status_id": 1})))
    )
    assert isinstance(passed, Hint)
    assert passed.claims[0].failing is False
    own = classify(json.dumps(imported_v2(ocsf(comment="ssm3-bot set this finding back to NEW"))))
    assert isinstance(own, Hint)
    assert own.claims[0].by_bot


def test_a_v2_event_about_another_control_is_ignored_and_a_malformed_one_is_unusable() -> None:
    other = classify(json.dumps(imported_v2(ocsf(compliance={"control": "EC2.8"}))))
    assert isinstance(other, Ignored)
    assert other.scopes == (Scope(ACCOUNT, REGION),)
    for broken in (
        ocsf(cloud={"account": {"uid": "nope"}, "region": REGION}),
        "x",
        ocsf(cloud=[1]),
    ):
        assert isinstance(classify(json.dumps(imported_v2(broken))), Unusable)
    weird = ocsf(resources=[{"uid": 7}])
    event = classify(json.dumps(imported_v2(weird)))
    assert isinstance(event, Hint)
    assert event.claims[0].instance_id is None
