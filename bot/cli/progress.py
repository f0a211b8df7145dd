"""Sweep progress on stderr: a redrawn bar on a terminal, nothing in a pipe or a log."""

from __future__ import annotations

import time
from typing import TextIO

from bot.models import ScopeResult

WIDTH = 28


class ProgressBar:
    """Callable as a sweep's `progress`; call `close()` when the sweep ends."""

    def __init__(self, stream: TextIO, *, enabled: bool | None = None) -> None:
        self.stream = stream
        self.enabled = stream.isatty() if enabled is None else enabled
        self.failed = 0
        self.started = time.monotonic()
        self._drawn = False

    def __call__(self, done: int, total: int, result: ScopeResult) -> None:
        self.failed += 0 if result.ok else 1
        if not self.enabled:
            return
        filled = WIDTH * done // max(total, 1)
        bar = "#" * filled + "." * (WIDTH - filled)
        note = f", {self.failed} not swept" if self.failed else ""
        self.stream.write(
            f"\rsweeping [{bar}] {done}/{total} account-regions{note} "
            f"{time.monotonic() - self.started:5.1f}s"
        )
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
