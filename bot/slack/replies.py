"""Where a request came from, and so where its answers go.

`tell` answers only the person who asked (ephemeral); `announce` makes a state change visible:
in the thread of the digest they clicked, or in the channel they typed the command in.

A click on the Home tab has no channel and no response_url: its answers go to a modal, opened
with the click's trigger_id (`open_working`, at once, since a trigger_id lasts 3 seconds) and
then updated (`view_id`); the state change itself shows in the digest, edited in place, and in
the Home tab, published again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from bot.app.membership import Requester, teams_named
from bot.slack.blocks import SlackMessage, answer_modal, notice
from bot.slack.faults import report
from bot.slack.services import retry_handlers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Origin:
    user: str
    channel: str | None = None
    message_ts: str | None = None  # the message whose button was clicked
    ephemeral: bool = False  # that message was an ephemeral one (only the user saw it)
    response_url: str | None = None
    trigger_id: str | None = None
    user_name: str | None = None  # the name Slack sent with the request (for Security Hub notes)
    home: bool = False  # clicked on the Home tab: answers go to a modal
    view_id: str | None = None  # that modal, once open
    teams: tuple[str, ...] = ()  # every team ID the request names (bot/app/membership.py)

    @classmethod
    def from_command(cls, command: dict[str, Any]) -> Origin:
        return cls(
            user=str(command.get("user_id") or ""),
            channel=command.get("channel_id"),
            response_url=command.get("response_url"),
            trigger_id=command.get("trigger_id"),
            user_name=command.get("user_name"),
            teams=teams_named(command.get("team_id"), command.get("user_team")),
        )

    @classmethod
    def from_action(cls, body: dict[str, Any]) -> Origin:
        container = body.get("container") or {}
        return cls(
            user=str((body.get("user") or {}).get("id") or ""),
            channel=(body.get("channel") or {}).get("id") or container.get("channel_id"),
            message_ts=container.get("message_ts") or (body.get("message") or {}).get("ts"),
            ephemeral=bool(container.get("is_ephemeral")),
            response_url=body.get("response_url"),
            trigger_id=body.get("trigger_id"),
            user_name=user_name(body),
            home=(body.get("view") or {}).get("type") == "home",
            teams=teams_of(body),
        )

    @property
    def requester(self) -> Requester:
        return Requester(self.user, tuple(self.teams))

    @property
    def in_digest(self) -> bool:
        """Clicked on a message everyone sees (a digest), so a thread reply is possible."""
        return bool(self.channel and self.message_ts and not self.ephemeral)


def teams_of(body: dict[str, Any]) -> tuple[str, ...]:
    """The team IDs an interactive payload names: the request's and the user's."""
    team = body.get("team")
    return teams_named(
        team.get("id") if isinstance(team, dict) else team,
        (body.get("user") or {}).get("team_id"),
    )


def user_name(body: dict[str, Any]) -> str | None:
    """The user's name in an interactive payload (`user.username`, else `user.name`)."""
    user = body.get("user") or {}
    name = user.get("username") or user.get("name")
    return str(name) if name else None


def _respond(url: str, doing: str, **payload: Any) -> None:
    """Post to a response_url (retried like any Web API call); a refusal that outlasts the
    retries (a used-up URL, an expired one) is logged, not silently dropped."""
    reply = WebhookClient(url=url, timeout=30, retry_handlers=retry_handlers()).send(**payload)
    if reply.status_code != 200:
        log.warning(
            "Slack refused the reply to %s: HTTP %s %s", doing, reply.status_code, reply.body[:100]
        )


def open_working(client: WebClient, origin: Origin, text: str) -> Origin:
    """For a Home tab click: a modal saying what is under way, opened while the trigger_id is
    fresh; the origin returned sends later answers into it. Elsewhere, the origin unchanged."""
    if not origin.home or not origin.trigger_id or origin.view_id:
        return origin
    try:
        reply = client.views_open(trigger_id=origin.trigger_id, view=answer_modal(notice(text)))
    except (SlackApiError, SlackClientError, OSError) as exc:
        report(exc, f"answer {origin.user} on the Home tab", log)
        return replace(origin, trigger_id=None)
    return replace(origin, trigger_id=None, view_id=str((reply.get("view") or {}).get("id")))


def _into_modal(client: WebClient, origin: Origin, message: SlackMessage) -> None:
    if origin.view_id:
        client.views_update(view_id=origin.view_id, view=answer_modal(message))
    elif origin.trigger_id:
        client.views_open(trigger_id=origin.trigger_id, view=answer_modal(message))


def tell(client: WebClient, origin: Origin, message: SlackMessage) -> None:
    """An ephemeral answer for the requester."""
    blocks = message.blocks_json()
    try:
        if origin.home:
            _into_modal(client, origin, message)
        elif origin.response_url:
            _respond(
                origin.response_url,
                f"answer {origin.user}",
                text=message.text,
                blocks=blocks,
                response_type="ephemeral",
                replace_original=False,
            )
        elif origin.channel:
            client.chat_postEphemeral(
                channel=origin.channel, user=origin.user, text=message.text, blocks=blocks
            )
    except (SlackApiError, SlackClientError, OSError) as exc:
        report(exc, f"answer {origin.user}", log)


def announce(client: WebClient, origin: Origin, message: SlackMessage) -> None:
    """A visible message about a state change, next to where it was asked for."""
    blocks = message.blocks_json()
    try:
        if origin.home:  # the digest (edited) and the Home tab (published again) show it
            if origin.view_id:
                _into_modal(client, origin, message)
        elif origin.in_digest:
            client.chat_postMessage(
                channel=str(origin.channel),
                thread_ts=origin.message_ts,
                text=message.text,
                blocks=blocks,
            )
        elif origin.response_url:
            _respond(
                origin.response_url,
                f"announce in {origin.channel}",
                text=message.text,
                blocks=blocks,
                response_type="in_channel",
                replace_original=False,
            )
        elif origin.channel:
            client.chat_postMessage(channel=origin.channel, text=message.text, blocks=blocks)
    except (SlackApiError, SlackClientError, OSError) as exc:
        report(exc, f"announce in {origin.channel}", log)


def delete_original(origin: Origin) -> None:
    """Remove the ephemeral message whose button was clicked (a confirmation step)."""
    if origin.response_url and origin.ephemeral:
        try:
            _respond(origin.response_url, "remove the confirmation", delete_original=True)
        except (SlackClientError, OSError) as exc:
            log.warning("could not remove the confirmation: %s", exc)
