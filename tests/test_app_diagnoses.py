"""The diagnosis use case on an in-memory store with a fake AWS port: where an association is
(stored, ambiguous, given), and a diagnosis AWS could not read or that names nothing, each
one clear line (the diagnoses themselves: tests/test_diagnose.py, on the simulator)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from bot.app.diagnoses import Diagnoses, NotDiagnosed
from bot.core.diagnosis import Evidence
from bot.models import Association, AssociationKey, AssociationRef, Orphan
from bot.models.answers import AssociationGone, AwsFailure
from bot.render.spreadsheet import FAILING_COLUMNS
from bot.render.spreadsheet import failing_row as csv_row
from bot.slack.blocks.row import association_line
from bot.store import Store
from tests.fakes.estate import association_id, store_estate
from tests.support.fixes import FakeEvidence

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ID = association_id(0)


class RefusingAws:
    """An evidence port that fails as AWS would, and records what it was asked."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure
        self.asked: list[AssociationKey] = []

    def read(
        self, key: AssociationKey, *, stored: Association | None, orphans: Iterable[Orphan]
    ) -> tuple[Evidence, dict[str, int]]:
        self.asked.append(key)
        raise self.failure


def cases(aws: RefusingAws, *, regions: int = 1) -> Diagnoses:
    store = Store(":memory:")
    for region in ("eu-west-1", "us-east-1")[:regions]:
        store_estate(store, failing=1, now=NOW, region=region)
    return Diagnoses(store=store, evidence=aws, clock=lambda: NOW)


def test_an_association_in_two_regions_needs_its_region() -> None:
    aws = RefusingAws(RuntimeError("not called"))
    found = cases(aws, regions=2).diagnose(AssociationRef(ID))
    assert isinstance(found, NotDiagnosed)
    assert found.why == "ambiguous"
    assert "pass --account and --region" in found.message
    assert aws.asked == []


def test_aws_refusing_is_one_line_naming_the_scope_and_what_to_grant() -> None:
    reason = "DescribeAssociation: AccessDenied: no (grant ssm:DescribeAssociation)"
    aws = RefusingAws(
        AwsFailure("DescribeAssociation: AccessDenied: no", PermissionError(), reason=reason)
    )
    found = cases(aws).diagnose(AssociationRef(ID))
    assert isinstance(found, NotDiagnosed)
    assert (found.why, found.message) == ("aws_error", f"111111111111/eu-west-1: {reason}")
    assert aws.asked == [AssociationKey("111111111111", "eu-west-1", ID)]


def test_an_association_gone_from_aws_or_never_stored_is_unknown() -> None:
    gone = cases(RefusingAws(AssociationGone())).diagnose(AssociationRef(ID))
    assert isinstance(gone, NotDiagnosed)
    assert gone.why == "unknown"
    assert "does not exist in 111111111111 eu-west-1" in gone.message
    never = cases(RefusingAws(RuntimeError("not called"))).diagnose(
        AssociationRef(association_id(9))
    )
    assert isinstance(never, NotDiagnosed)
    assert never.why == "unknown"
    assert "run `ssm3bot sweep` first" in never.message


def test_a_kept_diagnosis_is_the_cause_every_surface_says_for_its_streak() -> None:
    """The digest row (and the alert's, which is the same line), the CSV's `cause` and the text
    digest say the short form of the diagnosis made during this failing streak; one made
    before the streak began says nothing about it."""
    store = Store(":memory:")
    store_estate(store, failing=1, now=NOW)
    [before] = store.associations.tracked(now=NOW)
    assert before.diagnosed is None
    kept = Diagnoses(store=store, evidence=FakeEvidence(), clock=lambda: NOW).diagnose_kept(
        before.key, by="U0OPS0001"
    )
    assert not isinstance(kept, NotDiagnosed)
    [item] = store.associations.tracked(now=NOW)
    assert item.diagnosed == "bad parameter Operation=latestt (3)"
    assert "Diagnosed: `bad parameter Operation=latestt (3)`" in association_line(item, NOW)
    row = dict(zip(FAILING_COLUMNS, csv_row(item), strict=True))
    assert row["cause"] == item.diagnosed
    earlier = NOW - timedelta(days=30)  # a diagnosis from before this streak began
    old = Store(":memory:")
    store_estate(old, failing=1, now=NOW)
    Diagnoses(store=old, evidence=FakeEvidence(), clock=lambda: earlier).diagnose_kept(
        before.key, by="U0OPS0001"
    )
    [fresh] = old.associations.tracked(now=NOW)
    assert fresh.diagnosed is None
