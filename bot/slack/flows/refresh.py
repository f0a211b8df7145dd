"""After a change from Slack: edit today's digests, the digest clicked in and each channel's
latest, the alerts that told of the association, and (asked from there) the Home tab."""

from __future__ import annotations

from bot.models import AssociationKey, DigestMessage
from bot.slack.flows.home import HomeTab
from bot.slack.replies import Origin
from bot.slack.services import Services


class Refresh:
    def __init__(self, services: Services, home: HomeTab) -> None:
        self.services = services
        self.home = home

    def after_change(self, origin: Origin, key: AssociationKey | None = None) -> None:
        runner = self.services.scheduled()
        runner.refresh_digest(also=self.digests_shown(origin))
        if key is not None:
            runner.refresh_alerts([key])
        if origin.home:  # asked from the Home tab: that is published again too
            self.home.publish(origin.user)

    def digests_shown(self, origin: Origin) -> list[DigestMessage | None]:
        """Beyond today's digests: the one clicked in and each channel's latest."""
        digests = self.services.store.digests
        clicked = (
            digests.get(str(origin.channel), str(origin.message_ts)) if origin.in_digest else None
        )
        return [clicked, *(digests.latest(c.id) for c in self.services.settings.channels)]
