"""The poller as `serve` runs it: the queue from SSM3_EVENTS_QUEUE_URL, the real-time use case
over the Runner's own sweep steps, the swept account-regions as the sweep resolves them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.app.realtime import Message, Verdict, handle_burst
from bot.models import Scope
from bot.realtime.poller import WAIT_S, EventPoller
from bot.scheduling.runner import Runner
from bot.sweeping.sweep import resolve_scopes


def build_poller(runner: Runner, *, wait_s: int = WAIT_S) -> EventPoller | None:
    """The poller for `runner`'s settings (not started), or None when no queue is configured."""
    settings = runner.settings
    if not settings.events_queue_url:
        return None

    def swept() -> Iterable[Scope]:
        return resolve_scopes(settings, runner.access, runner.store, runner.clock())

    def handle(messages: Sequence[Message]) -> list[Verdict]:
        return handle_burst(messages, store=runner.store, refresher=runner, swept_scopes=swept)

    region = settings.events_queue_region
    return EventPoller(
        queue_url=settings.events_queue_url,
        client=lambda: runner.access.sqs(region),
        handle=handle,
        wait_s=wait_s,
        metrics=runner.metrics,
    )
