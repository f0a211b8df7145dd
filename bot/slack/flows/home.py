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
from bot.core.digest import DigestView
from bot.core.health import Health, assess, sweep_period
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
        self.first_for = first_for

    def view(self, user: str, state: HomeState | None = None) -> dict[str, Any]:
        """The Home tab for `user`, as views.publish takes it (from `state`, when the caller
        publishes several tabs of one moment: only the viewer's own ordering differs)."""
        state = state or self.state()
        return kit.home_view(
            state.view,
            health=state.health,
            first=self.first_for(user) if self.first_for else None,
        )

    def state(self) -> HomeState:
        """What every Home tab shows now: the digest with recent re-runs, the health."""
        services, store = self.services, self.services.store
        settings, now = services.settings, services.clock()
        view = DigestComposer.from_settings(store, settings).whole(
            now, reruns_since=now - RERUNS_SHOWN_FOR
        )
        digest = view.digest
        last_digest = store.digests.latest()
        health = assess(
            last_sweep=digest.last_sweep,
            period=sweep_period(settings.sweep_schedule, settings.timezone, now),
            now=now,
            last_digest_at=last_digest.posted_at if last_digest else None,
        )
        return HomeState(view, health)

    def publish(self, user: str, state: HomeState | None = None) -> bool:
        """Publish `user`'s Home tab; a refusal is logged (there is nobody to tell)."""
        if not user:
            return False
        try:
            self.services.client.views_publish(user_id=user, view=self.view(user, state))
        except (SlackApiError, SlackClientError, OSError) as exc:
            report(exc, f"publish the Home tab of {user}", log)
            return False
        return True
