"""Who may do what, for one Slack request: the workspace rule (bot/app/membership.py: another
team's people and, for changes, guests are refused) in front of SSM3_OPERATORS and
SSM3_VIEWERS. Every use case a request reaches takes `permissions(...)`; every surface that
shows details (history, the audit log, a diagnosis) asks `may_read(...)` before it reads."""

from __future__ import annotations

from bot.app.membership import WorkspaceGate
from bot.app.reading import Reading
from bot.models import AssociationKey
from bot.slack import blocks as kit
from bot.slack.replies import Origin, tell
from bot.slack.services import Services
from bot.slack.wording import refusal_message


def permissions(services: Services, origin: Origin) -> WorkspaceGate:
    return WorkspaceGate(services.operators, origin.requester, services.members)


def may_read(
    services: Services, origin: Origin, what: str, key: AssociationKey | None = None
) -> bool:
    """Whether the requester may read `what` (SSM3_VIEWERS); a refusal is audited and told
    in one line saying who may."""
    reading = Reading(
        store=services.store, permissions=permissions(services, origin), clock=services.clock
    )
    refused = reading.check(origin.user, what, channel=origin.channel, key=key)
    if refused is not None:
        tell(services.client, origin, kit.notice(kit.escape(refusal_message(refused))))
    return refused is None
