"""Re-run from Slack: the slash command's confirmation, the Re-run click (its exact key straight
to the use case), the announcement, and the confirm-COMPLIANT watch of its run
(bot/app/watches.py: scheduled-job rows, so it survives a restart; its verdict is said by
bot/slack/flows/watches.py)."""

from __future__ import annotations

import dataclasses

from bot.app.outcomes import Refusal
from bot.app.reruns import Reruns, StartFailed, watched_instances
from bot.app.resolve import Target
from bot.app.watches import Watches
from bot.core.causes import kind_label, remedy
from bot.models import AssociationKey
from bot.slack import blocks as kit
from bot.slack.flows.guard import Guard
from bot.slack.flows.history import aws_problem
from bot.slack.flows.refresh import Refresh
from bot.slack.replies import Origin, announce, delete_original, tell
from bot.slack.services import Services
from bot.slack.wording import refusal_message


class RerunFlow:
    def __init__(
        self,
        services: Services,
        reruns: Reruns,
        watches: Watches,
        guard: Guard,
        refresh: Refresh,
    ) -> None:
        self.services = services
        self.reruns = reruns
        self.watches = watches
        self.guard = guard
        self.refresh = refresh
        self.zone = services.settings.zone

    def confirm(self, origin: Origin, ref: Target) -> None:
        """The slash command's confirm step: permission first, then what would run."""

        def work() -> None:
            item = self.reruns.target(origin.user, ref, channel=origin.channel)
            if isinstance(item, Refusal):
                self.guard.tell(origin, refusal_message(item))
                return
            can_fix = self.reruns.can_fix(item)
            tell(self.services.client, origin, kit.rerun_confirmation(item, rerun_can_fix=can_fix))

        self.guard.run(origin, "prepare the re-run", work, ref.association_id)

    def start(self, origin: Origin, key: AssociationKey) -> None:
        self.guard.run(
            origin, "re-run the association", lambda: self._start(origin, key), key.association_id
        )

    def _start(self, origin: Origin, key: AssociationKey) -> None:
        services = self.services
        outcome = self.reruns.start(origin.user, key, channel=origin.channel)
        if isinstance(outcome, Refusal):
            cooldown = services.settings.rerun_cooldown_s
            self.guard.tell(origin, refusal_message(outcome, self.zone, cooldown))
            return
        name = kit.inert(outcome.item.association.display_name, 80)
        where = f"{kit.escape(key.account_id)} {kit.escape(key.region)}"
        if isinstance(outcome, StartFailed):
            problem = aws_problem(outcome.error.cause, key, services.settings.role_name)
            self.guard.tell(origin, f"Could not re-run {name} in {where}: {problem}")
            return
        self.refresh.after_change(origin, key)
        watch_for = kit.watched_for(services.settings.watch_for)
        text = (
            f"↻ {kit.mention(origin.user)} re-ran {name} ({where}). I'll follow its run (for up "
            f"to {kit.escape(watch_for)}) and say whether SSM.3 then finds it COMPLIANT."
        )
        a = outcome.item.association
        if a.reported:
            text += f"\n:warning: *{kit.escape(kind_label(a))}*: {kit.escape(remedy(a))}"
        elif not outcome.can_fix:
            text += (
                "\n:warning: Its SyncCompliance is MANUAL: compliance comes from "
                "PutComplianceItems, so this re-run cannot change it."
            )
        delete_original(origin)
        announce(services.client, origin, kit.notice(text))
        # Rows, not a timer alone: the watch goes on after a restart or a deploy.
        self.watches.begin(
            key,
            action="rerun",
            by=origin.user,
            acted_at=outcome.rerun.at,
            instances=watched_instances(outcome.item),
            rerun_id=outcome.rerun.id,
            channel=origin.channel,
            reply_to=dataclasses.asdict(origin),
        )
