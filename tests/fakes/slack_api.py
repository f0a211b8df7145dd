"""A fake Slack Web API on 127.0.0.1 for tests: real HTTP, real slack_sdk clients.

It implements the methods ssm3-bot calls (chat.postMessage, chat.update, chat.postEphemeral,
views.open, views.update, views.publish (the Home tab: per user, with Slack's `not_enabled`,
`view_too_large` and `hash_conflict`), the three steps of files_upload_v2, auth.test,
usergroups.users.list, conversations.info, apps.connections.open) and the `response_url`s of
slash commands and buttons. It records every call, checks the bot token and the scopes granted
to it (answering `missing_scope` as Slack does, and listing them in the `x-oauth-scopes`
header), keeps the messages it accepted (so chat.update must name a real
message), and refuses Block Kit beyond Slack's limits with Slack's own error codes
(`tests/fakes/block_kit.py`). It can be told to answer some methods with HTTP 429 and a
Retry-After, or a 5xx, a number of times.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.sim.loopback import LoopbackServer
from tests.fakes.block_kit import HOME_VIEW_BYTES, check_home_view, check_message, check_view

# Methods whose parameters arrive as JSON strings inside a form body.
_JSON_PARAMS = {"blocks", "attachments", "view", "files", "metadata"}

# The Web API methods this fake implements and the bot scope each needs (None: no scope).
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "views.open": None,
    "views.update": None,
    "views.publish": None,
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "usergroups.users.list": "usergroups:read",
    "users.info": "users:read",
    "conversations.info": "channels:read",
    "apps.connections.open": None,  # app-level token with connections:write, no bot scope
}
# Receiving slash commands needs `commands`; it is no Web API call.
INBOUND_SCOPES = {"commands"}
# Everything above: what an app created from manifest.yaml is granted.
ALL_SCOPES = frozenset({scope for scope in METHOD_SCOPES.values() if scope} | INBOUND_SCOPES)


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    token: str | None
    status: int = 200
    ok: bool = True
    error: str | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Message:
    channel: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None = None
    updates: int = 0


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None


@dataclass
class _Failure:
    method: str
    status: int
    retry_after: int | None
    times: int | None  # None: every call until cleared
    error: str | None = None  # with status 200: Slack's {"ok": false, "error": ...}


class FakeSlack(LoopbackServer):
    """Start with `with FakeSlack() as slack:`; point WebClient(base_url=slack.api_url) at it."""

    def __init__(
        self,
        *,
        token: str = "xoxb-fake-bot-token",  # noqa: S107
        usergroups: Mapping[str, list[str]] | None = None,
        bot_user_id: str = "U0SSM3BOT",
        team_id: str = "T0FAKETEAM",
        response_url_uses: int = 5,
        app_token: str = "xapp-fake-app-token",  # noqa: S107
        scopes: Collection[str] = ALL_SCOPES,
        bot_channels: Collection[str] | None = None,
        private_channels: Collection[str] = (),
        home_tab: bool = True,
        users: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """`bot_channels`: the channels the bot is a member of (None: all of them);
        `private_channels` need groups:read to be described, and only to members; `users`:
        users.info records that differ from a plain member of `team_id` (a guest:
        {"is_restricted": True}; someone of another workspace: {"team_id": "T0OTHER"})."""
        self.token = token
        self.app_token = app_token
        self.socket_url: str | None = None  # a FakeSocketMode's URL (tests/fakes/socket_mode.py)
        self.scopes = frozenset(scopes)
        self.bot_channels = None if bot_channels is None else set(bot_channels)
        self.private_channels = set(private_channels)
        self.usergroups = dict(usergroups or {})
        self.users = {k: dict(v) for k, v in (users or {}).items()}
        self.bot_user_id = bot_user_id
        self.team_id = team_id
        self.response_url_uses = response_url_uses
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[str, str], Message] = {}
        self.files: dict[str, UploadedFile] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home_tab = home_tab  # the app's Home tab is enabled (manifest.yaml: app_home)
        self.homes: dict[str, dict[str, Any]] = {}  # each user's published Home tab
        self.responses: list[tuple[str, dict[str, Any]]] = []
        self._response_uses: dict[str, int] = {}
        self._failures: list[_Failure] = []
        self._ts = itertools.count(1)
        self._changed = threading.Condition()
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        super().__init__(handler, name="fake-slack")

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    # -- test controls --------------------------------------------------------------------------
    def new_response_url(self) -> str:
        return f"{self.url}/response/{uuid.uuid4().hex}"

    def fail(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 0,
        times: int | None = 1,
        error: str | None = None,
    ) -> None:
        """The next `times` calls (None: all) of `method` get HTTP `status` (429 carries
        Retry-After), or with status 200 Slack's `{"ok": false, "error": error}`. `method` may
        also be "response_url" or "upload" (the files_upload_v2 upload step)."""
        with self._changed:
            self._failures.append(_Failure(method, status, retry_after, times, error))

    def clear_failures(self) -> None:
        with self._changed:
            self._failures.clear()

    def revoke_token(self) -> None:
        """From now on the bot token is refused with invalid_auth, as after a revocation."""
        with self._changed:
            self.token = "xoxb-revoked-" + uuid.uuid4().hex

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[ApiCall]:
        with self._changed:
            return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def methods_called(self) -> set[str]:
        with self._changed:
            return {c.method for c in self.calls}

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Block until predicate() is truthy (re-checked after every call); return its value."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    methods = [(c.method, c.error) for c in self.calls]
                    raise AssertionError(f"timed out waiting; calls so far: {methods}")
                self._changed.wait(remaining)

    def message(self, channel: str, ts: str) -> Message:
        with self._changed:
            return self.messages[(channel, ts)]

    def thread(self, channel: str, ts: str) -> list[Message]:
        with self._changed:
            return [m for m in self.messages.values() if m.channel == channel and m.thread_ts == ts]

    # -- request handling (called from the server's threads) ------------------------------------
    def _record(self, call: ApiCall) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _take_failure(self, method: str) -> _Failure | None:
        with self._changed:
            for failure in self._failures:
                if failure.method == method and (failure.times is None or failure.times > 0):
                    if failure.times is not None:
                        failure.times -= 1
                    return failure
        return None

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def api(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if token is None:
            return {"ok": False, "error": "not_authed"}
        if method == "apps.connections.open":
            return self._open_connection(token)
        if token != self.token:
            return {"ok": False, "error": "invalid_auth"}
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        needed = METHOD_SCOPES.get(method)
        if needed and needed not in self.scopes:
            return self._missing(needed)
        result: dict[str, Any] = handler(params)
        return result

    def _open_connection(self, token: str) -> dict[str, Any]:
        """Socket Mode's first call, made with the app-level token."""
        if token != self.app_token:
            return {"ok": False, "error": "invalid_auth"}
        url = self.socket_url or f"wss://{self.url.removeprefix('http://')}/link/?ticket=1"
        return {"ok": True, "url": url}

    def _missing(self, scope: str) -> dict[str, Any]:
        return {
            "ok": False,
            "error": "missing_scope",
            "needed": scope,
            "provided": ",".join(sorted(self.scopes)),
        }

    def _m_conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        member = channel is not None and (self.bot_channels is None or channel in self.bot_channels)
        if channel is None or (channel in self.private_channels and not member):
            return {"ok": False, "error": "channel_not_found"}
        private = channel in self.private_channels
        if private and "groups:read" not in self.scopes:
            return self._missing("groups:read")
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "name": "ssm3-digest",
                "is_channel": not private,
                "is_private": private,
                "is_archived": False,
                "is_member": member,
            },
        }

    def _m_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.test/",
            "team": "Fake Team",
            "user": "ssm3-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": "B0SSM3BOT",
        }

    def _channel(self, params: dict[str, Any], name: str = "channel") -> str | None:
        channel = params.get(name)
        if not isinstance(channel, str) or channel[:1] not in {"C", "G", "D"}:
            return None
        return channel

    def _m_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        thread_ts = params.get("thread_ts")
        if thread_ts and (channel, thread_ts) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        error, details = check_message(params.get("text"), params.get("blocks"))
        if error:
            return _error(error, details)
        ts = self._next_ts()
        with self._changed:
            self.messages[(channel, ts)] = Message(
                channel, ts, params.get("text"), params.get("blocks"), thread_ts
            )
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": params.get("text")}}

    def _m_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        key = (channel or "", str(params.get("ts")))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        error, details = check_message(params.get("text"), params.get("blocks"))
        if error:
            return _error(error, details)
        with self._changed:
            message = self.messages[key]
            message.text = params.get("text")
            message.blocks = params.get("blocks")
            message.updates += 1
        return {"ok": True, "channel": key[0], "ts": key[1], "text": params.get("text")}

    def _m_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._channel(params) is None:
            return {"ok": False, "error": "channel_not_found"}
        if not str(params.get("user") or "").startswith(("U", "W")):
            return {"ok": False, "error": "user_not_in_channel"}
        error, details = check_message(params.get("text"), params.get("blocks"))
        if error:
            return _error(error, details)
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        problems = check_view(params.get("view"))
        if problems:
            return _error("invalid_arguments", problems)
        view = dict(params["view"], id="V" + uuid.uuid4().hex[:10].upper(), hash="1")
        with self._changed:
            self.views[view["id"]] = view
        return {"ok": True, "view": view}

    def _m_views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = params.get("view_id")
        if view_id not in self.views:
            return {"ok": False, "error": "not_found"}
        problems = check_view(params.get("view"))
        if problems:
            return _error("invalid_arguments", problems)
        view = dict(params["view"], id=view_id, hash="2")
        with self._changed:
            self.views[str(view_id)] = view
        return {"ok": True, "view": view}

    def _m_views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user = params.get("user_id")
        if not isinstance(user, str) or not user.startswith(("U", "W")):
            return {"ok": False, "error": "invalid_arguments"}
        if not self.home_tab:
            return {"ok": False, "error": "not_enabled"}
        view = params.get("view")
        if len(json.dumps(view)) > HOME_VIEW_BYTES:
            return {"ok": False, "error": "view_too_large"}
        problems = check_home_view(view)
        if problems:
            return _error("invalid_arguments", problems)
        with self._changed:
            held = self.homes.get(user)
            if params.get("hash") and held is not None and params["hash"] != held["hash"]:
                return {"ok": False, "error": "hash_conflict"}
            view_id = held["id"] if held else "V" + uuid.uuid4().hex[:10].upper()
            published = dict(view, id=view_id, hash=uuid.uuid4().hex[:12])
            self.homes[user] = published
        return {"ok": True, "view": published}

    def home(self, user: str) -> dict[str, Any] | None:
        """The Home tab last published for `user`."""
        with self._changed:
            return self.homes.get(user)

    def _m_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = params.get("filename")
        try:
            length = int(params.get("length") or 0)
        except ValueError:
            length = 0
        if not filename or length <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        with self._changed:
            self.files[file_id] = UploadedFile(file_id, str(filename), length)
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = params.get("files")
        if not isinstance(entries, list) or not entries:
            return {"ok": False, "error": "invalid_arguments"}
        channel = params.get("channel_id")
        if channel is not None and self._channel(params, "channel_id") is None:
            return {"ok": False, "error": "channel_not_found"}
        if (
            channel is not None
            and self.bot_channels is not None
            and channel not in self.bot_channels
        ):
            return {"ok": False, "error": "not_in_channel"}  # sharing needs the bot in it
        thread_ts = params.get("thread_ts")
        if thread_ts and (str(channel), thread_ts) not in self.messages:
            return {"ok": False, "error": "invalid_thread_ts"}
        done = []
        with self._changed:
            for entry in entries:
                uploaded = self.files.get(str(entry.get("id")))
                if uploaded is None or uploaded.content is None:
                    return {"ok": False, "error": "file_not_found"}
                uploaded.title = entry.get("title")
                uploaded.channel = channel
                uploaded.thread_ts = thread_ts
                uploaded.initial_comment = params.get("initial_comment")
                done.append({"id": uploaded.id, "name": uploaded.filename, "title": uploaded.title})
        return {"ok": True, "files": done}

    def _m_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        """A user's record: a plain member of this workspace unless `users` says otherwise
        (`{"missing": True}`: Slack's user_not_found)."""
        user = params.get("user")
        if not isinstance(user, str) or not user.startswith(("U", "W")):
            return {"ok": False, "error": "user_not_found"}
        with self._changed:
            record = dict(self.users.get(user, {}))
        if record.pop("missing", False):
            return {"ok": False, "error": "user_not_found"}
        base = {
            "id": user,
            "team_id": self.team_id,
            "name": user.lower(),
            "deleted": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
        }
        return {"ok": True, "user": {**base, **record}}

    def _m_usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = params.get("usergroup")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[str(group)])}

    def upload(self, file_id: str, content: bytes) -> tuple[int, str]:
        with self._changed:
            uploaded = self.files.get(file_id)
            if uploaded is None:
                return 404, "not found"
            if len(content) != uploaded.length:
                return 400, "length mismatch"
            uploaded.content = content
        return 200, f"OK - {len(content)}"

    def respond(self, url_id: str, payload: dict[str, Any]) -> tuple[int, str]:
        with self._changed:
            uses = self._response_uses.get(url_id, 0)
            if uses >= self.response_url_uses:
                return 404, "used_url"
            self._response_uses[url_id] = uses + 1
        if not payload.get("delete_original"):
            error, _ = check_message(payload.get("text"), payload.get("blocks"))
            if error:
                return 400, error
        with self._changed:
            self.responses.append((url_id, payload))
        return 200, "ok"


