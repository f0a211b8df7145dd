"""A Publisher that records instead of talking to Slack: what the Runner would post and edit,
per channel, so scheduling, routing and alert rules are tested without HTTP."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.digest import Digest, DigestView
from bot.models import AlertMessage, AlertState, DigestMessage, TrackedAssociation


@dataclass(frozen=True)
class PostedAlert:
    channel: str
    ts: str
    items: tuple[TrackedAssociation, ...]
    mentions: tuple[str, ...]


@dataclass(frozen=True)
class PostedFile:
    channel: str
    filename: str
    content: str
    title: str
    comment: str


class RecordingPublisher:
    def __init__(self) -> None:
        self.posted: list[tuple[str, DigestView]] = []  # (channel, what it showed)
        self.updates: list[tuple[DigestMessage, Digest]] = []
        self.alert_posts: list[PostedAlert] = []
        self.alert_updates: list[tuple[AlertMessage, list[AlertState], tuple[str, ...]]] = []
        self.files: list[PostedFile] = []
        self.fail_next = False
        self._lock = threading.Lock()
        self._ts = 0

    @property
    def digests(self) -> list[Digest]:
        return [view.digest for _, view in self.posted]

    @property
    def views(self) -> list[DigestView]:
        return [view for _, view in self.posted]

    @property
    def alerts(self) -> list[TrackedAssociation]:
        return [item for post in self.alert_posts for item in post.items]

    def digests_in(self, channel: str) -> list[Digest]:
        return [view.digest for where, view in self.posted if where == channel]

    def alerts_in(self, channel: str) -> list[PostedAlert]:
        return [post for post in self.alert_posts if post.channel == channel]

    def _ts_next(self) -> str:
        with self._lock:
            self._ts += 1
            return f"1700000000.{self._ts:06d}"

    def _maybe_fail(self) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("slack is down")

    def post_digest(self, channel: str, view: DigestView) -> str:
        self._maybe_fail()
        self.posted.append((channel, view))
        return self._ts_next()

    def update_digest(self, message: DigestMessage, view: DigestView) -> bool:
        self.updates.append((message, view.digest))
        return True

    def post_alerts(
        self, channel: str, items: Sequence[TrackedAssociation], mentions: Sequence[str]
    ) -> str:
        self._maybe_fail()
        ts = self._ts_next()
        self.alert_posts.append(PostedAlert(channel, ts, tuple(items), tuple(mentions)))
        return ts

    def update_alert(
        self, message: AlertMessage, states: Sequence[AlertState], mentions: Sequence[str]
    ) -> bool:
        self.alert_updates.append((message, list(states), tuple(mentions)))
        return True

    def post_file(
        self, channel: str, *, filename: str, content: str, title: str, comment: str
    ) -> str:
        self._maybe_fail()
        with self._lock:
            self.files.append(PostedFile(channel, filename, content, title, comment))
            return f"F{len(self.files):08d}"
