"""The Security Hub sync's rules, as plain functions: which acknowledgements cover an instance,
the note, and what to do with each finding given what the bot last wrote to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.findings import (
    MARKER,
    Cover,
    Finding,
    Uncovered,
    ack_note,
    cover,
    decide,
    security_hub_moved,
)
from bot.models import Ack, AssociationKey, FindingRecord, InstanceKey

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
INSTANCE = InstanceKey("111111111111", "eu-west-1", "i-0123456789abcdef0")
A = AssociationKey("111111111111", "eu-west-1", "aaaaaaaa-1111-4222-8333-444455556666")
B = AssociationKey("111111111111", "eu-west-1", "bbbbbbbb-1111-4222-8333-444455556666")
ACK = Ack("U0ALICE01", "OPS-1 patch window", NOW, NOW + timedelta(days=7), by_name="alice")
COVERED = cover([(A, "patch-scan", ACK)], orphaned=False)
UNCOVERED = Uncovered("the acknowledgement of patch-scan was removed by U0ALICE01")


def test_an_instance_is_covered_only_when_all_its_failures_are_acknowledged() -> None:
    assert isinstance(COVERED, Cover)
    assert COVERED.associations == (A.association_id,)
    later = Ack("U0BOB01", "x", NOW, NOW + timedelta(days=30))
    both = cover([(B, "inventory", later), (A, "patch-scan", ACK)], orphaned=False)
    assert isinstance(both, Cover)
    assert both.associations == (A.association_id, B.association_id)
    assert both.until == ACK.until
    half = cover([(A, "patch-scan", ACK), (B, "inventory", None)], orphaned=False)
    assert half == Uncovered("inventory fails this instance and is not acknowledged")
    orphan = cover([(A, "patch-scan", ACK)], orphaned=True)
    assert isinstance(orphan, Uncovered)
    assert "orphaned compliance item" in orphan.why
    assert isinstance(cover([], orphaned=False), Uncovered)


def test_the_note_names_who_why_until_and_the_association_in_512_characters() -> None:
    assert isinstance(COVERED, Cover)
    note = ack_note(COVERED)
    assert note == (
        f"Acknowledged in ssm3-bot: patch-scan ({A.association_id}) in 111111111111 eu-west-1, "
        "by U0ALICE01 (alice) until 2026-12-05T09:00:00Z: OPS-1 patch window"
    )
    keys = [
        AssociationKey(A.account_id, A.region, f"{n:08x}-1111-4222-8333-444455556666")
        for n in range(4)
    ]
    wordy = Ack("U0ALICE01", "because " * 80, NOW, None, by_name="a" * 60)
    many = cover([(k, "n" * 80, wordy) for k in keys], orphaned=False)
    assert isinstance(many, Cover)
    long_note = ack_note(many)
    assert len(long_note) <= 512
    assert all(k.association_id in long_note for k in keys)


def _finding(
    workflow: str,
    *,
    note_by: str | None = None,
    note: str | None = None,
    compliance: str = "FAILED",
) -> Finding:
    return Finding(
        finding_id="f-1",
        product_arn="arn:aws:securityhub:eu-west-1::product/aws/securityhub",
        instance=INSTANCE,
        workflow=workflow,
        compliance=compliance,
        note_text=note,
        note_by=note_by,
        fields={"ssm3bot:association": A.association_id} if note_by == MARKER else {},
    )


def _written(workflow: str, note: str) -> FindingRecord:
    return FindingRecord(
        "f-1",
        "arn",
        INSTANCE,
        workflow,
        NOW,
        written_workflow=workflow,
        written_note=note,
        associations=(A.association_id,),
    )


assert isinstance(COVERED, Cover)
OURS = ack_note(COVERED)
RELEASED = "ssm3-bot set this finding back to NEW: before."


@pytest.mark.parametrize(
    ("finding", "record", "desired", "workflow", "kind"),
    [
        # Never touched: a NEW finding without a note is the bot's to set.
        (_finding("NEW"), None, COVERED, "SUPPRESSED", "set"),
        # Someone reviewed it in Security Hub: left alone.
        (_finding("NOTIFIED"), None, COVERED, "SUPPRESSED", "hand"),
        (_finding("NEW", note_by="jane", note="looked at it"), None, COVERED, "SUPPRESSED", "hand"),
        # The bot's own, as it wrote it.
        (_finding("SUPPRESSED", note_by=MARKER, note=OURS), _written("SUPPRESSED", OURS), COVERED, "SUPPRESSED", "keep"),
        # SSM3_ACK_WORKFLOW changed since: the bot moves its own findings along.
        (_finding("SUPPRESSED", note_by=MARKER, note=OURS), _written("SUPPRESSED", OURS), COVERED, "NOTIFIED", "set"),
        # Security Hub reset NOTIFIED to NEW on a fresh failure: still covered, so re-applied.
        (_finding("NEW", note_by=MARKER, note=OURS), _written("NOTIFIED", OURS), COVERED, "NOTIFIED", "reapply"),
        # ... and not re-suppressed once nothing covers it.
        (_finding("NEW", note_by=MARKER, note=OURS), _written("NOTIFIED", OURS), UNCOVERED, "NOTIFIED", "keep"),
        # Security Hub never resets SUPPRESSED: NEW there was someone's hand.
        (_finding("NEW", note_by=MARKER, note=OURS), _written("SUPPRESSED", OURS), COVERED, "SUPPRESSED", "hand"),
        # Someone replaced the bot's note.
        (_finding("SUPPRESSED", note_by="jane", note="mine now"), _written("SUPPRESSED", OURS), UNCOVERED, "SUPPRESSED", "hand"),
        # The acknowledgement ended: back to NEW.
        (_finding("SUPPRESSED", note_by=MARKER, note=OURS), _written("SUPPRESSED", OURS), UNCOVERED, "SUPPRESSED", "reopen"),
        # Resolved (PASSED) while SUPPRESSED: back to NEW, or a new failure would stay hidden.
        (_finding("SUPPRESSED", note_by=MARKER, note=OURS, compliance="PASSED"), _written("SUPPRESSED", OURS), UNCOVERED, "SUPPRESSED", "reopen"),
        # The marker alone is no record: another deployment's (or a forged) note is left alone.
        (_finding("SUPPRESSED", note_by=MARKER, note=OURS), None, UNCOVERED, "SUPPRESSED", "ignore"),
        (_finding("SUPPRESSED", note_by=MARKER, note=OURS), None, COVERED, "SUPPRESSED", "hand"),
        # ... and a note signed ssm3-bot that this deployment did not write replaces its own.
        (_finding("SUPPRESSED", note_by=MARKER, note="theirs"), _written("SUPPRESSED", OURS), UNCOVERED, "SUPPRESSED", "hand"),
        # Released earlier and covered again.
        (_finding("NEW", note_by=MARKER, note=RELEASED), _written("NEW", RELEASED), COVERED, "SUPPRESSED", "set"),
        # Not the bot's and nothing to write.
        (_finding("NEW"), None, UNCOVERED, "SUPPRESSED", "ignore"),
        (_finding("SUPPRESSED", note_by="jane", note="x"), None, UNCOVERED, "SUPPRESSED", "ignore"),
    ],
)  # fmt: skip
def test_what_to_do_with_each_finding(
    finding: Finding,
    record: FindingRecord | None,
    desired: Cover | Uncovered,
    workflow: str,
    kind: str,
) -> None:
    decision = decide(finding, record, desired, workflow)
    assert decision.kind == kind
    if kind in ("set", "reapply"):
        assert decision.update is not None
        assert (decision.update.workflow, decision.update.note) == (workflow, OURS)
        assert decision.update.fields() == {
            "ssm3bot:association": A.association_id,
            "ssm3bot:until": "2026-12-05T09:00:00Z",
        }
    if kind == "reopen":
        assert decision.update is not None
        assert decision.update.workflow == "NEW"
        assert decision.update.fields() == {
            "ssm3bot:association": A.association_id,
            "ssm3bot:until": "none",
        }
    if kind == "hand":
        assert decision.hand


@pytest.mark.parametrize(
    ("written", "now", "compliance", "moved"),
    [
        ("NOTIFIED", "NEW", "FAILED", True),
        ("RESOLVED", "NEW", "FAILED", True),
        ("SUPPRESSED", "NEW", "FAILED", False),
        ("NOTIFIED", "RESOLVED", "PASSED", True),
        ("NEW", "RESOLVED", "PASSED", True),
        ("SUPPRESSED", "RESOLVED", "PASSED", False),
        ("NOTIFIED", "RESOLVED", "FAILED", False),
        ("NEW", "SUPPRESSED", "FAILED", False),
    ],
)
def test_what_security_hub_moves_by_itself(
    written: str, now: str, compliance: str, moved: bool
) -> None:
    assert security_hub_moved(written, now, compliance) is moved
