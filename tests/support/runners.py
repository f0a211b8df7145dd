"""The one way a test builds a Runner (bot/scheduling/runner.py): the scheduled jobs over a
store, with AWS only when the test reads it and a publisher only when it posts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.app.publisher import Publisher
from bot.aws.session import AwsAccess
from bot.scheduling.runner import Runner
from bot.settings.config import Settings
from bot.store import Store
from bot.util.clock import utcnow


def make_runner(
    *,
    settings: Settings,
    store: Store,
    access: AwsAccess | None = None,
    publisher: Publisher | None = None,
    clock: Callable[[], datetime] = utcnow,
    **more: Any,
) -> Runner:
    """A Runner; `access` None when the test never reads AWS (posting and editing digests,
    the expiry job without Security Hub), `more`: metrics, jobs, hooks."""
    return Runner(
        settings=settings,
        store=store,
        access=access,  # type: ignore[arg-type]  # never used when None: the test reads no AWS
        publisher=publisher,
        clock=clock,
        **more,
    )
