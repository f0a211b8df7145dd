"""The outcomes every use case shares: a refusal (already audited) or a change done, and the
one place that writes a use case's audit entries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.app.events import Event
from bot.app.permissions import Decision
from bot.app.resolve import Miss
from bot.app.sync_report import SyncReport
from bot.models import AssociationKey, Rerun, TrackedAssociation
from bot.store import Store

Action = Literal["ack", "unack", "rerun", "sweep", "read"]
Reason = Literal[
    "permission",
    "miss",
    "not_failing",
    "not_acknowledged",
    "cooldown",
    "busy",
    "cannot_start",
    "too_soon",
]


@dataclass(frozen=True)
class Refusal:
    """Why nothing changed; already in the audit log. `decision` is set for a permission
    refusal, `miss` when no such association is known, `item` when the association is in the
    wrong state, `rerun` for the re-run that holds the cooldown."""

    action: Action
    why: Reason
    detail: str
    key: AssociationKey | None = None
    decision: Decision | None = None
    miss: Miss | None = None
    item: TrackedAssociation | None = None
    rerun: Rerun | None = None


@dataclass(frozen=True)
class Done:
    """The change happened: the association as it is now, and the events; `security_hub`,
    what the sync that followed did (SSM3_SECURITYHUB=sync, acknowledgements only)."""

    item: TrackedAssociation
    events: tuple[Event, ...]
    security_hub: SyncReport | None = None


class AuditWriter:
    """Writes a use case's audit entries: each refusal (and the Refusal it returns) and each
    change, with the actor and where they asked."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def refuse(
        self,
        actor: str,
        action: Action,
        why: Reason,
        detail: str,
        channel: str | None,
        *,
        key: AssociationKey | None = None,
        decision: Decision | None = None,
        miss: Miss | None = None,
        item: TrackedAssociation | None = None,
        rerun: Rerun | None = None,
    ) -> Refusal:
        self.audit(actor, action, "refused", key=key, detail=detail, channel=channel)
        return Refusal(action, why, detail, key, decision, miss, item, rerun)

    def audit(
        self,
        actor: str,
        action: str,
        outcome: str,
        *,
        key: AssociationKey | None,
        detail: str | None,
        channel: str | None,
    ) -> None:
        self.store.audit.record(
            actor=actor,
            action=action,
            outcome=outcome,
            now=self.clock(),
            key=key,
            channel=channel,
            detail=detail,
        )

    def permitted_target(
        self,
        actor: str,
        action: Action,
        *,
        decision: Decision,
        found: TrackedAssociation | Miss,
        typed: str,
        channel: str | None,
    ) -> TrackedAssociation | Refusal:
        """Permission first, then the association: every change checks in this order. A
        refusal names the association when the store knows it, else the ID as typed."""
        if not decision.allowed:
            key = found.key
            detail = decision.reason if key else f"{typed}: {decision.reason}"
            return self.refuse(
                actor, action, "permission", detail, channel, key=key, decision=decision
            )
        if isinstance(found, Miss):
            detail = found.detail if found.key else f"{typed}: {found.detail}"
            return self.refuse(actor, action, "miss", detail, channel, key=found.key, miss=found)
        return found
