"""Where failures are told: routes from SSM3_ROUTES_FILE plus SSM3_CHANNEL's whole picture.

An association goes to every route whose given keys all match (an absent key matches
anything). A channel gets the union of its routes; SSM3_CHANNEL's route matches everything.
Pure data and matching: no I/O here (the file is read by bot/settings/routes_file.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class Route:
    channel: str
    accounts: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    documents: tuple[str, ...] = ()  # fnmatch globs, case-sensitive like document names
    mention: str | None = None  # a user group (S…) or a user (U…/W…)
    everything: bool = False  # SSM3_CHANNEL: the whole picture, whatever the keys say

    def matches(self, account_id: str, region: str, document: str) -> bool:
        """Whether an association in `account_id`/`region` running `document` is this route's."""
        if self.everything:
            return True
        if not self.covers_scope(account_id, region):
            return False
        return not self.documents or any(fnmatchcase(document, glob) for glob in self.documents)

    def covers_scope(self, account_id: str, region: str) -> bool:
        """Whether the account-region is this route's (documents aside)."""
        if self.everything:
            return True
        return (not self.accounts or account_id in self.accounts) and (
            not self.regions or region in self.regions
        )

    def covers_instances(self, account_id: str, region: str) -> bool:
        """Whether instance-level findings with no document (orphaned items, Security Hub's
        disagreements, account-regions not swept) belong here: only on routes that do not
        narrow by document, since such a finding cannot be tied to one."""
        return self.covers_scope(account_id, region) and (self.everything or not self.documents)


@dataclass(frozen=True)
class Channel:
    """One Slack channel and the routes that feed it."""

    id: str
    routes: tuple[Route, ...]

    @property
    def everything(self) -> bool:
        return any(r.everything for r in self.routes)

    def matches(self, account_id: str, region: str, document: str) -> bool:
        return any(r.matches(account_id, region, document) for r in self.routes)

    def covers_instances(self, account_id: str, region: str) -> bool:
        return any(r.covers_instances(account_id, region) for r in self.routes)

    def mentions(self, account_id: str, region: str, document: str) -> tuple[str, ...]:
        """Who to name in an alert about such an association, in route order, once each."""
        found: list[str] = []
        for route in self.routes:
            wanted = route.mention
            if wanted and wanted not in found and route.matches(account_id, region, document):
                found.append(wanted)
        return tuple(found)


def mentions_for(channel: Channel, items: Iterable[tuple[str, str, str]]) -> tuple[str, ...]:
    """Who to name in one message about several associations (account, region, document):
    each route's mention once, in the order the associations first call for it."""
    found: list[str] = []
    for account_id, region, document in items:
        for m in channel.mentions(account_id, region, document):
            if m not in found:
                found.append(m)
    return tuple(found)


def channels(main: str | None, routes: Iterable[Route]) -> tuple[Channel, ...]:
    """The channels to post to: SSM3_CHANNEL (everything) first, then each route's channel in
    file order; routes sharing a channel share its digest."""
    ordered: dict[str, list[Route]] = {}
    if main:
        ordered[main] = [Route(channel=main, everything=True)]
    for route in routes:
        ordered.setdefault(route.channel, []).append(route)
    return tuple(Channel(cid, tuple(rs)) for cid, rs in ordered.items())


def mention_markup(mentions: Sequence[str]) -> str:
    """Slack's markup for naming user groups and users: <!subteam^S…> and <@U…>."""
    return " ".join(f"<!subteam^{m}>" if m.startswith("S") else f"<@{m}>" for m in mentions)


def routes_of(
    user: str, routes: Iterable[Route], members: Callable[[str], frozenset[str] | None]
) -> tuple[Route, ...]:
    """The routes a person belongs to: those that mention them, or a user group they are in
    (`members` gives a group's members, None when it cannot be read)."""
    mine = []
    for route in routes:
        who = route.mention
        if who is None:
            continue
        if who == user or (who.startswith("S") and user in (members(who) or frozenset())):
            mine.append(route)
    return tuple(mine)
