"""Which digest each channel gets: SSM3_CHANNEL the whole picture, a route's channel only its
associations (bot/core/routing.py), each compared with that channel's previous scheduled digest
and with its escalations called out. Every surface that posts or edits a digest asks here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.routing import Channel, Route
from bot.digest import Digest, build_digest, for_channel
from bot.models import DigestMessage
from bot.store import Store


class DigestBook:
    def __init__(
        self,
        *,
        store: Store,
        channels: Sequence[Channel],
        escalate_after: timedelta | None = None,
        zone: ZoneInfo | None = None,
    ) -> None:
        self.zone = zone  # the trend's days end at midnight here (SSM3_TIMEZONE)
        self.store = store
        self.channels = tuple(channels)
        self.escalate_after = escalate_after
        self._by_id = {c.id: c for c in self.channels}

    def channel(self, channel_id: str) -> Channel:
        """The channel's routes; a channel no route names (a digest posted before the routes
        changed) gets the whole picture, as SSM3_CHANNEL does."""
        return self._by_id.get(channel_id) or Channel(
            channel_id, (Route(channel=channel_id, everything=True),)
        )

    def compose(
        self, channel_id: str, now: datetime, previous: DigestMessage | None = None
    ) -> Digest:
        """`channel_id`'s digest from the store as it stands, compared with `previous`."""
        digest = build_digest(self.store, now, previous, zone=self.zone)
        channel = self.channel(channel_id)
        if channel.everything:
            return for_channel(digest, channel, [], set(), escalate_after=self.escalate_after)
        scopes = sum(
            1
            for state in self.store.sweeps.scope_states()
            if any(
                r.covers_scope(state.scope.account_id, state.scope.region) for r in channel.routes
            )
        )
        return for_channel(
            digest,
            channel,
            self.store.associations.catalogue(),
            self.store.associations.noncompliant_instances(),
            escalate_after=self.escalate_after,
            scopes=scopes,
        )

    def current(self, message: DigestMessage, now: datetime) -> Digest:
        """What a posted digest message should show now: a scheduled one keeps comparing with
        the digest before it, so it tells the same story all day; one posted by hand compares
        with nothing."""
        previous = (
            self.store.digests.previous(message.channel, message.slot)
            if message.scheduled
            else None
        )
        return self.compose(message.channel, now, previous)
