"""Alerts: one message per failing streak and channel when an association begins failing,
edited in place as its story goes on (acknowledged by whom and until when, re-run, resolved and
after how long), so the channel never shows a stale call to action.

Claims are rows in the store's ledger (one per streak and channel, across processes); an edit
renders every association its message told of, as each stands now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.app.digests import DigestComposer
from bot.core.routing import mentions_for
from bot.models import AlertMessage, AlertState, AssociationKey, TrackedAssociation
from bot.store import Store

if TYPE_CHECKING:
    from bot.app.publisher import Publisher


class AlertDesk:
    def __init__(
        self,
        *,
        store: Store,
        book: DigestComposer,
        publisher: Publisher | None,
        clock: Callable[[], datetime],
        failed: Callable[[str, str, Exception], None],
        count: Callable[[int], None],
    ) -> None:
        self.store = store
        self.book = book
        self.publisher = publisher
        self.clock = clock
        self.failed = failed  # a Slack call failed: log it once, count it
        self.count = count  # alerts posted

    def new_failures(self) -> int:
        """One alert per failing streak and channel that began since we started watching, never
        for acknowledged ones: SSM3_CHANNEL hears of every one, a route's channel of its own,
        naming the route's mention."""
        if self.publisher is None:
            return 0
        now = self.clock()
        candidates = self.store.associations.alertable_failures()
        if not candidates:
            return 0
        failing = {t.key: t for t in self.store.associations.tracked(failing_only=True, now=now)}
        told = 0
        for channel in self.book.channels:
            due: list[tuple[TrackedAssociation, datetime]] = []
            for key, since in candidates:
                item = failing.get(key)
                if item is None or item.ack is not None:
                    continue
                a = item.association
                if not channel.matches(key.account_id, key.region, a.document_name):
                    continue
                if self.store.ledger.claim_alert(key, since, channel.id, now):
                    due.append((item, since))
            if due:
                told += self._post_alerts(channel.id, due, now)
        return told

    def _post_alerts(
        self, channel_id: str, due: list[tuple[TrackedAssociation, datetime]], now: datetime
    ) -> int:
        assert self.publisher is not None
        mentions = mentions_for(
            self.book.channel(channel_id),
            ((i.key.account_id, i.key.region, i.association.document_name) for i, _ in due),
        )
        try:
            ts = self.publisher.post_alerts(channel_id, [item for item, _ in due], mentions)
        except Exception as exc:
            self.failed("post_alerts", f"posting {len(due)} alert(s) to {channel_id}", exc)
            for item, since in due:
                self.store.ledger.release_alert(item.key, since, channel_id)
            return 0
        for item, since in due:
            self.store.ledger.alert_posted(item.key, since, channel=channel_id, ts=ts, now=now)
        self.count(len(due))
        return len(due)

    def resolve(self) -> int:
        """Mark the alerts whose failing streak ended and edit them to say so (their Re-run
        and Acknowledge buttons go); the number of streaks resolved."""
        ended: list[tuple[AssociationKey, datetime]] = []
        messages: list[AlertMessage] = []
        now = self.clock()
        for key, since, message in self.store.ledger.open_alerts():
            if not self._still_failing(key, since):
                if (key, since) not in ended:
                    ended.append((key, since))
                    self.store.ledger.alert_resolved(key, since, now)
                if message not in messages:
                    messages.append(message)
        for message in messages:
            self._update_alert(message)
        return len(ended)

    def refresh(self, keys: Iterable[AssociationKey]) -> None:
        """Edit the open alerts of `keys` after an acknowledgement, an unack or a re-run."""
        messages: list[AlertMessage] = []
        for key in keys:
            for message in self.store.ledger.alert_messages(key):
                if message not in messages:
                    messages.append(message)
        for message in messages:
            self._update_alert(message)

    def _update_alert(self, message: AlertMessage) -> None:
        if self.publisher is None:
            return
        states = [
            self._alert_state(key, since)
            for key, since in self.store.ledger.alert_contents(message)
        ]
        mentions = mentions_for(
            self.book.channel(message.channel),
            (
                (s.key.account_id, s.key.region, s.tracked.association.document_name)
                for s in states
                if s.tracked is not None
            ),
        )
        try:
            self.publisher.update_alert(message, states, mentions)  # False: refused, logged
        except Exception as exc:
            self.failed("update_alert", f"updating alert {message.channel}/{message.ts}", exc)

    def _tracked(self, key: AssociationKey) -> TrackedAssociation | None:
        found = self.store.associations.tracked(keys=[key], now=self.clock())
        return found[0] if found else None

    def _still_failing(self, key: AssociationKey, since: datetime) -> bool:
        tracked = self._tracked(key)
        return (
            tracked is not None and tracked.association.failing and tracked.failing_since == since
        )

    def _alert_state(self, key: AssociationKey, since: datetime) -> AlertState:
        rerun = self.store.reruns.last(key)
        return AlertState(
            key=key,
            failing_since=since,
            tracked=self._tracked(key),
            resolved_at=self.store.ledger.resolved_at(key, since),
            rerun=rerun if rerun is not None and rerun.at >= since else None,
        )
