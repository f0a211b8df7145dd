"""Which SSM.3 findings this deployment may write: one rule for every Security Hub it syncs
(CSPM's BatchUpdateFindings here; the new hub's BatchUpdateFindingsV2 applies the same one).

- **Scope**: only findings inside the account-regions this deployment sweeps (`Bounds`), never
  whatever else the aggregator shows: another team's accounts, regions nobody configured. A
  trigger's own scopes (a sweep's, an acknowledgement's account-region) are narrowed to those.
- **Ownership**: a finding is this deployment's only when its own store records having written
  it (`owned`). A marker on the finding (`Note.UpdatedBy: ssm3-bot`, the new hub's comment tag)
  proves nothing: anyone allowed to update findings can write it, and a second deployment
  sharing the Security Hub administrator account writes the very same marker. A finding nobody
  has touched (FAILED, NEW, no note or comment: `claimable`) may be taken on; anything else is
  someone's, and left as it is.
- **Claims**: a write is recorded before it is sent (`claimed`) and settled afterwards
  (`landed`, `dropped`). A process stopped in between leaves a claim that the next sync settles
  by what the finding shows (`settle`: the exact note text claimed is there), never by the
  marker alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from bot.models import FindingRecord, InstanceKey, Scope, WriteClaim


@dataclass(frozen=True)
class Bounds:
    """The account-regions a sync may write in."""

    scopes: frozenset[Scope]

    @classmethod
    def of(cls, asked: Iterable[Scope], swept: Iterable[Scope]) -> Bounds:
        """`asked` (a trigger's scopes) narrowed to `swept` (those this deployment sweeps)."""
        return cls(frozenset(asked) & frozenset(swept))

    def within(self, instance: InstanceKey) -> bool:
        return Scope(instance.account_id, instance.region) in self.scopes


def owned(record: FindingRecord | None) -> bool:
    """This deployment's store records having written the finding."""
    return record is not None and record.written_workflow is not None


def claimable(*, workflow_new: bool, has_note: bool, failed: bool) -> bool:
    """A finding nobody has reviewed yet, which this deployment may take on: it fails, it is
    NEW, and nobody (nor any deployment) has written a note or comment on it."""
    return failed and workflow_new and not has_note


def claimed(record: FindingRecord, claim: WriteClaim) -> FindingRecord:
    """The record with a write about to be sent."""
    return replace(record, claim=claim)


def landed(record: FindingRecord, now: datetime) -> FindingRecord:
    """The claimed write was processed: it is now what this deployment wrote."""
    claim = record.claim
    if claim is None:
        return record
    return replace(
        record,
        seen_workflow=claim.workflow,
        written_workflow=claim.workflow,
        written_note=claim.note,
        written_at=claim.at or now,
        associations=claim.associations,
        until=claim.until,
        hand=None,
        claim=None,
    )


def dropped(record: FindingRecord) -> FindingRecord:
    """The claimed write did not land (unprocessed, not sent): nothing changed."""
    return replace(record, claim=None)


def settle(record: FindingRecord | None, *, note_text: str | None) -> FindingRecord | None:
    """A claim left by a process stopped between sending and recording, settled by what the
    finding now shows: the exact note claimed is on it (the write landed), or it is not."""
    if record is None or record.claim is None:
        return record
    if note_text is not None and note_text == record.claim.note:
        return landed(record, record.claim.at or record.seen_at)
    return dropped(record)
