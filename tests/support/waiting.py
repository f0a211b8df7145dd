"""Waiting for a condition with a deadline, never for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T], *, timeout: float = 15.0, what: str = "the condition"
) -> T:
    """Poll `condition` (briefly apart) until it is truthy; its value. Errors count as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except OSError:  # e.g. not listening yet
            value = None  # type: ignore[assignment]
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.02)
