"""EventBridge's standard envelope around an event's detail: one shape for every event the
simulator emits (its own Security Hub updates, and the events tests queue for the poller)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


def envelope(
    detail_type: str,
    *,
    source: str,
    account: str,
    region: str,
    resources: list[str],
    detail: dict[str, Any],
    at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": resources,
        "detail": detail,
    }
