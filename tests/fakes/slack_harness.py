"""The Slack app as Slack sees it: reached with correctly signed requests, answering through the
fake Web API, with the simulator as AWS.

By default a request goes straight into the app's WSGI application in this process (the same
code path waitress drives: Bolt's WSGI adapter, signature checks, /healthz, /metrics), which is
fast and needs no socket; `over_http=True` serves it with waitress on a loopback port instead,
for the tests about serving itself. InProcessSlack goes through Bolt's `app.dispatch` with the
lazy listeners run inline, so all a request causes has happened when the call returns.
Requests: slash commands, clicks on messages and on the Home tab, overflow menu choices,
modal submissions, Events API envelopes and url_verification."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import io
import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from slack_bolt.request import BoltRequest
from waitress import wasyncore

from bot.settings.config import Settings
from bot.slack.app import build_app, http_server, wsgi_app
from bot.slack.services import Services, web_client
from bot.store import Store
from bot.util.clock import utcnow
from tests.fakes.slack_api import FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0DIGEST01"
TEAM = "T0FAKETEAM"
HOME_VIEW = "V0HOMETAB01"
T = TypeVar("T")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Reply:
    status: int
    body: bytes
    response_url: str | None = None
    sent: bytes = b""  # the request body, for sending it again as Slack's retry would

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SignedRequests:
    """What Slack sends to /slack/events on `port`, signed with the signing secret."""

    def __init__(self, port: int, fake: FakeSlack, secret: str = SIGNING_SECRET) -> None:
        self._port = port
        self.fake = fake
        self.secret = secret

    @property
    def port(self) -> int:
        return self._port

    # -- raw HTTP -----------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def post_signed(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        content_type: str = "application/x-www-form-urlencoded",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signed = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(secret or self.secret, ts, body),
            **(headers or {}),
        }
        return self.request("POST", "/slack/events", body, signed)

    def retry(self, reply: Reply, number: int = 1, reason: str = "http_timeout") -> Reply:
        """Slack's retry of a request: the same body, signed anew, with its retry headers."""
        status, body = self.post_signed(
            reply.sent,
            headers={"X-Slack-Retry-Num": str(number), "X-Slack-Retry-Reason": reason},
        )
        return Reply(status, body, reply.response_url, reply.sent)

    # -- what Slack sends -----------------------------------------------------------------------
    def command(
        self, text: str, *, user: str = "U0ALICE01", channel: str = CHANNEL, team: str = TEAM
    ) -> Reply:
        """`team`: the workspace the command says it came from (another: Slack Connect)."""
        response_url = self.fake.new_response_url()
        body = urlencode(
            {
                "token": "verification-token-unused",
                "team_id": team,
                "team_domain": "fake",
                "channel_id": channel,
                "channel_name": "ssm3",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/ssm3",
                "text": text,
                "api_app_id": "A0SSM3APP",
                "response_url": response_url,
                "trigger_id": f"{uuid.uuid4().int % 10**12}.{TEAM}",
            }
        ).encode()
        status, payload = self.post_signed(body)
        return Reply(status, payload, response_url, body)

    def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U0ALICE01",
        channel: str = CHANNEL,
        message_ts: str | None = None,
        ephemeral: bool = False,
        home: bool = False,
        team: str = TEAM,
    ) -> Reply:
        """A button click on a message, or with `home` on the Home tab (no channel, no
        response_url: Slack sends neither for a view)."""
        unsent = self.click_request(
            action_id,
            value,
            user=user,
            channel=channel,
            message_ts=message_ts,
            ephemeral=ephemeral,
            home=home,
            team=team,
        )
        status, body = self.post_signed(unsent.sent)
        return Reply(status, body, unsent.response_url, unsent.sent)

    def event(self, event: dict[str, Any], *, event_id: str | None = None) -> Reply:
        """An Events API `event_callback` envelope carrying `event`, signed, as JSON."""
        envelope = {
            "token": "verification-token-unused",
            "team_id": TEAM,
            "api_app_id": "A0SSM3APP",
            "event": {"event_ts": f"{time.time():.6f}", **event},
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": "U0SSM3BOT", "is_bot": True}],
        }
        sent = json.dumps(envelope).encode()
        status, body = self.post_signed(sent, content_type="application/json")
        return Reply(status, body, None, sent)

    def home_opened(self, user: str = "U0ALICE01", *, tab: str = "home") -> Reply:
        """The person opened the app's Home tab (or, with `tab`, another of its tabs)."""
        return self.event(
            {"type": "app_home_opened", "user": user, "channel": "D0SSM3HOME", "tab": tab}
        )

    def url_verification(self, challenge: str) -> Reply:
        """What Slack sends once when the Events API request URL is saved."""
        sent = json.dumps(
            {
                "token": "verification-token-unused",
                "challenge": challenge,
                "type": "url_verification",
            }
        ).encode()
        status, body = self.post_signed(sent, content_type="application/json")
        return Reply(status, body, None, sent)

    def choose(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U0ALICE01",
        channel: str = CHANNEL,
        message_ts: str | None = None,
    ) -> Reply:
        """An option chosen from an overflow menu (a digest row's) on a channel message."""
        unsent = self.click_request(
            action_id, value, user=user, channel=channel, message_ts=message_ts, menu=True
        )
        status, body = self.post_signed(unsent.sent)
        return Reply(status, body, unsent.response_url, unsent.sent)

    def click_request(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U0ALICE01",
        channel: str = CHANNEL,
        message_ts: str | None = None,
        ephemeral: bool = False,
        menu: bool = False,
        home: bool = False,
        team: str = TEAM,
    ) -> Reply:
        """A button click (or, with `menu`, an overflow menu's choice) as Slack would send it,
        not sent yet (status 0); `team`: the clicking user's workspace (another one: someone
        in a Slack Connect channel)."""
        response_url = None if home else self.fake.new_response_url()
        ts = message_ts or "1700000000.000100"
        clicked: dict[str, Any] = (
            {
                "type": "overflow",
                "selected_option": {"text": {"type": "plain_text", "text": "…"}, "value": value},
            }
            if menu
            else {"type": "button", "value": value}
        )
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "api_app_id": "A0SSM3APP",
            "token": "verification-token-unused",
            "container": {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": ephemeral,
            },
            "trigger_id": f"{uuid.uuid4().int % 10**12}.{TEAM}",
            "team": {"id": TEAM, "domain": "fake"},
            "channel": {"id": channel, "name": "ssm3"},
            "message": {"type": "message", "ts": ts, "text": "digest"},
            "response_url": response_url,
            "actions": [
                {
                    **clicked,
                    "action_id": action_id,
                    "block_id": "b1",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        if home:  # a click on the Home tab: a view container, no channel, message or response_url
            for field in ("channel", "message", "response_url"):
                payload.pop(field)
            payload["container"] = {"type": "view", "view_id": HOME_VIEW}
            payload["view"] = {
                "id": HOME_VIEW,
                "team_id": TEAM,
                "type": "home",
                "blocks": [],
                "private_metadata": "",
                "callback_id": "",
                "state": {"values": {}},
                "hash": "1",
                "app_id": "A0SSM3APP",
                "bot_id": "B0SSM3BOT",
            }
        return Reply(0, b"", response_url, urlencode({"payload": json.dumps(payload)}).encode())

    def submit_view(
        self,
        view: dict[str, Any],
        values: dict[str, Any],
        *,
        user: str = "U0ALICE01",
        team: str = TEAM,
    ) -> Reply:
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "fake"},
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "api_app_id": "A0SSM3APP",
            "token": "verification-token-unused",
            "trigger_id": f"{uuid.uuid4().int % 10**12}.{TEAM}",
            "view": {
                "id": view.get("id", "V0VIEW0001"),
                "team_id": TEAM,
                "type": "modal",
                "callback_id": view["callback_id"],
                "private_metadata": view.get("private_metadata", ""),
                "blocks": view.get("blocks", []),
                "state": {"values": values},
                "hash": "1",
            },
        }
        sent = urlencode({"payload": json.dumps(payload)}).encode()
        status, body = self.post_signed(sent)
        return Reply(status, body, None, sent)


