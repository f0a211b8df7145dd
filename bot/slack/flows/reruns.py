"""Re-run from Slack: the slash command's confirmation, the Re-run click (its exact key straight
to the use case), the announcement, and the follow-up check some minutes later, kept as a
scheduled-job row so it survives a restart."""

from __future__ import annotations

import dataclasses

from bot.app.outcomes import Refusal
from bot.app.reruns import Reruns, StartFailed
from bot.app.resolve import Target
from bot.core.causes import kind_label, remedy
from bot.models import AssociationKey, Rerun, ScheduledJob, TrackedAssociation
from bot.slack import blocks as kit
from bot.slack.flows.guard import Guard
from bot.slack.flows.history import aws_problem
from bot.slack.flows.refresh import Refresh
from bot.slack.replies import Origin, announce, delete_original, tell
from bot.slack.services import Services
from bot.slack.wording import refusal_message
from bot.util.logs import log_context

FOLLOW_UP = "rerun_follow_up"  # a scheduled job: some minutes after a re-run, check it


class RerunFlow:
    def __init__(self, services: Services, reruns: Reruns, guard: Guard, refresh: Refresh) -> None:
        self.services = services
        self.reruns = reruns
        self.guard = guard
        self.refresh = refresh
        self.zone = services.settings.zone
        services.jobs.register(FOLLOW_UP, self._follow_up_job)

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
        minutes = max(1, round(services.followup_delay_s / 60))
        text = (
            f"↻ {kit.mention(origin.user)} re-ran {name} ({where}). I'll check in about "
            f"{minutes} min whether it came back compliant."
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
        # A row, not a timer alone: the check still happens after a restart or a deploy.
        services.jobs.schedule(
            FOLLOW_UP,
            services.followup_delay_s,
            {
                "origin": dataclasses.asdict(origin),
                "key": [key.account_id, key.region, key.association_id],
                "rerun_id": outcome.rerun.id,
            },
        )

    def _follow_up_job(self, job: ScheduledJob) -> str:
        """The scheduled follow-up of a re-run, from what its row says."""
        fields = {f.name for f in dataclasses.fields(Origin)}
        origin = Origin(**{k: v for k, v in job.payload["origin"].items() if k in fields})
        key = AssociationKey(*job.payload["key"])
        store = self.services.store
        rerun = store.reruns.get(int(job.payload["rerun_id"]))
        if rerun is None or rerun.checked_at is not None:
            return "already checked"
        found = store.associations.tracked(keys=[key], now=self.services.clock())
        if not found:
            return "no longer tracked"
        with log_context(slack_user=origin.user or None, association_id=key.association_id):
            self.follow_up(origin, found[0], rerun)
        return "checked"

    def follow_up(self, origin: Origin, item: TrackedAssociation, rerun: Rerun) -> None:
        """Some minutes after a re-run: say whether the association came back compliant."""
        checked = self.reruns.follow_up(item, rerun, channel=origin.channel)
        name = kit.inert(item.association.display_name, 80)
        client = self.services.client
        if checked.error is not None:
            announce(
                client,
                origin,
                kit.notice(
                    f"Could not check {name} after its re-run: {kit.inert(str(checked.error), 300)}"
                ),
            )
            return
        if checked.outcome == "compliant":
            text = f":white_check_mark: {name} is COMPLIANT again after the re-run."
        elif checked.outcome == "pending":
            text = f"{name} is still running after the re-run; the next sweep will tell."
        else:
            assert checked.state is not None
            counts = ", ".join(f"{k} {v}" for k, v in sorted(checked.state.counts.items()))
            text = (
                f":x: {name} still fails after the re-run ({kit.escape(counts)}). "
                "Its *History* shows why."
            )
        self.refresh.after_change(origin, item.key)
        announce(client, origin, kit.notice(text))
