"""Confirm COMPLIANT: what the watch after a re-run or a fix concludes from what it read
(`bot.aws.watch`), and when it looks again. Pure; bot/app/watches.py runs it from durable
scheduled jobs.

- `compliant` only when the first run created after the action finished and every instance
  the association made NON_COMPLIANT (and every one that run failed on) now has no
  NON_COMPLIANT item for it (SSM.3's view) — so a re-run of a `reported` failure cannot come
  back compliant unless its items changed;
- `still_failing` when that run finished and any of them is still NON_COMPLIANT: at once when
  the item was written by that run or later, after `SETTLE` when it predates the run (SSM
  may not have rewritten it yet);
- `pending` when no run started, or none finished, before the watch's deadline
  (SSM3_WATCH_FOR); None before then: look again later (`next_look`), never a verdict while
  the run is InProgress;
- `unknown` when AWS could not be read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Outcome = Literal["compliant", "still_failing", "pending", "unknown"]
OUTCOMES: tuple[Outcome, ...] = ("compliant", "still_failing", "pending", "unknown")

FIRST_LOOK = timedelta(seconds=30)  # the first wait, doubled each time ...
LONGEST_WAIT = timedelta(minutes=5)  # ... up to this: a 20-minute patch run is judged by 25
SETTLE = timedelta(minutes=10)  # how long an item older than the finished run may lag
READ_FAILURES = 3  # consecutive failed reads (a throttle, a timeout) before `unknown`


@dataclass(frozen=True)
class RunState:
    """The first execution created after the action, as DescribeAssociationExecutions says."""

    status: str
    finished: bool
    execution_id: str = ""
    created_at: datetime | None = None
    counts: tuple[tuple[str, int], ...] = ()


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


@dataclass(frozen=True)
class RunFailure:
    """A target the watched run failed or timed out on."""

    instance_id: str
    status: str
    detailed_status: str | None = None


@dataclass(frozen=True)
class Look:
    """One look: the first run after the action (None: none yet) and, once it finished, the
    targets it failed on and the Association items of the watched instances."""

    run: RunState | None
    failures: tuple[RunFailure, ...] = ()
    items: Mapping[str, ItemState] | None = None


def outcome(
    *,
    run: RunState | None,
    items: Mapping[str, ItemState] | None,
    deadline_passed: bool,
    read_failed: bool = False,
    settled: bool = True,
) -> Outcome | None:
    """The watch's verdict, or None to look again later. `settled`: the run finished long
    enough ago (SETTLE) that an item written before it will not change any more."""
    if read_failed:
        return "unknown"
    if run is None or not run.finished:
        return "pending" if deadline_passed else None
    if items is None:
        return None  # the run finished: read the items next
    failing = [item for item in items.values() if not item.passes]
    if not failing:
        return "compliant"
    if not (settled or deadline_passed) and any(_predates(item, run) for item in failing):
        return None
    return "still_failing"


def _predates(item: ItemState, run: RunState) -> bool:
    """Written before the run began: the run has not reported on this instance yet."""
    return (
        item.execution_time is not None
        and run.created_at is not None
        and item.execution_time < run.created_at.replace(microsecond=0)
    )


def still_failing(items: Mapping[str, ItemState]) -> tuple[str, ...]:
    return tuple(i for i, item in items.items() if not item.passes)


def next_look(looks: int, now: datetime, deadline: datetime) -> datetime:
    """When to look again after `looks` looks: FIRST_LOOK doubled each time, at most
    LONGEST_WAIT, and never past the deadline (the last look is at it)."""
    wait: timedelta = min(FIRST_LOOK * (2 ** min(looks, 16)), LONGEST_WAIT)
    later: datetime = now + wait
    return min(later, deadline)
