"""Helpers for Slack tests: what the fake Web API received, a failing association, a digest."""

from __future__ import annotations

from typing import Any

from bot.models import DigestPost, TrackedAssociation
from bot.slack.delivery import Delivery
from tests.fakes.block_kit import texts
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import CHANNEL, SlackHarness


def body_text(blocks: Any) -> str:
    return "\n".join(text for _, text in texts(blocks))


def responses(fake: FakeSlack, url: str | None) -> list[dict[str, Any]]:
    url_id = (url or "").rsplit("/", 1)[-1]
    return [payload for uid, payload in fake.responses if uid == url_id]


def wait_response(fake: FakeSlack, url: str | None, count: int = 1) -> list[dict[str, Any]]:
    fake.wait_for(lambda: len(responses(fake, url)) >= count)
    return responses(fake, url)


def failing(h: SlackHarness) -> TrackedAssociation:
    """A failing association from the swept simulator."""
    return h.services.store.associations.tracked(failing_only=True)[0]


def post_digest(h: SlackHarness) -> DigestPost:
    return Delivery(client=h.services.client, store=h.services.store).post_digest(CHANNEL)
