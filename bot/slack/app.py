"""The Bolt app and how it is served: over HTTP behind waitress (a multithreaded production
WSGI server, through Bolt's WSGI adapter), or over Socket Mode.

HTTP mode runs with `process_before_response=True`: Bolt answers Slack only when the ack
function returns, and every slow step (AWS, sweeps, uploads) is a lazy listener on the
listener executor, so the answer goes out in milliseconds whatever AWS is doing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

from bot.ops.http_limits import MAX_BODY, limit_body
from bot.ops.probes import Probes
from bot.settings.config import ConfigError
from bot.slack import bolt_body
from bot.slack.flows import Flows
from bot.slack.guard import SlackGuard
from bot.slack.listeners import register
from bot.slack.members import learn_workspace
from bot.slack.services import Services

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from waitress.server import BaseWSGIServer, MultiSocketServer

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
LISTENER_THREADS = 16
SOCKET_PING_S = 5.0  # slack_sdk's default: a dead connection is noticed within 4 of these
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
    bolt_body.install()  # a form body saying "payload" is no longer taken for a click
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

    app.use(learn_workspace(services.members))
    register(app, Flows.build(services))
    return app


def _not_client_token_notice(record: logging.LogRecord) -> bool:
    """Bolt warns "`token` will be unused" whenever SLACK_BOT_TOKEN is in the environment and a
    client is given; ours is built from that very token, so the warning is noise on every start."""
    return record.getMessage() != warning_client_prioritized_and_token_skipped()


def probes_of(services: Services) -> Probes:
    """/healthz and /metrics for this process (bot/ops/probes.py)."""
    return Probes(
        liveness=services.liveness,
        metrics=services.metrics,
        store=services.store,
        settings=services.settings,
        clock=services.clock,
        info=lambda: _events_queue(services),
    )


def _events_queue(services: Services) -> dict[str, object]:
    """The real-time poller's state in /healthz: shown, never failing it (sweeps go on)."""
    if services.poller is None:
        return {}
    events = services.poller.health()
    return {"events_queue": {"ok": events.ok, "detail": events.detail}}


def wsgi_app(app: App, services: Services) -> Callable[..., Iterable[bytes]]:
    """/slack/events behind the guard (bot/slack/guard.py), plus /healthz and /metrics; every
    path under the body limit."""
    counted = services.metrics.refused
    slack = SlackGuard(
        app, signing_secret=str(services.settings.slack_signing_secret), counted=counted
    )
    probes = probes_of(services)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        found = probes.answer(environ, start_response)
        if found is not None:
            return found
        if environ.get("PATH_INFO") == EVENTS_PATH:
            return slack(environ, start_response)
        return _not_found(start_response)

    return limit_body(application, counted=counted)


def _not_found(start_response: StartResponse) -> list[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    return [b"not found\n"]


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
        max_request_body_size=MAX_BODY + 1,  # waitress refuses at this size and above
    )


def connect_socket_mode(
    app: App, app_token: str, *, ping_interval: float = SOCKET_PING_S
) -> SocketModeHandler:
    """Open the Socket Mode connection (slack_sdk's own client, which pings every
    `ping_interval` seconds and reconnects by itself) and return its handler; requests are
    then served on the client's threads."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    handler = SocketModeHandler(app, app_token, ping_interval=ping_interval)
    try:
        handler.connect()  # type: ignore[no-untyped-call]
    except SlackApiError as exc:  # apps.connections.open refused the app-level token
        handler.close()  # type: ignore[no-untyped-call]
        error = exc.response.get("error")
        raise ConfigError("SLACK_APP_TOKEN", f"Slack did not accept it ({error})") from None
    return handler


def describe(server: Any) -> str:
    return f"http://{server.effective_host}:{server.effective_port}{EVENTS_PATH}"
