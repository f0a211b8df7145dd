"""GET /healthz and GET /metrics on SSM3_HTTP_PORT, in both of `serve`'s modes.

HTTP mode answers them from the same waitress server as /slack/events (bot/slack/app.py
routes those two paths here); Socket Mode, which needs no inbound port for Slack, starts a
small waitress server for just these two (`ProbeServer`).

/healthz is liveness (bot/ops/liveness.py): 200 while every check passes, else 503. The document
also says how old the last sweep is, for people; staleness never makes it 503 (it is the
`ssm3_sweep_stale` metric, and `ssm3bot health`'s exit status).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST

from bot.ops.freshness import assess_store
from bot.ops.liveness import Liveness
from bot.ops.metrics import Metrics
from bot.settings.config import Settings
from bot.store import Store
from bot.util.clock import iso

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
PATHS = (HEALTH_PATH, METRICS_PATH)
PROBE_THREADS = 4


class Probes:
    """What the two paths answer, from the process's checks, its metrics and the store."""

    def __init__(
        self,
        *,
        liveness: Liveness,
        metrics: Metrics,
        store: Store,
        settings: Settings,
        clock: Callable[[], datetime],
        info: Callable[[], Mapping[str, object]] | None = None,
    ) -> None:
        self.info = info  # entries shown that never fail the check (the events queue)
        self.liveness = liveness
        self.metrics = metrics
        self.store = store
        self.settings = settings
        self.clock = clock

    def health(self) -> tuple[bool, dict[str, Any]]:
        checks = self.liveness.checks()
        alive = all(c.ok for c in checks)
        body: dict[str, Any] = {
            "status": "ok" if alive else "unhealthy",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
        }
        if all(c.ok for c in checks if c.name == "database"):  # else reading would block
            try:
                body.update(self._freshness())
            except Exception as exc:  # information only: the checks say what matters
                log.debug("could not read the last sweep for /healthz: %s", exc)
        if self.info is not None:
            body.update(self.info())
        return alive, body

    def _freshness(self) -> dict[str, Any]:
        report = assess_store(self.store, self.settings, self.clock())
        return {
            "last_sweep": iso(report.last_sweep_at),
            "last_digest": iso(report.last_digest_at),
            "sweep_stale": not report.healthy,
            "max_sweep_age_s": int(report.max_age.total_seconds()),
            "detail": list(report.lines),
        }

    def answer(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes] | None:
        """The answer for /healthz or /metrics; None for any other request."""
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path not in PATHS or method not in ("GET", "HEAD"):
            return None
        if path == HEALTH_PATH:
            alive, body = self.health()
            status = "200 OK" if alive else "503 Service Unavailable"
            return _answer(start_response, status, "application/json", json.dumps(body).encode())
        try:
            exposition = self.metrics.exposition()
        except Exception as exc:  # the store cannot be read: say so, never a traceback
            log.warning("/metrics could not read the store: %s", exc)
            text = f"the store could not be read: {type(exc).__name__}\n".encode()
            return _answer(start_response, "503 Service Unavailable", "text/plain", text)
        return _answer(start_response, "200 OK", CONTENT_TYPE_LATEST, exposition)

    def wsgi(self) -> WSGIApplication:
        """A WSGI app with just the two paths (404 for anything else)."""

        def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            found = self.answer(environ, start_response)
            if found is not None:
                return found
            return _answer(start_response, "404 Not Found", "text/plain", b"not found\n")

        return application


def _answer(start_response: StartResponse, status: str, kind: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]


class ServerThread:
    """A waitress server run on a thread of its own and stopped from any other.

    waitress's own `run()` loops until its sockets close, and closing them from another thread
    under a running poll raises in that poll; this loop polls briefly and closes the server
    from its own thread once asked to stop.
    """

    def __init__(self, server: Any, name: str) -> None:
        self.server = server
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def alive(self) -> bool:
        return self._thread.is_alive() and not self._stopping.is_set()

    def _loop(self) -> None:
        from waitress import wasyncore

        socket_map = getattr(self.server, "_map", None) or self.server.map
        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=0.1, map=socket_map, count=1)
        finally:
            self.server.close()
            self.server.task_dispatcher.shutdown(timeout=5)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)


def probe_server(probes: Probes, *, host: str, port: int) -> ServerThread:
    """Socket Mode's server for /healthz and /metrics on `port`, not started yet; a body over
    the limit is refused unread (bot/ops/http_limits.py), by the app and by waitress itself."""
    from waitress.server import create_server

    from bot.ops.http_limits import MAX_BODY, limit_body

    server = create_server(
        limit_body(probes.wsgi(), counted=probes.metrics.refused),
        host=host,
        port=port,
        threads=PROBE_THREADS,
        ident="ssm3-bot",
        clear_untrusted_proxy_headers=True,
        max_request_body_size=MAX_BODY + 1,  # waitress refuses at this size and above
    )
    return ServerThread(server, "ssm3-probes")
