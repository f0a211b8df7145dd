"""Reading the details from Slack: every surface that shows them (history, the audit log, a
diagnosis) asks `may_read` first — SSM3_VIEWERS behind the workspace rule, a refusal audited
and told in one line saying who may. (What a request may change is decided in the use cases,
built with `Services.permissions`: bot/slack/permissions.py.)"""

from __future__ import annotations

from bot.app.membership import WorkspaceGate
from bot.app.reading import Reading
from bot.models import AssociationKey
from bot.slack import blocks as kit
from bot.slack.replies import Origin, tell
from bot.slack.services import Services
from bot.slack.wording import refusal_message


def may_read(
    services: Services, origin: Origin, what: str, key: AssociationKey | None = None
) -> bool:
    """Whether the requester may read `what` (`history`, `audit log`, `diagnose`, …); a
    refusal is audited and told in one line saying who may."""
    gate = WorkspaceGate(services.operators, origin.requester, services.members)
    reading = Reading(store=services.store, permissions=gate, clock=services.clock)
    refused = reading.check(origin.user, what, channel=origin.channel, key=key)
    if refused is not None:
        tell(services.client, origin, kit.notice(kit.escape(refusal_message(refused))))
    return refused is None
