"""The digest: what is failing now, what is acknowledged, what could not be swept.

Plain data, built from stored state only (no AWS calls) by the one composer
(bot/app/digests.py), and the view every renderer formats: what a surface shows of a digest
(the trend once two days are known, the escalations it names, Security Hub only when it
disagrees, the re-runs beside their rows, the zone its dates are in) is decided here, once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.core.routing import mentions_for
from bot.core.trend import Trend
from bot.models import (
    AssociationKey,
    FailedTarget,
    InstanceKey,
    Orphan,
    Rerun,
    ScopeStatus,
    SecurityHubCheck,
    SnapshotItem,
    SweepSummary,
    TrackedAssociation,
)

if TYPE_CHECKING:
    from bot.core.routing import Channel


@dataclass(frozen=True)
class DigestTotals:
    associations: int
    failing: int
    acknowledged: int
    noncompliant_instances: int
    scopes: int
    scopes_failed: int


@dataclass(frozen=True)
class DigestChanges:
    """What moved since the previous digest was posted."""

    since: datetime
    new: frozenset[AssociationKey]
    resolved: tuple[SnapshotItem, ...]
    reopened: tuple[TrackedAssociation, ...]


@dataclass(frozen=True)
class Digest:
    generated_at: datetime
    failing: tuple[TrackedAssociation, ...]
    acknowledged: tuple[TrackedAssociation, ...]
    scopes_failed: tuple[ScopeStatus, ...]
    totals: DigestTotals
    last_sweep: SweepSummary | None
    changes: DigestChanges | None = None
    orphans: tuple[Orphan, ...] = ()
    security_hub: SecurityHubCheck | None = None  # None: SSM3_SECURITYHUB=off, or not yet read
    # Unacknowledged failures older than SSM3_ESCALATE_AFTER, oldest first, and who to name.
    escalated: tuple[TrackedAssociation, ...] = ()
    escalate_after: timedelta | None = None
    mentions: tuple[str, ...] = ()
    account_names: Mapping[str, str] = field(default_factory=dict)  # from Organizations
    trend: Trend | None = None  # the last 14 days, from stored sweeps

    @property
    def all_clear(self) -> bool:
        return (
            not self.failing
            and not self.acknowledged
            and not self.scopes_failed
            and not self.orphans
        )

    @property
    def security_hub_disagrees(self) -> bool:
        """Worth a line: Security Hub and the sweep name different instances, or it failed."""
        return self.security_hub is not None and not self.security_hub.agrees

    def is_new(self, tracked: TrackedAssociation) -> bool:
        return self.changes is not None and tracked.key in self.changes.new

    def is_reopened(self, tracked: TrackedAssociation) -> bool:
        return self.changes is not None and any(t.key == tracked.key for t in self.changes.reopened)


ESCALATED_NAMED = 5  # the oldest escalated failures named by every surface; the rest counted


@dataclass(frozen=True)
class DigestView:
    """A digest as a surface shows it: the decisions every renderer (Slack, text) takes from
    here rather than deciding again."""

    digest: Digest
    zone: ZoneInfo | None = None  # SSM3_TIMEZONE: dates, and where the trend's days end
    reruns: Mapping[AssociationKey, Rerun] = field(default_factory=dict)  # shown beside rows

    @property
    def trend(self) -> Trend | None:
        """The trend, once it has two days with a sweep (a single day says nothing)."""
        trend = self.digest.trend
        return trend if trend is not None and trend.known >= 2 else None

    @property
    def escalated_named(self) -> tuple[TrackedAssociation, ...]:
        """The escalated failures named, oldest first."""
        return tuple(t for t in self.digest.escalated if t.failing_since is not None)[
            :ESCALATED_NAMED
        ]

    @property
    def escalated_more(self) -> int:
        return len(self.digest.escalated) - len(self.escalated_named)

    @property
    def security_hub(self) -> SecurityHubCheck | None:
        """Security Hub's check, when it is worth a line: it disagrees, or it failed."""
        return self.digest.security_hub if self.digest.security_hub_disagrees else None


def snapshot(digest: Digest) -> list[SnapshotItem]:
    """What this digest reports as failing, for the next digest to compare with."""
    return [
        SnapshotItem(
            key=t.key,
            name=t.association.display_name,
            document=t.association.document_name,
            failing_since=t.failing_since,
            acknowledged=t.ack is not None,
        )
        for t in (*digest.failing, *digest.acknowledged)
    ]


_PLUGIN_TALLY = re.compile(r"^\s*\d+ out of \d+ plugins? processed(, \d+ \w+)*\.\s*", re.I)


def clean_summary(summary: str | None) -> str | None:
    """Drop the agent's '1 out of 1 plugin processed, 0 success, …' preamble: it says nothing."""
    if not summary:
        return None
    return " ".join(_PLUGIN_TALLY.sub("", summary).split()) or None


def top_error(targets: tuple[FailedTarget, ...]) -> str | None:
    """The most telling error of an association's failed targets, in one line."""
    for target in targets:
        summary = clean_summary(target.summary)
        if summary or target.error_code:
            code = f" (code {target.error_code})" if target.error_code else ""
            return f"{summary or target.detailed_status or 'Failed'}{code}"
    if targets and targets[0].detailed_status:
        return targets[0].detailed_status
    return None