class SlackHarness(SignedRequests):
    """The app in this process; start with `.start()`. Request helpers: SignedRequests."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        access: Any,
        fake: FakeSlack,
        followup_delay_s: float = 0.05,
        threads: int = 8,
        clock: Callable[[], datetime] = utcnow,
        over_http: bool = False,
    ) -> None:
        self.fake = fake
        self.secret = SIGNING_SECRET
        self.settings = settings
        self.services = Services(
            settings=settings,
            store=store,
            access=access,
            client=web_client(settings),
            followup_delay_s=followup_delay_s,
            clock=clock,
        )
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="test-slack")
        self.app = build_app(self.services, executor=self.executor)
        self.wsgi = wsgi_app(self.app, self.services)
        self.server = (
            http_server(self.app, self.services, host="127.0.0.1", port=0, threads=threads)
            if over_http
            else None
        )
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        assert self.server is not None, "in-process harness: no port (use over_http=True)"
        return int(self.server.effective_port)  # type: ignore[union-attr]

    def start(self) -> SlackHarness:
        if self.server is not None:
            self._thread = threading.Thread(target=self._serve, name="ssm3-http", daemon=True)
            self._thread.start()
        return self

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        if self.server is not None:
            return super().request(method, path, body, headers)
        return call_wsgi(self.wsgi, method, path, body, headers or {})

    def _serve(self) -> None:
        # waitress's own .run() loop, a short poll at a time, closed from its own thread (closing
        # the sockets from another thread under a running poll raises in that poll).
        server: Any = self.server
        while not self._stopping.is_set():
            wasyncore.loop(timeout=0.02, map=server._map, count=1)
        server.close()
        server.task_dispatcher.shutdown()

    def stop(self) -> None:
        self.services.close()
        if self.server is None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            return
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.executor.shutdown(wait=True, cancel_futures=True)


def ack_values(
    reason: str | None, preset: str | None = "7d", date: str | None = None
) -> dict[str, Any]:
    """The modal's state.values as Slack sends them on submission."""
    return {
        "reason": {"reason": {"type": "plain_text_input", "value": reason}},
        "expiry": {
            "preset": {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": preset}, "value": preset}
                if preset
                else None,
            }
        },
        "until": {"date": {"type": "datepicker", "selected_date": date}},
    }


