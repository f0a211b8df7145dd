"""The one digest composer: every surface that shows a digest (a channel's post and its edits,
`/ssm3 status`, the Home tab, `ssm3bot digest`, the demo) asks here, so each gets the same
picture: the trend's days ending at midnight in SSM3_TIMEZONE, the failures older than
SSM3_ESCALATE_AFTER called out, a route's channel only its associations
(bot/core/routing.py), and the re-runs shown beside their rows.

The store is read once for a moment (`read`) and each channel's digest cut from that reading,
compared with the channel's own previous digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.core import trend as trends
from bot.core.digest import Digest, DigestChanges, DigestTotals, DigestView, for_channel, narrow
from bot.core.routing import Channel, Route
from bot.models import DigestMessage, InstanceKey, Scope, TrackedAssociation
from bot.store import Store

if TYPE_CHECKING:
    from bot.settings.config import Settings

RERUNS_SHOWN_FOR = timedelta(days=1)  # a reply or the Home tab shows re-runs this recent


def build_digest(
    store: Store,
    now: datetime,
    previous: DigestMessage | None = None,
    *,
    zone: ZoneInfo | None = None,
) -> Digest:
    """The whole estate's digest from the store as it stands, and what changed since
    `previous`; the trend's days end at midnight in `zone` (UTC by default). The raw reading
    under every view: surfaces ask `DigestComposer`, which also applies routes and escalations."""
    # Only the failing associations are read whole; the rest are only counted.
    failing = store.associations.tracked(failing_only=True, now=now)
    unacked = tuple(sorted((t for t in failing if t.ack is None), key=_urgency))
    acked = tuple(sorted((t for t in failing if t.ack is not None), key=_urgency))
    scopes = store.sweeps.scope_states()
    last = store.sweeps.last()
    return Digest(
        generated_at=now,
        failing=unacked,
        acknowledged=acked,
        scopes_failed=tuple(s for s in scopes if not s.ok),
        totals=DigestTotals(
            associations=store.associations.count(),
            failing=len(failing),
            acknowledged=len(acked),
            # SSM.3's own number: every NON_COMPLIANT instance, acknowledged or orphaned too.
            noncompliant_instances=len(store.associations.noncompliant_instances()),
            scopes=len(scopes),
            scopes_failed=sum(1 for s in scopes if not s.ok),
        ),
        last_sweep=last,
        changes=changes_since(store, previous, failing) if previous else None,
        orphans=tuple(store.associations.orphans()),
        security_hub=store.sweeps.security_hub_check(last.sweep_id) if last else None,
        account_names=store.account_names.names(),
        trend=trends.daily(
            store.sweeps.finished_since(trends.since(now, zone)), now=now, zone=zone
        ),
    )


def changes_since(
    store: Store, previous: DigestMessage | None, failing: Sequence[TrackedAssociation]
) -> DigestChanges | None:
    """What moved since `previous` was posted (None: nothing to compare with)."""
    if previous is None or previous.posted_at is None:
        return None
    before = {item.key: item for item in previous.snapshot}
    now_failing = {t.key: t for t in failing}
    expired = {key for key, _ in store.acks.ended(reason="expired", since=previous.posted_at)}
    return DigestChanges(
        since=previous.posted_at,
        new=frozenset(key for key in now_failing if key not in before),
        resolved=tuple(item for key, item in before.items() if key not in now_failing),
        reopened=tuple(t for key, t in now_failing.items() if key in expired and t.ack is None),
    )


def _urgency(tracked: TrackedAssociation) -> tuple[int, str, str]:
    """Most NON_COMPLIANT instances first, then the longest-failing, then a stable order."""
    since = tracked.failing_since.isoformat() if tracked.failing_since else "9999"
    a = tracked.association
    return (-len(a.noncompliant_instances), since, a.association_id)


@dataclass(frozen=True)
class Reading:
    """The store read once at `now`: the whole digest, and what cutting it per channel needs."""

    now: datetime
    digest: Digest
    catalogue: list[tuple[str, str, str]]  # (account, region, document) of each association
    noncompliant: set[InstanceKey]
    scopes: list[Scope]  # every account-region the store knows

    @property
    def failing(self) -> tuple[TrackedAssociation, ...]:
        return (*self.digest.failing, *self.digest.acknowledged)


class DigestComposer:
    def __init__(
        self,
        *,
        store: Store,
        channels: Sequence[Channel] = (),
        escalate_after: timedelta | None = None,
        zone: ZoneInfo | None = None,
    ) -> None:
        self.zone = zone  # the trend's days end at midnight here (SSM3_TIMEZONE)
        self.store = store
        self.channels = tuple(channels)
        self.escalate_after = escalate_after
        self._by_id = {c.id: c for c in self.channels}

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> DigestComposer:
        return cls(
            store=store,
            channels=settings.channels,
            escalate_after=settings.escalate_after,
            zone=settings.zone,
        )

    def channel(self, channel_id: str) -> Channel:
        """The channel's routes; a channel no route names (a digest posted before the routes
        changed, or a surface that is no channel) gets the whole picture, as SSM3_CHANNEL does."""
        return self._by_id.get(channel_id) or Channel(
            channel_id, (Route(channel=channel_id, everything=True),)
        )

    # -- reading ---------------------------------------------------------------------------------
    def read(self, now: datetime) -> Reading:
        """The store as it stands, read once for every view of this moment."""
        routed = not all(c.everything for c in self.channels)
        return Reading(
            now=now,
            digest=build_digest(self.store, now, zone=self.zone),
            catalogue=self.store.associations.catalogue() if routed else [],
            noncompliant=self.store.associations.noncompliant_instances(),
            scopes=[s.scope for s in self.store.sweeps.scope_states()] if routed else [],
        )

    # -- views -----------------------------------------------------------------------------------
    def for_channel(
        self,
        reading: Reading,
        channel_id: str,
        previous: DigestMessage | None = None,
        *,
        reruns_since: datetime | None = None,
    ) -> DigestView:
        """`channel_id`'s digest cut from `reading`, compared with `previous` (its own last
        scheduled digest), with the re-runs started since `reruns_since`."""
        digest = replace(
            reading.digest, changes=changes_since(self.store, previous, reading.failing)
        )
        channel = self.channel(channel_id)
        if channel.everything:
            digest = for_channel(digest, channel, [], set(), escalate_after=self.escalate_after)
        else:
            digest = for_channel(
                digest,
                channel,
                reading.catalogue,
                reading.noncompliant,
                escalate_after=self.escalate_after,
                scopes=sum(
                    1
                    for s in reading.scopes
                    if any(r.covers_scope(s.account_id, s.region) for r in channel.routes)
                ),
            )
        return self.view(digest, reruns_since)

    def whole(self, now: datetime, *, reruns_since: datetime | None = None) -> DigestView:
        """The whole estate, as SSM3_CHANNEL gets it (the CLI, the Home tab, the demo)."""
        return self.for_channel(self.read(now), "", reruns_since=reruns_since)

    def compose(
        self, channel_id: str, now: datetime, previous: DigestMessage | None = None
    ) -> DigestView:
        """`channel_id`'s digest from the store as it stands now."""
        return self.for_channel(self.read(now), channel_id, previous)

    def current(self, message: DigestMessage, reading: Reading) -> DigestView:
        """What a posted digest message should show now: a scheduled one keeps comparing with
        the digest before it, so it tells the same story all day; one posted by hand compares
        with nothing. Re-runs started since it was posted are shown beside their rows."""
        previous = (
            self.store.digests.previous(message.channel, message.slot)
            if message.scheduled
            else None
        )
        return self.for_channel(reading, message.channel, previous, reruns_since=message.posted_at)

    def narrowed(self, whole: DigestView, kind: str, value: str, associations: int) -> DigestView:
        """`/ssm3 status ACCOUNT|REGION|INSTANCE`: the whole view narrowed to what matches
        (`associations`: how many stored associations it covers)."""
        noncompliant = self.store.associations.noncompliant_instances()
        return replace(whole, digest=narrow(whole.digest, kind, value, associations, noncompliant))

    def view(self, digest: Digest, reruns_since: datetime | None) -> DigestView:
        reruns = self.store.reruns.started_since(reruns_since) if reruns_since is not None else {}
        return DigestView(digest, zone=self.zone, reruns=reruns)