def matches(t: TrackedAssociation, kind: str, value: str) -> bool:
    """Whether a tracked association is in an account, a region, or fails on an instance."""
    if kind == "account":
        return t.key.account_id == value
    if kind == "region":
        return t.key.region == value
    a = t.association
    return value in a.noncompliant_instances or any(
        target.instance_id == value for target in a.failed_targets
    )


def narrow(
    digest: Digest, kind: str, value: str, associations: int, noncompliant: set[InstanceKey]
) -> Digest:
    """The digest of one account, region or instance (`/ssm3 status X`): its failures,
    orphans and Security Hub disagreements, and SSM.3's instance count within it."""

    def covers(account_id: str, region: str, instance_id: str) -> bool:
        if kind == "account":
            return account_id == value
        if kind == "region":
            return region == value
        return instance_id == value

    def scope(account_id: str, region: str) -> bool:
        return (kind == "account" and account_id == value) or (kind == "region" and region == value)

    return _within(
        digest,
        keep=lambda t: matches(t, kind, value),
        covers=covers,
        scope=scope,
        associations=associations,
        noncompliant=noncompliant,
    )


def for_channel(
    digest: Digest,
    channel: Channel,
    catalogue: list[tuple[str, str, str]],
    noncompliant: set[InstanceKey],
    *,
    escalate_after: timedelta | None = None,
    scopes: int | None = None,
) -> Digest:
    """The digest a channel gets: only its routes' associations (SSM3_CHANNEL's: all), the
    instance-level findings of the account-regions it covers, and its escalations."""
    if not channel.everything:

        def keep(t: TrackedAssociation) -> bool:
            return channel.matches(t.key.account_id, t.key.region, t.association.document_name)

        theirs = {
            InstanceKey(t.key.account_id, t.key.region, i)
            for t in (*digest.failing, *digest.acknowledged)
            if keep(t)
            for i in t.association.noncompliant_instances
        }

        def covers(account_id: str, region: str, instance_id: str) -> bool:
            return channel.covers_instances(account_id, region) or (
                InstanceKey(account_id, region, instance_id) in theirs
            )

        digest = _within(
            digest,
            keep=keep,
            covers=covers,
            scope=channel.covers_instances,
            associations=sum(1 for entry in catalogue if channel.matches(*entry)),
            noncompliant=noncompliant,
            scopes=scopes,
        )
    if escalate_after is None:
        return digest
    cutoff = digest.generated_at - escalate_after
    old = sorted(
        (t for t in digest.failing if t.failing_since is not None and t.failing_since <= cutoff),
        key=lambda t: (t.failing_since, t.key.association_id),
    )
    mentions = mentions_for(
        channel, ((t.key.account_id, t.key.region, t.association.document_name) for t in old)
    )
    return replace(digest, escalated=tuple(old), escalate_after=escalate_after, mentions=mentions)


def _within(
    digest: Digest,
    *,
    keep: Callable[[TrackedAssociation], bool],
    covers: Callable[[str, str, str], bool],
    scope: Callable[[str, str], bool],
    associations: int,
    noncompliant: set[InstanceKey],
    scopes: int | None = None,
) -> Digest:
    """The part of `digest` whose associations `keep` keeps and whose instance-level findings
    `covers` covers, with its totals counted within it."""
    failing = tuple(t for t in digest.failing if keep(t))
    acked = tuple(t for t in digest.acknowledged if keep(t))
    failed_scopes = tuple(
        s for s in digest.scopes_failed if scope(s.scope.account_id, s.scope.region)
    )
    orphans = tuple(o for o in digest.orphans if covers(o.account_id, o.region, o.instance_id))
    check = digest.security_hub
    if check is not None:
        check = replace(
            check,
            unexplained=tuple(k for k in check.unexplained if covers(*_parts(k))),
            sweep_only=tuple(k for k in check.sweep_only if covers(*_parts(k))),
        )
    totals = DigestTotals(
        associations=associations,
        failing=len(failing) + len(acked),
        acknowledged=len(acked),
        # SSM.3's own count, within the filter.
        noncompliant_instances=sum(1 for k in noncompliant if covers(*_parts(k))),
        scopes=digest.totals.scopes if scopes is None else scopes,
        scopes_failed=len(failed_scopes),
    )
    escalated = tuple(t for t in digest.escalated if keep(t))
    changes = digest.changes
    if changes is not None:
        # `resolved` comes from this view's own previous digest (a channel compares with its own).
        changes = replace(changes, reopened=tuple(t for t in changes.reopened if keep(t)))
    return replace(
        digest,
        failing=failing,
        acknowledged=acked,
        scopes_failed=failed_scopes,
        totals=totals,
        orphans=orphans,
        security_hub=check,
        changes=changes,
        escalated=escalated,
        trend=None,  # the stored sweeps count the whole estate, not this part of it
    )


def _parts(key: InstanceKey) -> tuple[str, str, str]:
    return key.account_id, key.region, key.instance_id
