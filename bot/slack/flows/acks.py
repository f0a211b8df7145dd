"""Acknowledge from Slack: open the modal (the button, or `ack ID` without a reason), store what
it says (the modal's submission, or `ack ID for 7d REASON`), and reopen (`unack`); each change
is announced where it was asked for, with what Security Hub made of it."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.app.acknowledgements import Acknowledgements
from bot.app.outcomes import Done, Refusal
from bot.app.resolve import Target
from bot.app.sync_report import reply_line
from bot.slack import blocks as kit
from bot.slack.flows.guard import Guard
from bot.slack.flows.refresh import Refresh
from bot.slack.replies import Origin, announce
from bot.slack.services import Services
from bot.slack.wording import refusal_message


class AckFlow:
    def __init__(
        self, services: Services, acks: Acknowledgements, guard: Guard, refresh: Refresh
    ) -> None:
        self.services = services
        self.acks = acks
        self.guard = guard
        self.refresh = refresh
        self.zone = services.settings.zone

    def open(
        self,
        origin: Origin,
        ref: Target,
        reason: str | None = None,
        duration: timedelta | None = None,
    ) -> None:
        """Open the acknowledgement modal, its expiry preset to the duration asked for."""

        def work() -> None:
            item = self.acks.target(origin.user, ref, channel=origin.channel)
            if isinstance(item, Refusal):
                self.guard.tell(origin, refusal_message(item))
                return
            context = kit.AckContext(
                key=item.key,
                channel=origin.channel,
                message_ts=origin.message_ts if origin.in_digest else None,
                response_url=None if origin.in_digest else origin.response_url,
                home=origin.home,
            )
            preset, until = kit.ack_expiry(duration, self.services.clock(), self.zone)
            self.services.client.views_open(
                trigger_id=str(origin.trigger_id),
                view=kit.ack_modal(item, context, reason=reason, preset=preset, until=until),
            )

        self.guard.run(origin, "open the acknowledgement form", work, ref.association_id)

    def acknowledge(self, origin: Origin, ref: Target, *, reason: str, until: datetime) -> None:
        def work() -> None:
            outcome = self.acks.acknowledge(
                origin.user,
                ref,
                reason=reason,
                until=until,
                channel=origin.channel,
                actor_name=origin.user_name,
            )
            if isinstance(outcome, Refusal):
                self.guard.tell(origin, refusal_message(outcome))
                return
            self.refresh.after_change(origin, outcome.item.key)
            announce(
                self.services.client,
                origin,
                kit.notice(
                    f":white_check_mark: {kit.mention(origin.user)} acknowledged "
                    f"{kit.ack_line(outcome.item, self.zone)}"
                    + _security_hub(outcome, "acknowledgement")
                ),
            )

        self.guard.run(origin, "acknowledge", work, ref.association_id)

    def unacknowledge(self, origin: Origin, ref: Target) -> None:
        def work() -> None:
            outcome = self.acks.unacknowledge(origin.user, ref, channel=origin.channel)
            if isinstance(outcome, Refusal):
                self.guard.tell(origin, refusal_message(outcome))
                return
            key = outcome.item.key
            self.refresh.after_change(origin, key)
            announce(
                self.services.client,
                origin,
                kit.notice(
                    f"{kit.mention(origin.user)} reopened "
                    f"{kit.inert(outcome.item.association.display_name, 80)} "
                    f"({kit.escape(key.account_id)} {kit.escape(key.region)}): "
                    "it is back among the failing."
                    + _security_hub(outcome, "removal of the acknowledgement")
                ),
            )

        self.guard.run(origin, "reopen the association", work, ref.association_id)


def _security_hub(outcome: Done, what: str) -> str:
    """SSM3_SECURITYHUB=sync: how the findings were brought in line, in one line."""
    report = outcome.security_hub
    return f"\n{kit.escape(reply_line(report, what=what))}" if report else ""
