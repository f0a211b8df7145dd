"""The Bolt app and how it is served: over HTTP behind waitress (a multithreaded production
WSGI server, through Bolt's WSGI adapter), or over Socket Mode.

HTTP mode runs with `process_before_response=True`: Bolt answers Slack only when the ack
function returns, and every slow step (AWS, sweeps, uploads) is a lazy listener on the
listener executor, so the answer goes out in milliseconds whatever AWS is doing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

from bot.clock import iso
from bot.config import ConfigError
from bot.health import assess, sweep_period
from bot.slack.listeners import register
from bot.slack.operations import Operations
from bot.slack.services import Services

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from waitress.server import BaseWSGIServer, MultiSocketServer

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
LISTENER_THREADS = 16
HTTP_THREADS = 16


def build_app(
    services: Services,
    *,
    socket_mode: bool | None = None,
    executor: ThreadPoolExecutor | None = None,
) -> App:
    """A Bolt app with every /ssm3 command, button and modal registered on `services`;
    slow work runs on `executor` (a pool of LISTENER_THREADS by default)."""
    settings = services.settings
    socket = settings.socket_mode if socket_mode is None else socket_mode
    if not socket and not settings.slack_signing_secret:
        raise ConfigError(
            "SLACK_SIGNING_SECRET",
            "required in HTTP mode (set it, or set SLACK_APP_TOKEN for Socket Mode)",
        )
    bolt_log = logging.getLogger("bot.slack.bolt")
    if _not_client_token_notice not in bolt_log.filters:
        bolt_log.addFilter(_not_client_token_notice)
    app = App(
        client=services.client,
        signing_secret=settings.slack_signing_secret,
        request_verification_enabled=not socket,
        process_before_response=not socket,
        listener_executor=executor
        or ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="ssm3-slack"),
        logger=bolt_log,
    )

    @app.error
    def on_error(error: Exception) -> None:
        log.error("unhandled error in a Slack listener: %s", error, exc_info=error)

    register(app, Operations(services))
    return app


def _not_client_token_notice(record: logging.LogRecord) -> bool:
    """Bolt warns "`token` will be unused" whenever SLACK_BOT_TOKEN is in the environment and a
    client is given; ours is built from that very token, so the warning is noise on every start."""
    return record.getMessage() != warning_client_prioritized_and_token_skipped()


def wsgi_app(app: App, services: Services) -> Callable[..., Iterable[bytes]]:
    """Bolt's WSGI adapter on /slack/events, plus a health check on /healthz."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == HEALTH_PATH:
            healthy, body = health_document(services)
            status = "200 OK" if healthy else "503 Service Unavailable"
            return _answer(start_response, status, "application/json", body)
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == METRICS_PATH:
            return _answer(
                start_response, "200 OK", CONTENT_TYPE_LATEST, services.metrics.exposition()
            )
        return slack(environ, start_response)

    return application


def health_document(services: Services) -> tuple[bool, bytes]:
    """/healthz: healthy while the last finished sweep is at most two sweep periods old."""
    settings, now = services.settings, services.clock()
    last_digest = services.store.ledger.last_digest()
    report = assess(
        last_sweep=services.store.sweeps.last(finished=True),
        period=sweep_period(settings.sweep_schedule, settings.timezone, now),
        now=now,
        last_digest_at=last_digest.posted_at if last_digest else None,
    )
    sweep = report.last_sweep_at
    body: dict[str, object] = {
        "status": "ok" if report.healthy else "unhealthy",
        "last_sweep": iso(sweep),
        "last_digest": iso(last_digest.posted_at) if last_digest else None,
        "max_sweep_age_s": int(report.max_age.total_seconds()),
        "detail": list(report.lines),
    }
    if services.poller is not None:  # real time: shown, but sweeps go on without it
        events = services.poller.health()
        body["events_queue"] = {"ok": events.ok, "detail": events.detail}
    return report.healthy, json.dumps(body).encode()


def _answer(start_response: StartResponse, status: str, kind: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]


def http_server(
    app: App,
    services: Services,
    *,
    host: str,
    port: int,
    threads: int = HTTP_THREADS,
) -> BaseWSGIServer | MultiSocketServer:
    """A waitress server, not yet running: call .run()."""
    from waitress.server import create_server

    return create_server(
        wsgi_app(app, services),
        host=host,
        port=port,
        threads=threads,
        ident="ssm3-bot",
        clear_untrusted_proxy_headers=True,
    )


def run_socket_mode(app: App, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    try:
        SocketModeHandler(app, app_token).start()  # type: ignore[no-untyped-call]
    except SlackApiError as exc:  # apps.connections.open refused the app-level token
        error = exc.response.get("error")
        raise ConfigError("SLACK_APP_TOKEN", f"Slack did not accept it ({error})") from None


def describe(server: Any) -> str:
    return f"http://{server.effective_host}:{server.effective_port}{EVENTS_PATH}"