def call_wsgi(
    application: Any, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    """One request through a WSGI application, as a WSGI server would make it."""
    route, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "3000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        else:
            environ[f"HTTP_{key}"] = value
    status: list[str] = []

    def start_response(line: str, _headers: list[tuple[str, str]], _exc: Any = None) -> Any:
        status.append(line)
        return lambda data: None

    chunks = application(environ, start_response)
    try:
        payload = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return int(status[0].split(" ", 1)[0]), payload


class InlineExecutor(Executor):
    """Runs Bolt's lazy listeners on the calling thread: a request is done when it returns."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class InProcessSlack(SignedRequests):
    """The Bolt app in this process: each signed request goes through `app.dispatch` (the
    signature check, the act-once guard, the ack and then the lazy listeners, run inline), so
    everything a request causes has happened when the helper returns. No HTTP server."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        access: Any,
        fake: FakeSlack,
        followup_delay_s: float = 0.05,
        services: Services | None = None,
    ) -> None:
        """`services`: the app's, when the test built them (then the other arguments are
        theirs)."""
        self.fake = fake
        self.secret = SIGNING_SECRET
        self.settings = settings
        self.services = services or Services(
            settings=settings,
            store=store,
            access=access,
            client=web_client(settings),
            followup_delay_s=followup_delay_s,
        )
        self.app = build_app(self.services, executor=InlineExecutor())

    @property
    def port(self) -> int:
        raise NotImplementedError("in process: there is no port")

    def post_signed(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        content_type: str = "application/x-www-form-urlencoded",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        request = BoltRequest(
            body=body.decode("utf-8"),
            headers={
                "content-type": content_type,
                "x-slack-request-timestamp": ts,
                "x-slack-signature": sign(secret or self.secret, ts, body),
                **{name.lower(): value for name, value in (headers or {}).items()},
            },
        )
        response = self.app.dispatch(request)
        return response.status, (response.body or "").encode("utf-8")

    def stop(self) -> None:
        self.services.close()
