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

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.clock import iso
from bot.config import ConfigError
from bot.slack.listeners import register
from bot.slack.operations import Operations
from bot.slack.services import Services

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from waitress.server import BaseWSGIServer, MultiSocketServer

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
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
    app = App(
        client=services.client,
        signing_secret=settings.slack_signing_secret,
        request_verification_enabled=not socket,
        process_before_response=not socket,
        listener_executor=executor
        or ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="ssm3-slack"),
        logger=logging.getLogger("bot.slack.bolt"),
    )

    @app.error
    def on_error(error: Exception) -> None:
        log.error("unhandled error in a Slack listener: %s", error, exc_info=error)

    register(app, Operations(services))
    return app


def wsgi_app(app: App, services: Services) -> Callable[..., Iterable[bytes]]:
    """Bolt's WSGI adapter on /slack/events, plus a health check on /healthz."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") == "GET":
            last = services.store.last_sweep()
            body = json.dumps(
                {"status": "ok", "last_sweep": iso(last.finished_at) if last else None}
            ).encode()
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return slack(environ, start_response)

    return application


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
