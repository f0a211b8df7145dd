"""The App Home tab: what one person sees when they open the app (views.publish), built from
the store as it stands (no AWS call), and published again after they change something from it.

`first_for` is where a person's own associations get ahead of the rest: given a user ID, a
predicate saying which failing associations are theirs (their routes' associations, when they
belong to a route's user group), or None to keep the digest's order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app.digests import RERUNS_SHOWN_FOR, DigestComposer
from bot.app.home import HomeAudience
from bot.app.membership import Requester, WorkspaceGate
from bot.core.digest import DigestView
from bot.core.health import Health
from bot.core.routing import routes_of
from bot.ops.freshness import assess_store
from bot.slack import blocks as kit
from bot.slack.blocks.home import Mine
from bot.slack.faults import report
from bot.slack.services import Services

log = logging.getLogger(__name__)

FirstFor = Callable[[str], Mine | None]


@dataclass(frozen=True)
class HomeState:
    view: DigestView
    health: Health


class HomeTab:
    def __init__(self, services: Services, *, first_for: FirstFor | None = None) -> None:
        self.services = services
        self.first_for = first_for if first_for is not None else self._routes_first
        self.audience = HomeAudience(store=services.store, clock=services.clock)
        self.composer = DigestComposer.from_settings(services.store, services.settings)

    def opened(self, user: str, teams: tuple[str, ...] = ()) -> None:
        """Someone opened the Home tab: remember them (a sweep refreshes it), publish it."""
        self.audience.opened(user)
        self.publish(user, teams=teams)

    def refresh(self) -> None:
        """After a sweep: the Home tabs of those who opened theirs lately, published anew."""
        users = self.audience.recent()
        if users:
            state = self.state()  # read once: only each viewer's ordering differs
            for user in users:
                self.publish(user, state)

    def _routes_first(self, user: str) -> Mine | None:
        """On the Home tab, the failures of the routes the user belongs to come first."""

        def members(group: str) -> frozenset[str] | None:
            found = self.services.operators.members.members(group)  # one cache
            return found if isinstance(found, frozenset) else None

        mine = routes_of(user, self.services.settings.routes, members)
        if not mine:
            return None
        return lambda t: any(
            r.matches(t.key.account_id, t.key.region, t.association.document_name) for r in mine
        )

    def view(self, user: str, state: HomeState | None = None) -> dict[str, Any]:
        """The Home tab for `user`, as views.publish takes it (from `state`, when the caller
        publishes several tabs of one moment: only the viewer's own ordering differs)."""
        state = state or self.state()
        return kit.home_view(
            state.view,
            health=state.health,
            first=self.first_for(user),
        )

    def state(self) -> HomeState:
        """What every Home tab shows now: the digest with recent re-runs, the health."""
        services, store = self.services, self.services.store
        settings, now = services.settings, services.clock()
        view = self.composer.whole(now, reruns_since=now - RERUNS_SHOWN_FOR)
        return HomeState(view, assess_store(store, settings, now))

    def publish(
        self, user: str, state: HomeState | None = None, *, teams: tuple[str, ...] = ()
    ) -> bool:
        """Publish `user`'s Home tab (`teams`: those the request named, when one did): the
        fleet only for those who may read the details (SSM3_VIEWERS), else the line saying
        who may; a refusal by Slack is logged (there is nobody to tell)."""
        if not user:
            return False
        gate = WorkspaceGate(self.services.operators, Requester(user, teams), self.services.members)
        try:
            allowed = gate.may_view(user)  # users.info may meet a refused token too
            view = (
                self.view(user, state) if allowed.allowed else kit.closed_home_view(allowed.reason)
            )
            self.services.client.views_publish(user_id=user, view=view)
        except (SlackApiError, SlackClientError, OSError) as exc:
            report(exc, f"publish the Home tab of {user}", log)
            return False
        return True
