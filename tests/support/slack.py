"""Helpers for Slack tests: what the fake Web API received, a failing association, a digest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.models import DigestMessage, TrackedAssociation
from bot.scheduling.runner import Runner
from bot.settings.config import Settings
from bot.slack.delivery import Delivery
from bot.store import Store
from bot.util.clock import utcnow
from tests.fakes.block_kit import texts
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import CHANNEL, SlackHarness
from tests.support.runners import make_runner


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


def post_digest(h: SlackHarness) -> DigestMessage:
    """Post the digest by hand (as `sweep --post` does) to the harness's one channel."""
    [posted] = h.services.scheduled().post_digests_now()
    assert posted.channel == CHANNEL
    return posted


def digest_runner(
    client: WebClient,
    store: Store,
    *,
    channel: str = CHANNEL,
    clock: Callable[[], datetime] = utcnow,
    settings: Settings | None = None,
) -> Runner:
    """A Runner publishing through a Delivery on `client`, posting to `channel` (no AWS)."""
    return make_runner(
        settings=settings or Settings(channel=channel),
        store=store,
        publisher=Delivery(client=client, clock=clock),
        clock=clock,
    )


def post_by_hand(runner: Runner) -> DigestMessage:
    """`sweep --post`'s digest in the runner's one channel."""
    [posted] = runner.post_digests_now()
    return posted


def slack_runner(h: SlackHarness, clock: Callable[[], datetime] | None = None) -> Runner:
    """The Runner `serve` builds, publishing to the fake Slack. Its clock runs a second ahead
    by default: the store keeps times to the second, and a failure is news only when its streak
    began after the scope's first sweep, which in a test is often the same second."""
    services = h.services
    now = clock or (lambda: datetime.now(UTC) + timedelta(seconds=1))
    delivery = Delivery(client=services.client, zone=h.settings.zone, clock=now)
    runner = make_runner(
        settings=h.settings,
        store=services.store,
        access=services.access,
        publisher=delivery,
        clock=now,
        metrics=services.metrics,
        jobs=services.jobs,
        hooks=services.after_sweep,
    )
    services.runner = runner
    return runner


class MinuteClock:
    """An app's clock that the test moves a minute and a second at a time (`step`): a person's
    refusals that far apart are audited one row each (one within the minute is counted on the
    row before it)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def step(self) -> None:
        self.now += timedelta(seconds=61)