def _error(code: str, details: list[str]) -> dict[str, Any]:
    reply: dict[str, Any] = {"ok": False, "error": code}
    if details:
        reply["response_metadata"] = {"messages": details}
    return reply


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: FakeSlack.calls is the log."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        if path.startswith("/api/"):
            self._api(path.removeprefix("/api/"), body)
        elif path.startswith(("/upload/", "/response/")) and self._injected(
            "upload" if path.startswith("/upload/") else "response_url"
        ):
            return
        elif path.startswith("/upload/"):
            file_id = path.removeprefix("/upload/")
            status, text = self.fake.upload(file_id, body)
            self.fake._record(ApiCall("upload", {"file_id": file_id}, None, status, status == 200))
            self._send(status, text.encode(), "text/plain")
        elif path.startswith("/response/"):
            try:
                payload = json.loads(body or b"{}")
            except ValueError:
                payload = {}
            status, text = self.fake.respond(path.removeprefix("/response/"), payload)
            self.fake._record(
                ApiCall(
                    "response_url",
                    payload,
                    None,
                    status,
                    status == 200,
                    None if status == 200 else text,
                )
            )
            self._send(status, text.encode(), "text/plain")
        else:
            self._send(404, b"not found", "text/plain")

    def _api(self, method: str, body: bytes) -> None:
        params = _params(self.headers.get("Content-Type", ""), body)
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        token = token or params.pop("token", None)
        if self._injected(method, params, token):
            return
        reply = self.fake.api(method, params, token)
        self.fake._record(
            ApiCall(method, params, token, 200, bool(reply.get("ok")), reply.get("error"))
        )
        granted = {}
        if token == self.fake.token:  # Slack lists a valid token's scopes on every answer
            granted["x-oauth-scopes"] = ",".join(sorted(self.fake.scopes))
        self._send(200, json.dumps(reply).encode(), "application/json; charset=utf-8", granted)

    def _injected(
        self, method: str, params: dict[str, Any] | None = None, token: str | None = None
    ) -> bool:
        """Answer with an injected failure of `method`, if one is due."""
        failure = self.fake._take_failure(method)
        if failure is None:
            return False
        if failure.status == 200:
            error = failure.error or "internal_error"
            self.fake._record(ApiCall(method, params or {}, token, 200, False, error))
            self._send(200, json.dumps({"ok": False, "error": error}).encode(), "application/json")
            return True
        self.fake._record(ApiCall(method, params or {}, token, failure.status, False, "injected"))
        headers = {}
        if failure.status == 429 and failure.retry_after is not None:
            headers["Retry-After"] = str(failure.retry_after)
        error = "ratelimited" if failure.status == 429 else "internal_error"
        self._send(
            failure.status,
            json.dumps({"ok": False, "error": error}).encode(),
            "application/json",
            headers,
        )
        return True

    def _send(
        self,
        status: int,
        payload: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _params(content_type: str, body: bytes) -> dict[str, Any]:
    if content_type.startswith("application/json"):
        loaded = json.loads(body or b"{}")
        return dict(loaded) if isinstance(loaded, dict) else {}
    params: dict[str, Any] = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for name in _JSON_PARAMS & params.keys():
        try:
            params[name] = json.loads(params[name])
        except ValueError:
            params[name] = None
    return params
