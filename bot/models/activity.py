"""What the bot did and told: re-runs, the audit log, digest and alert messages, and work
scheduled for later (the records of bot/store's ledger-like repositories)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.models.records import AssociationKey, TrackedAssociation
from bot.util.clock import iso, parse_iso


@dataclass(frozen=True)
class Rerun:
    """A re-run someone started from Slack; `outcome` is filled by the follow-up check."""

    id: int
    key: AssociationKey
    by: str
    at: datetime
    channel: str | None
    outcome: str | None = None
    checked_at: datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    outcome: str
    account_id: str | None = None
    region: str | None = None
    association_id: str | None = None
    channel: str | None = None
    detail: str | None = None
    repeats: int = 0  # a refusal: how many more of the same person's followed within a minute


@dataclass(frozen=True)
class SnapshotItem:
    """One association a digest reported as failing, kept so the next digest can say what changed."""

    key: AssociationKey
    name: str
    document: str
    failing_since: datetime | None
    acknowledged: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "account_id": self.key.account_id,
            "region": self.key.region,
            "association_id": self.key.association_id,
            "name": self.name,
            "document": self.document,
            "failing_since": iso(self.failing_since),
            "acknowledged": self.acknowledged,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SnapshotItem:
        return cls(
            key=AssociationKey(data["account_id"], data["region"], data["association_id"]),
            name=data["name"],
            document=data["document"],
            failing_since=parse_iso(data.get("failing_since")),
            acknowledged=bool(data.get("acknowledged")),
        )


@dataclass(frozen=True)
class AlertMessage:
    """A posted alert message (it may tell of several associations that began failing)."""

    channel: str
    ts: str


@dataclass(frozen=True)
class AlertState:
    """One association an alert message told of, as it stands now: still failing (maybe
    acknowledged or re-run since), or resolved (its streak ended)."""

    key: AssociationKey
    failing_since: datetime
    tracked: TrackedAssociation | None  # None: no longer swept (deleted, or its scope unread)
    resolved_at: datetime | None
    rerun: Rerun | None  # the latest re-run during this streak

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None


@dataclass(frozen=True)
class DigestMessage:
    """One digest message in one channel: the digest scheduled for a slot (or posted by hand,
    kind "manual", its slot the moment it was posted), where it went and what it reported as
    failing, so later changes edit it in place and the next digest says what changed."""

    slot: datetime
    channel: str
    kind: str  # scheduled | catch-up | manual
    posted_at: datetime | None
    ts: str | None
    sweep_id: str | None = None
    snapshot: tuple[SnapshotItem, ...] = ()

    @property
    def scheduled(self) -> bool:
        return self.kind != "manual"


@dataclass(frozen=True)
class ScheduledJob:
    """Work due at `due_at`, run by the handler `kind` names (bot/app/jobs.py) with `payload`."""

    id: int
    kind: str
    due_at: datetime
    payload: Mapping[str, Any]
    attempts: int = 0
