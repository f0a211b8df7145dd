"""Can this process do its job right now? What /healthz answers: liveness, not freshness.

Each part of `serve` adds a check when it starts: the database answers, the scheduler's
thread is alive, Socket Mode is connected (or the HTTP server is serving: it answered the
probe). A stale sweep is not among them: AWS being down must not get the process restarted,
and `ssm3bot health` and the `ssm3_sweep_stale` metric report staleness instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Probe = Callable[[], bool | tuple[bool, str]]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


class Liveness:
    """Named probes, each answering ok or not (with a word on why); all must pass."""

    def __init__(self) -> None:
        self._probes: dict[str, Probe] = {}
        self._lock = threading.Lock()

    def add(self, name: str, probe: Probe) -> None:
        with self._lock:
            self._probes[name] = probe

    def remove(self, name: str) -> None:
        with self._lock:
            self._probes.pop(name, None)

    def checks(self) -> list[Check]:
        with self._lock:
            probes = list(self._probes.items())
        found = []
        for name, probe in probes:
            try:
                answer = probe()
            except Exception as exc:  # a probe that fails is a failed check, never a 500
                log.warning("the %s check failed: %s", name, exc)
                answer = (False, f"{type(exc).__name__}: {exc}")
            ok, detail = answer if isinstance(answer, tuple) else (answer, "")
            found.append(Check(name, bool(ok), detail or ("ok" if ok else "failing")))
        return found


def scheduler_alive(scheduler: Any) -> Probe:
    """APScheduler 3's BackgroundScheduler runs its loop on one thread (`_thread`); an error
    that escapes the loop ends that thread while `scheduler.running` still says True."""

    def probe() -> tuple[bool, str]:
        thread = getattr(scheduler, "_thread", None)
        if not scheduler.running:
            return False, "stopped"
        if thread is None or not thread.is_alive():
            return False, "its thread is not running"
        return True, "running"

    return probe


def socket_mode_connected(client: Any) -> Probe:
    """slack_sdk's Socket Mode client: connected means a live WebSocket session with Slack."""

    def probe() -> tuple[bool, str]:
        if client.is_connected():
            return True, "Socket Mode connected"
        return False, "Socket Mode not connected"

    return probe
