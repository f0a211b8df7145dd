"""Slack as the scheduler's publisher: post a channel's digest (with the full lists as CSV
files in its thread when the message had to summarise), edit it in place, post alerts with
their route's mention and edit them as their story goes on.

Which digest a channel gets, what it compares with and which re-runs it shows, and what is
remembered about each message, are decided in bot/app/ (DigestComposer, DigestDesk, AlertDesk):
Delivery only renders what it is given and talks to Slack; it reads no store.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core.digest import Digest, DigestView
from bot.models import AlertMessage, AlertState, DigestMessage, TrackedAssociation
from bot.render.spreadsheet import digest_csv, instances_csv, scopes_csv
from bot.slack.blocks import SlackMessage, alert_message, digest_message
from bot.slack.blocks.alert import alert_update
from bot.slack.faults import retrying_upload
from bot.util.clock import utcnow

log = logging.getLogger(__name__)

SCOPES_SHOWN = 8


class Delivery:
    """The one way digests and alerts reach Slack (the Runner's Publisher)."""

    def __init__(
        self,
        *,
        client: WebClient,
        zone: ZoneInfo | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.client = client
        self.zone = zone
        self.clock = clock
        self._edits = threading.Lock()  # one chat.update at a time

    def post_digest(self, channel: str, view: DigestView) -> str:
        """Post the digest; when it had to summarise, attach the full lists in its thread."""
        digest = view.digest
        message = digest_message(view)
        reply = self.client.chat_postMessage(
            channel=channel, text=message.text, blocks=message.blocks_json()
        )
        ts = str(reply["ts"])
        try:
            self.attach_lists(channel, ts, digest, message)
        except (SlackApiError, SlackClientError) as exc:
            # The digest itself is posted: failing here would post it again.
            error = _slack_error(exc)
            log.warning("could not attach the full lists to digest %s/%s: %s", channel, ts, error)
            self._note_in_thread(
                channel, ts, f"The full list could not be attached here ({error})."
            )
        return ts

    def _note_in_thread(self, channel: str, ts: str, text: str) -> None:
        try:
            self.client.chat_postMessage(channel=channel, thread_ts=ts, text=text)
        except (SlackApiError, SlackClientError) as exc:
            log.warning("could not reply in digest %s/%s: %s", channel, ts, exc)

    def attach_lists(self, channel: str, ts: str, digest: Digest, message: SlackMessage) -> None:
        """Upload what the message could only summarise as CSV files into its thread."""
        uploads = []
        if message.overflow:
            uploads.append(
                {
                    "content": digest_csv(digest),
                    "filename": f"ssm3-failing-{digest.generated_at:%Y%m%dT%H%M}.csv",
                    "title": f"All {len(digest.failing) + len(digest.acknowledged)} failing associations",
                }
            )
        if len(digest.scopes_failed) > SCOPES_SHOWN:
            uploads.append(
                {
                    "content": scopes_csv(digest.scopes_failed, digest.account_names),
                    "filename": f"ssm3-not-swept-{digest.generated_at:%Y%m%dT%H%M}.csv",
                    "title": f"All {len(digest.scopes_failed)} account-regions not swept",
                }
            )
        instances = instances_csv(digest)
        if instances is not None:
            uploads.append(
                {
                    "content": instances,
                    "filename": f"ssm3-instances-{digest.generated_at:%Y%m%dT%H%M}.csv",
                    "title": "Orphaned items and instances Security Hub judges differently",
                }
            )
        if uploads:
            retrying_upload(
                lambda: self.client.files_upload_v2(
                    file_uploads=uploads,
                    channel=channel,
                    thread_ts=ts,
                    initial_comment="The full lists behind this digest.",
                )
            )

    def update_digest(self, message: DigestMessage, view: DigestView) -> bool:
        """Edit a posted digest to show `view`; False (logged) if Slack refused."""
        if message.ts is None:
            return False
        with self._edits:
            return self._edit(message.channel, message.ts, digest_message(view), "the digest")

    def post_alerts(
        self, channel: str, items: Sequence[TrackedAssociation], mentions: Sequence[str] = ()
    ) -> str:
        """One message for the associations that just started failing; its ts."""
        message = alert_message(items, now=self.clock(), zone=self.zone, mentions=mentions)
        reply = self.client.chat_postMessage(
            channel=channel, text=message.text, blocks=message.blocks_json()
        )
        return str(reply["ts"])

    def update_alert(
        self, message: AlertMessage, states: Sequence[AlertState], mentions: Sequence[str] = ()
    ) -> bool:
        """Edit an alert to show its associations as they stand now; False (logged) if Slack
        refused."""
        rendered = alert_update(states, now=self.clock(), zone=self.zone, mentions=mentions)
        with self._edits:
            return self._edit(message.channel, message.ts, rendered, "alert")

    def post_file(
        self, channel: str, *, filename: str, content: str, title: str, comment: str
    ) -> str:
        """Share a file (the evidence report) in the channel with a comment; its file ID."""
        reply = retrying_upload(
            lambda: self.client.files_upload_v2(
                channel=channel,
                filename=filename,
                content=content.encode("utf-8"),
                title=title,
                initial_comment=comment,
            )
        )
        shared = reply.get("files") or [reply.get("file") or {}]
        return str(shared[0].get("id") or "")

    def _edit(self, channel: str, ts: str, rendered: SlackMessage, what: str) -> bool:
        """chat.update; False (logged once) when Slack refused it after its retries."""
        try:
            self.client.chat_update(
                channel=channel, ts=ts, text=rendered.text, blocks=rendered.blocks_json()
            )
        except (SlackApiError, SlackClientError) as exc:
            log.warning("could not update %s %s/%s: %s", what, channel, ts, exc)
            return False
        return True


def _slack_error(exc: SlackApiError | SlackClientError) -> str:
    """Slack's error code (missing_scope, ratelimited…) or the client's own message."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc)
    return str(exc)
