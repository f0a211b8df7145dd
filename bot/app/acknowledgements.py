"""Acknowledge and unacknowledge (reopen) a failing association: the rules, the store write, the
audit entry and, with SSM3_SECURITYHUB=sync, its SSM.3 findings brought in line — the same
whichever surface asked (Slack's button, form or command, the CLI)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot.app.events import AckEnded, Acknowledged
from bot.app.findings_sync import FindingsSync
from bot.app.hubs_sync import HubsSync
from bot.app.outcomes import Action, AuditWriter, Done, Refusal
from bot.app.permissions import Permissions
from bot.app.resolve import Target, resolve
from bot.app.sync_report import SyncReport
from bot.models import InstanceKey, TrackedAssociation
from bot.store import Store
from bot.util.clock import iso

log = logging.getLogger(__name__)

Outcome = Done | Refusal


class Acknowledgements:
    def __init__(
        self,
        *,
        store: Store,
        permissions: Permissions,
        clock: Callable[[], datetime],
        sync: HubsSync | FindingsSync | None = None,
    ) -> None:
        self.store = store
        self.permissions = permissions
        self.clock = clock
        self.sync = sync  # SSM3_SECURITYHUB=sync: SSM.3's findings follow each change
        self._audit_log = AuditWriter(store, clock)
        self._refuse = self._audit_log.refuse
        self._audit = self._audit_log.audit

    def target(
        self, actor: str, ref: Target, *, channel: str | None = None
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
        ref: Target,
        *,
        reason: str,
        until: datetime,
        channel: str | None = None,
        actor_name: str | None = None,
    ) -> Outcome:
        """`actor_name`: the name the surface knows the actor by (Slack's user name), for the
        note the Security Hub sync writes."""
        found = self.target(actor, ref, channel=channel)
        if isinstance(found, Refusal):
            return found
        now = self.clock()
        ack = self.store.acks.acknowledge(
            found.key, by=actor, reason=reason, until=until, now=now, by_name=actor_name
        )
        detail = f"until {iso(until)}: {reason}"
        self._audit(actor, "ack", "acknowledged", key=found.key, detail=detail, channel=channel)
        done = replace(found, ack=ack)
        report = self._sync(done, actor, channel, acknowledged=True)
        return Done(done, (Acknowledged(found.key, ack),), report)

    def unacknowledge(self, actor: str, ref: Target, *, channel: str | None = None) -> Outcome:
        found = self._permitted_target(actor, "unack", ref, channel)
        if isinstance(found, Refusal):
            return found
        now = self.clock()
        if not self.store.acks.unacknowledge(found.key, by=actor, now=now):
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
        report = self._sync(found, actor, channel, acknowledged=False)
        ended = AckEnded(found.key, "unacknowledged", actor, now)
        return Done(replace(found, ack=None), (ended,), report)

    def _sync(
        self, item: TrackedAssociation, actor: str, channel: str | None, *, acknowledged: bool
    ) -> SyncReport | None:
        """Its account-region's SSM.3 findings brought in line (the instances it covers are the
        report's focus); never raises: the change itself is already stored."""
        if self.sync is None:
            return None
        key = item.key
        focus = (
            [
                InstanceKey(key.account_id, key.region, i)
                for i in item.association.noncompliant_instances
            ]
            if acknowledged
            else []
        )
        try:
            return self.sync.run(scopes=[key.scope], actor=actor, channel=channel, focus=focus)
        except Exception:
            log.exception("the Security Hub sync after a change to %s failed", key.association_id)
            return SyncReport(workflow=self.sync.workflow, error="an internal error: see the log")

    # -- the checks every change makes, in order ------------------------------------------------
    def _permitted_target(
        self, actor: str, action: Action, ref: Target, channel: str | None
    ) -> TrackedAssociation | Refusal:
        return self._audit_log.permitted_target(
            actor,
            action,
            decision=self.permissions.may_acknowledge(actor),
            found=resolve(self.store, ref, self.clock()),
            typed=ref.association_id,
            channel=channel,
        )
