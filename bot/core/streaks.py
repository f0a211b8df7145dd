"""When a failure starts and ends, what that ends, when it is news, and when a re-run may go
again: the rules, as plain functions of plain values."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.models import Association


def failing_since(
    association: Association,
    *,
    carried: datetime | None,
    was_failing: bool,
    last_seen_at: datetime | None,
    now: datetime,
) -> datetime | None:
    """The start of the association's current failing streak, given what the store knew.

    `carried`: the streak's start as stored (None: it was not failing); `was_failing` and
    `last_seen_at`: whether the previous sweep saw it failing, and when it last saw it (None:
    first seen now). A streak carries on while the association fails or goes Pending (a re-run
    in flight); anything else ends it. A new run-failure streak starts at its first failed run,
    a reported one (no run to date it) when a sweep first saw it; never before the last sweep
    that saw it healthy.
    """
    if not association.failing:
        return carried if association.status == "Pending" else None
    if carried is not None:
        return carried
    evidence = association.failing_evidence_since if association.run_failed else None
    start = min(evidence or now, now)
    if last_seen_at is not None and not was_failing and start < last_seen_at:
        start = last_seen_at
    return start


def streak_ended(before: datetime | None, after: datetime | None) -> bool:
    """A failing streak ended: its acknowledgement ends with it (a later failure is news)."""
    return before is not None and after is None


def alertable(failing_since: datetime | None, first_swept_ok: datetime | None) -> bool:
    """A failure is news only if its streak began after the bot first read its account-region:
    what was already failing then belongs in the digest, not in an alert."""
    return (
        failing_since is not None and first_swept_ok is not None and failing_since > first_swept_ok
    )


def cooling_down(
    last_started: datetime | None, last_failed_to_start: bool, now: datetime, cooldown_s: int
) -> bool:
    """Whether a re-run must wait: one started within the cooldown, unless it never started."""
    if last_started is None or last_failed_to_start:
        return False
    return now - last_started < timedelta(seconds=cooldown_s)
