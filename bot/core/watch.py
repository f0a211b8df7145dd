"""Confirm COMPLIANT: what the watch after a re-run or a fix concludes from what it read
(`bot.aws.watch`). Pure; phase B runs it from durable scheduled jobs with backoff.

- `compliant` only when the first run created after the action finished and every instance
  the association made NON_COMPLIANT now has no NON_COMPLIANT item for it (SSM.3's view);
- `still_failing` when that run finished and any of them is still NON_COMPLIANT — so a re-run
  of a `reported` failure cannot come back compliant unless its items changed;
- `pending` when no run started, or none finished, before the watch's deadline
  (SSM3_WATCH_FOR); None before then: look again later;
- `unknown` when AWS could not be read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Outcome = Literal["compliant", "still_failing", "pending", "unknown"]


@dataclass(frozen=True)
class RunState:
    status: str
    finished: bool


@dataclass(frozen=True)
class ItemState:
    """One instance's Association item for the watched association: COMPLIANT, NON_COMPLIANT,
    or None (it has none: SSM.3 no longer fails it for this association)."""

    instance_id: str
    status: str | None
    execution_id: str | None = None
    execution_time: datetime | None = None

    @property
    def passes(self) -> bool:
        return self.status != "NON_COMPLIANT"


def outcome(
    *,
    run: RunState | None,
    items: Mapping[str, ItemState] | None,
    deadline_passed: bool,
    read_failed: bool = False,
) -> Outcome | None:
    """The watch's verdict, or None to look again later."""
    if read_failed:
        return "unknown"
    if run is None or not run.finished:
        return "pending" if deadline_passed else None
    if items is None:
        return None  # the run finished: read the items next
    return "compliant" if all(item.passes for item in items.values()) else "still_failing"


def still_failing(items: Mapping[str, ItemState]) -> tuple[str, ...]:
    return tuple(i for i, item in items.items() if not item.passes)
