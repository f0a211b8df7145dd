"""How fresh the store is, the one way /healthz, /metrics, the Home tab and `ssm3bot health` ask:
the last finished sweep against the sweep schedule's period (bot/core/health.py's rule), and
when the last digest went out."""

from __future__ import annotations

from datetime import datetime

from bot.core.health import Health, assess, sweep_period
from bot.settings.config import Settings
from bot.store import Store


def assess_store(
    store: Store | None, settings: Settings, now: datetime, *, where: str = ""
) -> Health:
    """The store's health now (None: there is no database yet, and so no sweep); `where` names
    the database in the verdict when no sweep has finished."""
    period = sweep_period(settings.sweep_schedule, settings.timezone, now)
    if store is None:
        return assess(last_sweep=None, period=period, now=now, where=where)
    digest = store.digests.latest()
    return assess(
        last_sweep=store.sweeps.last(finished=True),
        period=period,
        now=now,
        last_digest_at=digest.posted_at if digest else None,
        where=where,
    )
