"""The scheduler's Publisher on Slack: digests and alerts go to SSM3_CHANNEL through Delivery."""

from __future__ import annotations

from collections.abc import Sequence

from bot.digest import Digest
from bot.models import DigestPost, TrackedAssociation
from bot.runner import PostedMessage
from bot.slack.delivery import Delivery


class SlackPublisher:
    def __init__(self, delivery: Delivery, channel: str) -> None:
        self.delivery = delivery
        self.channel = channel

    def post_digest(self, digest: Digest) -> PostedMessage:
        post = self.delivery.post_digest(self.channel, digest)
        return PostedMessage(post.channel, post.ts)

    def update_digest(self, message: PostedMessage, digest: Digest) -> None:
        # Delivery renders the store as it stands when the edit's turn comes (edits from Slack
        # clicks and from the scheduler queue up), so the digest built by the caller is not used.
        post = self.delivery.store.digests.get(message.channel, message.ts) or DigestPost(
            message.channel, message.ts, digest.generated_at, None
        )
        if not self.delivery.refresh(post):
            raise RuntimeError(f"Slack refused to update the digest {message.channel}/{message.ts}")

    def post_alerts(self, items: Sequence[TrackedAssociation]) -> list[PostedMessage]:
        ts = self.delivery.post_alerts(self.channel, items)
        return [PostedMessage(self.channel, ts)] * len(items)
