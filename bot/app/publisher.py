"""Where digests, alerts and the evidence report go: the port the scheduled jobs publish through (Slack's Delivery in
production, a recorder in tests)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.core.digest import DigestView
from bot.models import AlertMessage, AlertState, DigestMessage, TrackedAssociation


class Publisher(Protocol):
    """Where digests and alerts go (Slack in production, a recorder in tests)."""

    def post_digest(self, channel: str, view: DigestView) -> str:
        """Post the digest `view` shows to `channel`; the message's ts."""
        ...

    def update_digest(self, message: DigestMessage, view: DigestView) -> bool:
        """Edit a posted digest to show `view` (the caller composes it from the store as it is
        when the edit's turn comes). False when Slack refused (the publisher logged why)."""
        ...

    def post_alerts(
        self, channel: str, items: Sequence[TrackedAssociation], mentions: Sequence[str]
    ) -> str:
        """One message for associations that just began failing; its ts."""
        ...

    def update_alert(
        self, message: AlertMessage, states: Sequence[AlertState], mentions: Sequence[str]
    ) -> bool:
        """Edit a posted alert to show its associations as they stand now (False: refused)."""
        ...

    def post_file(
        self, channel: str, *, filename: str, content: str, title: str, comment: str
    ) -> str:
        """Share a file in `channel` with `comment` (the evidence report); its file ID."""
        ...
