"""The App Home tab: what one person sees when they open the app (views.publish), built from
the store as it stands (no AWS call), and published again after they change something from it.

`first_for` is where a person's own associations get ahead of the rest: given a user ID, a
predicate saying which failing associations are theirs (their routes' associations, when they
belong to a route's user group), or None to keep the digest's order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app.membership import Requester, WorkspaceGate
from bot.digest import Digest, build_digest
from bot.health import Health, assess, sweep_period
from bot.models import AssociationKey, Rerun
from bot.slack import blocks as kit
from bot.slack.blocks.home import Mine
from bot.slack.faults import report
from bot.slack.services import Services

log = logging.getLogger(__name__)

FirstFor = Callable[[str], Mine | None]
RERUNS_SHOWN_FOR = timedelta(days=1)


@dataclass(frozen=True)
class HomeState:
    digest: Digest
    health: Health
    reruns: Mapping[AssociationKey, Rerun]


class HomeTab:
    def __init__(self, services: Services, *, first_for: FirstFor | None = None) -> None:
        self.services = services
        self.first_for = first_for

    def view(self, user: str, state: HomeState | None = None) -> dict[str, Any]:
        """The Home tab for `user`, as views.publish takes it (from `state`, when the caller
        publishes several tabs of one moment: only the viewer's own ordering differs)."""
        state = state or self.state()
        return kit.home_view(
            state.digest,
            health=state.health,
            reruns=state.reruns,
            zone=self.services.settings.zone,
            first=self.first_for(user) if self.first_for else None,
        )

    def state(self) -> HomeState:
        """What every Home tab shows now: the digest, the health, recent re-runs."""
        services, store = self.services, self.services.store
        settings, now = services.settings, services.clock()
        digest = build_digest(store, now, zone=settings.zone)
        last_digest = store.digests.latest()
        health = assess(
            last_sweep=digest.last_sweep,
            period=sweep_period(settings.sweep_schedule, settings.timezone, now),
            now=now,
            last_digest_at=last_digest.posted_at if last_digest else None,
        )
        return HomeState(digest, health, store.reruns.started_since(now - RERUNS_SHOWN_FOR))

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
