"""Acknowledge and unacknowledge (reopen) a failing association: the rules, the store write and
the audit entry, the same whichever surface asked (Slack's button, form or command, the CLI)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from bot.app.events import AckEnded, Acknowledged, Event
from bot.app.permissions import Decision, Permissions
from bot.app.resolve import Miss, resolve
from bot.clock import iso
from bot.models import AssociationKey, AssociationRef, TrackedAssociation
from bot.store import Store

Action = Literal["ack", "unack"]
Reason = Literal["permission", "miss", "not_failing", "not_acknowledged"]


@dataclass(frozen=True)
class Refusal:
    """Why nothing changed; already in the audit log. Exactly one of `decision` (permission),
    `miss` (no such association) or `item` (the association, in the wrong state) is set."""

    action: Action
    why: Reason
    detail: str
    key: AssociationKey | None = None
    decision: Decision | None = None
    miss: Miss | None = None
    item: TrackedAssociation | None = None


@dataclass(frozen=True)
class Done:
    """The change happened: the association as it is now, and the events."""

    item: TrackedAssociation
    events: tuple[Event, ...]


Outcome = Done | Refusal


class Acknowledgements:
    def __init__(
        self, *, store: Store, permissions: Permissions, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.permissions = permissions
        self.clock = clock

    def target(
        self, actor: str, ref: AssociationRef, *, channel: str | None = None
    ) -> TrackedAssociation | Refusal:
        """What an acknowledgement of `ref` would apply to, checked as `acknowledge` checks it
        (permission, then the association, then that it fails); a form opens only for this."""
        found = self._permitted_target(actor, "ack", ref, channel)
        if isinstance(found, Refusal):
            return found
        if not found.association.failing:
            return self._refuse(
                actor,
                "ack",
                "not_failing",
                f"not failing (status {found.association.status})",
                channel,
                key=found.key,
                item=found,
            )
        return found

    def acknowledge(
        self,
        actor: str,
        ref: AssociationRef,
        *,
        reason: str,
        until: datetime,
        channel: str | None = None,
    ) -> Outcome:
        found = self.target(actor, ref, channel=channel)
        if isinstance(found, Refusal):
            return found
        now = self.clock()
        ack = self.store.acknowledge(found.key, by=actor, reason=reason, until=until, now=now)
        detail = f"until {iso(until)}: {reason}"
        self._audit(actor, "ack", "acknowledged", key=found.key, detail=detail, channel=channel)
        return Done(replace(found, ack=ack), (Acknowledged(found.key, ack),))

    def unacknowledge(
        self, actor: str, ref: AssociationRef, *, channel: str | None = None
    ) -> Outcome:
        found = self._permitted_target(actor, "unack", ref, channel)
        if isinstance(found, Refusal):
            return found
        now = self.clock()
        if not self.store.unacknowledge(found.key, by=actor, now=now):
            return self._refuse(
                actor,
                "unack",
                "not_acknowledged",
                "not acknowledged",
                channel,
                key=found.key,
                item=found,
            )
        self._audit(actor, "unack", "reopened", key=found.key, detail=None, channel=channel)
        return Done(replace(found, ack=None), (AckEnded(found.key, "unacknowledged", actor, now),))

    # -- the checks every change makes, in order ------------------------------------------------
    def _permitted_target(
        self, actor: str, action: Action, ref: AssociationRef, channel: str | None
    ) -> TrackedAssociation | Refusal:
        decision = self.permissions.may_acknowledge(actor)
        found = resolve(self.store, ref)
        if not decision.allowed:
            # Audited against the association when the store knows it, else the ID as typed.
            key = found.key if isinstance(found, TrackedAssociation | Miss) else None
            detail = decision.reason if key else f"{ref.association_id}: {decision.reason}"
            return self._refuse(
                actor, action, "permission", detail, channel, key=key, decision=decision
            )
        if isinstance(found, Miss):
            detail = found.detail if found.key else f"{ref.association_id}: {found.detail}"
            return self._refuse(actor, action, "miss", detail, channel, key=found.key, miss=found)
        return found

    def _refuse(
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
    ) -> Refusal:
        self._audit(actor, action, "refused", key=key, detail=detail, channel=channel)
        return Refusal(action, why, detail, key, decision, miss, item)

    def _audit(
        self,
        actor: str,
        action: str,
        outcome: str,
        *,
        key: AssociationKey | None,
        detail: str | None,
        channel: str | None,
    ) -> None:
        self.store.audit(
            actor=actor,
            action=action,
            outcome=outcome,
            now=self.clock(),
            key=key,
            channel=channel,
            detail=detail,
        )
