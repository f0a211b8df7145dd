"""Re-run an association (StartAssociationsOnce) and, some minutes later, check whether that
helped: permission first, the cooldown, the AWS call, the store and the audit log — the same
for every surface. AWS is reached through `AssociationActions` (bot/aws/actions.py in
production), so the rules test without it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot.app.events import RerunChecked, RerunStarted
from bot.app.outcomes import AuditWriter, Refusal
from bot.app.permissions import Permissions
from bot.app.resolve import Target, resolve
from bot.core.causes import kind_label
from bot.models import AssociationKey, Rerun, TrackedAssociation
from bot.models.answers import AssociationState, AwsFailure
from bot.store import Store
from bot.util.clock import iso

log = logging.getLogger(__name__)

BOT_ACTOR = "ssm3bot"  # who the follow-up check is, in the audit log
Checked = Literal["compliant", "pending", "still_failing", "unknown"]


class AssociationActions(Protocol):
    """What a re-run needs of AWS: the association's state now, and running it once (after
    reading its state, on the same connection). Both raise AwsFailure."""

    def state(self, key: AssociationKey) -> AssociationState: ...
    def rerun(self, key: AssociationKey) -> AssociationState: ...


def rerun_can_fix(item: TrackedAssociation, state: AssociationState | None) -> bool:
    """Whether a re-run can change its compliance: the stored kind of a failing association;
    for another, its SyncCompliance as AWS says (unknown: assume it can)."""
    if item.association.failing:
        return item.association.rerun_can_fix
    return state is None or state.rerun_can_fix


@dataclass(frozen=True)
class Started:
    item: TrackedAssociation
    rerun: Rerun
    can_fix: bool  # False: a re-run will not change its compliance (a reported failure, MANUAL)
    events: tuple[RerunStarted, ...]


@dataclass(frozen=True)
class StartFailed:
    """AWS refused or did not answer; recorded, so the cooldown does not hold."""

    item: TrackedAssociation
    error: AwsFailure


@dataclass(frozen=True)
class FollowUp:
    item: TrackedAssociation
    rerun: Rerun
    outcome: Checked
    state: AssociationState | None
    error: AwsFailure | None
    events: tuple[RerunChecked, ...]


class Reruns:
    def __init__(
        self,
        *,
        store: Store,
        permissions: Permissions,
        actions: AssociationActions,
        clock: Callable[[], datetime],
        cooldown_s: int,
    ) -> None:
        self.store = store
        self.permissions = permissions
        self.actions = actions
        self.clock = clock
        self.cooldown_s = cooldown_s
        self._audit_log = AuditWriter(store, clock)

    def target(
        self, actor: str, ref: Target, *, channel: str | None = None
    ) -> TrackedAssociation | Refusal:
        """What a re-run of `ref` would run, checked as `start` checks it (for the confirm step)."""
        return self._audit_log.permitted_target(
            actor,
            "rerun",
            decision=self.permissions.may_rerun(actor),
            found=resolve(self.store, ref, self.clock()),
            typed=ref.association_id,
            channel=channel,
        )

    def can_fix(self, item: TrackedAssociation) -> bool:
        """Whether a re-run can change its compliance (for an association not failing, AWS is
        asked its SyncCompliance; when it does not say, the re-run itself reads it again)."""
        if item.association.failing:
            return rerun_can_fix(item, None)
        try:
            return rerun_can_fix(item, self.actions.state(item.key))
        except AwsFailure as exc:
            log.warning("could not read the SyncCompliance of %s: %s", item.key.association_id, exc)
            return True

    def start(
        self, actor: str, ref: Target, *, channel: str | None = None
    ) -> Started | StartFailed | Refusal:
        item = self.target(actor, ref, channel=channel)
        if isinstance(item, Refusal):
            return item
        now = self.clock()
        rerun, fresh = self.store.reruns.claim(
            item.key, by=actor, now=now, cooldown_s=self.cooldown_s, channel=channel
        )
        if not fresh:
            held = f"cooldown: started by {rerun.by} at {iso(rerun.at)}"
            return self._audit_log.refuse(
                actor, "rerun", "cooldown", held, channel, key=item.key, item=item, rerun=rerun
            )
        try:
            state = self.actions.rerun(item.key)
        except AwsFailure as exc:
            self.store.reruns.finish(rerun.id, outcome="failed", now=self.clock())
            self._audit_log.audit(
                actor, "rerun", "failed", key=item.key, detail=str(exc), channel=channel
            )
            return StartFailed(item, exc)
        a = item.association
        can_fix = rerun_can_fix(item, state)
        detail: str | None = None
        if a.reported:
            detail = kind_label(a)
        elif not can_fix:
            detail = "SyncCompliance MANUAL"
        self._audit_log.audit(
            actor, "rerun", "started", key=item.key, detail=detail, channel=channel
        )
        return Started(item, rerun, can_fix, (RerunStarted(item.key, actor, now),))

    def follow_up(
        self, item: TrackedAssociation, rerun: Rerun, *, channel: str | None = None
    ) -> FollowUp:
        """Some minutes after a re-run: did the association come back compliant?"""
        key = item.key
        state: AssociationState | None = None
        error: AwsFailure | None = None
        outcome: Checked
        try:
            state = self.actions.state(key)
        except AwsFailure as exc:
            error, outcome = exc, "unknown"
        else:
            if state.compliant:
                outcome = "compliant"
            elif state.status == "Pending":
                outcome = "pending"
            else:
                outcome = "still_failing"
        now = self.clock()
        self.store.reruns.finish(rerun.id, outcome=outcome, now=now)
        if error is None:
            self._audit_log.audit(
                BOT_ACTOR,
                "rerun_check",
                outcome,
                key=key,
                detail=f"re-run by {rerun.by} at {iso(rerun.at)}",
                channel=channel,
            )
        return FollowUp(item, rerun, outcome, state, error, (RerunChecked(key, outcome, now),))
