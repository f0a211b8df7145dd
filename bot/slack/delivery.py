"""Posting the digest to Slack and keeping it current: post it (with the full list as a CSV in
its thread when the message had to summarise), remember where it went, edit it in place after
a sweep, a re-run or an acknowledgement, and reply in its thread. Alerts on new failures go
out here too.

A digest the scheduler posted compares itself with the digest before it (what is new,
resolved, reopened); an edit keeps that comparison, so the message reads the same story all day.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.clock import utcnow
from bot.digest import Digest, build_digest
from bot.models import DigestPost, TrackedAssociation
from bot.render.spreadsheet import digest_csv, instances_csv, scopes_csv
from bot.slack.blocks import SlackMessage, alert_message, digest_message
from bot.slack.faults import retrying_upload
from bot.store import Store

log = logging.getLogger(__name__)
_EDITS = threading.Lock()  # one digest edit at a time in this process

SCOPES_SHOWN = 8


class Delivery:
    """Digest messages in Slack, tied to the store that remembers them."""

    def __init__(
        self,
        *,
        client: WebClient,
        store: Store,
        zone: ZoneInfo | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.client = client
        self.store = store
        self.zone = zone
        self.clock = clock

    def render(self, digest: Digest, since: datetime | None) -> SlackMessage:
        reruns = self.store.reruns.started_since(since) if since is not None else {}
        return digest_message(digest, reruns=reruns, zone=self.zone)

    def current_digest(self, post: DigestPost | None) -> Digest:
        """The digest as the store stands, compared with what came before `post` if the scheduler
        posted it (a digest posted by hand compares with nothing)."""
        ledger = self.store.ledger
        run = ledger.run_for_message(post.channel, post.ts) if post is not None else None
        previous = ledger.previous_digest(run.slot) if run is not None else None
        return build_digest(self.store, self.clock(), previous)

    def post_digest(self, channel: str, digest: Digest | None = None) -> DigestPost:
        """Post the digest; when it had to summarise, attach the full lists in its thread."""
        now = self.clock()
        digest = digest or build_digest(self.store, now)
        message = self.render(digest, None)
        reply = self.client.chat_postMessage(
            channel=channel, text=message.text, blocks=message.blocks_json()
        )
        ts = str(reply["ts"])
        last = digest.last_sweep
        post = self.store.digests.remember(
            channel, ts, now=now, sweep_id=last.sweep_id if last else None
        )
        try:
            self.attach_lists(post, digest, message)
        except (SlackApiError, SlackClientError) as exc:
            # The digest itself is posted and remembered: failing here would post it again.
            error = _slack_error(exc)
            log.warning("could not attach the full lists to digest %s/%s: %s", channel, ts, error)
            self._note_in_thread(post, f"The full list could not be attached here ({error}).")
        return post

    def _note_in_thread(self, post: DigestPost, text: str) -> None:
        try:
            self.client.chat_postMessage(channel=post.channel, thread_ts=post.ts, text=text)
        except (SlackApiError, SlackClientError) as exc:
            log.warning("could not reply in digest %s/%s: %s", post.channel, post.ts, exc)

    def attach_lists(self, post: DigestPost, digest: Digest, message: SlackMessage) -> None:
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
                    "content": scopes_csv(digest.scopes_failed),
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
                    channel=post.channel,
                    thread_ts=post.ts,
                    initial_comment="The full lists behind this digest.",
                )
            )

    def refresh(self, post: DigestPost) -> bool:
        """Edit a posted digest to show the store as it is now; False if Slack refused.

        Edits are taken one at a time and each renders the store as it is when its turn comes,
        so a slow edit from an earlier state can never land after a newer one.
        """
        with _EDITS:
            message = self.render(self.current_digest(post), post.posted_at)
            try:
                self.client.chat_update(
                    channel=post.channel,
                    ts=post.ts,
                    text=message.text,
                    blocks=message.blocks_json(),
                )
            except (SlackApiError, SlackClientError) as exc:
                log.warning("could not update the digest %s/%s: %s", post.channel, post.ts, exc)
                return False
            return True

    def refresh_all(self, posts: Iterable[DigestPost | None]) -> None:
        seen: set[tuple[str, str]] = set()
        for post in posts:
            if post is not None and (post.channel, post.ts) not in seen:
                seen.add((post.channel, post.ts))
                self.refresh(post)

    def post_alerts(self, channel: str, items: Sequence[TrackedAssociation]) -> str:
        """One message for the associations that just started failing; its ts."""
        message = alert_message(items, now=self.clock(), zone=self.zone)
        reply = self.client.chat_postMessage(
            channel=channel, text=message.text, blocks=message.blocks_json()
        )
        return str(reply["ts"])


def _slack_error(exc: SlackApiError | SlackClientError) -> str:
    """Slack's error code (missing_scope, ratelimited…) or the client's own message."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc)
    return str(exc)
