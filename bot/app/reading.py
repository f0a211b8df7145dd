"""Reading the details (history with step output and S3 links, the audit log, a diagnosis, the
Home tab's fleet): permission first (SSM3_VIEWERS, behind the workspace rule), a refusal
audited like any other (action `read`). Every surface that shows them asks `Reading.check`
before it reads anything."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.app.outcomes import AuditWriter, Refusal
from bot.app.permissions import Permissions
from bot.models import AssociationKey
from bot.store import Store


class Reading:
    def __init__(
        self, *, store: Store, permissions: Permissions, clock: Callable[[], datetime]
    ) -> None:
        self.permissions = permissions
        self._audit_log = AuditWriter(store, clock)

    def check(
        self,
        actor: str,
        what: str,
        *,
        channel: str | None = None,
        key: AssociationKey | None = None,
    ) -> Refusal | None:
        """None when `actor` may read `what` (`history`, `audit`, `diagnose`, …); else the
        refusal, already audited."""
        decision = self.permissions.may_view(actor)
        if decision.allowed:
            return None
        return self._audit_log.refuse(
            actor,
            "read",
            "permission",
            f"{what}: {decision.reason}",
            channel,
            key=key,
            decision=decision,
        )
