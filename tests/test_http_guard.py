"""HTTP mode as an attacker on the internet meets it (bot/slack/guard.py): a body over 1 MiB is
refused with 413 before it is read (declared or chunked; by waitress itself and by the app,
on /slack/events and on the probe server), a request without a valid, fresh signature gets 401
before its body is parsed, a signed body that is not a request the app handles gets 400, and
no input of any shape ends in a 500 or a traceback in the log.

The memory figure (peak RSS for a 64 MiB POST) is bench/http_guard.py's, in
docs/benchmarks.md; these tests assert the statuses and that the body was not read."""

from __future__ import annotations

import io
import json
import logging
import select
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ops.http_limits import MAX_BODY
from bot.ops.probes import probe_server
from bot.slack import blocks as kit
from bot.slack.app import probes_of, wsgi_app
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import (
    SIGNING_SECRET,
    InProcessSlack,
    SlackHarness,
    ack_values,
    call_wsgi,
    sign,
)

Harness = Callable[..., SlackHarness]
BIG = 64 * 1024 * 1024
FORM = "application/x-www-form-urlencoded"


class Untouchable(io.RawIOBase):
    """A request body that fails the test if anyone reads it."""

    def __init__(self) -> None:
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        raise AssertionError("the body was read")


def environ(
    method: str, path: str, length: str | None, body: Any, **headers: str
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": body,
        "wsgi.url_scheme": "http",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": FORM,
        **{f"HTTP_{k.upper()}": v for k, v in headers.items()},
    }
    if length is not None:
        found["CONTENT_LENGTH"] = length
    return found


def call(application: Any, env: dict[str, Any]) -> tuple[int, bytes]:
    status: list[str] = []

    def start_response(line: str, _headers: Any, _exc: Any = None) -> Any:
        status.append(line)
        return lambda data: None

    body = b"".join(application(env, start_response))
    return int(status[0].split(" ", 1)[0]), body


def signed_headers(
    body: bytes, *, ts: int | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    return {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(secret, stamp, body),
    }


# -- 413: never read ----------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/slack/events", "/healthz", "/metrics", "/elsewhere"])
def test_a_body_declared_over_the_limit_is_refused_unread_on_every_path(
    make_harness: Harness, path: str
) -> None:
    h = make_harness(sweep=False)
    body = Untouchable()
    method = "POST" if path == "/slack/events" else "GET"
    status, text = call(h.wsgi, environ(method, path, str(BIG), body))
    assert status == 413
    assert b"over 1048576 bytes" in text
    assert body.reads == 0
    # One byte over is too much; the limit itself is fine (it then fails the signature).
    assert (
        call(h.wsgi, environ("POST", "/slack/events", str(MAX_BODY + 1), Untouchable()))[0] == 413
    )
    assert (
        call(h.wsgi, environ("POST", "/slack/events", str(MAX_BODY), io.BytesIO(b"x" * MAX_BODY)))[
            0
        ]
        == 401
    )


def test_a_body_of_unknown_length_is_read_no_further_than_the_limit(make_harness: Harness) -> None:
    """A server that streams a chunked body to the app (no Content-Length) gets 413 once one
    byte past the limit has come, and the rest is never read."""
    h = make_harness(sweep=False)
    stream = io.BytesIO(b"a=" + b"b" * (BIG - 2))
    env = environ("POST", "/slack/events", None, stream)
    env["wsgi.input_terminated"] = True
    assert call(h.wsgi, env)[0] == 413
    assert stream.tell() == MAX_BODY + 1


def test_a_bad_content_length_is_400_not_500(make_harness: Harness) -> None:
    h = make_harness(sweep=False)
    for length in ("-1", "12abc", "1e9", " "):
        status, _ = call(h.wsgi, environ("POST", "/slack/events", length, Untouchable()))
        assert status in (400, 401), length


@contextmanager
def connection(port: int) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    try:
        yield sock
    finally:
        sock.close()


def status_line(sock: socket.socket) -> str:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode()


def test_waitress_refuses_a_64_mib_post_before_its_body_is_sent(make_harness: Harness) -> None:
    """Over loopback: the headers alone (Content-Length: 64 MiB) get 413; not one byte of the
    body was sent, so none can have been read."""
    h = make_harness(sweep=False, over_http=True)
    with connection(h.port) as sock:
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: " + str(BIG).encode() + b"\r\n\r\n"
        )
        assert status_line(sock).startswith("HTTP/1.1 413")


def chunked_until_answered(port: int, path: str) -> tuple[str, int]:
    """Send a 64 MiB chunked body, 64 KiB a chunk, stopping as soon as an answer comes; the
    status line and how many bytes of body had been sent."""
    piece = b"x" * 65536
    sent = 0
    with connection(port) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: bot\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode()
        )
        try:
            while sent < BIG:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(b"10000\r\n" + piece + b"\r\n")
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        return status_line(sock), sent


def test_waitress_refuses_a_64_mib_chunked_post_after_the_first_mebibyte(
    make_harness: Harness,
) -> None:
    h = make_harness(sweep=False, over_http=True)
    status, sent = chunked_until_answered(h.port, "/slack/events")
    assert status.startswith("HTTP/1.1 413")
    assert sent < BIG // 4, f"{sent} bytes were taken before the refusal"


def test_the_socket_mode_probe_server_has_the_same_limit(make_harness: Harness) -> None:
    h = make_harness(sweep=False)
    server = probe_server(probes_of(h.services), host="127.0.0.1", port=0).start()
    try:
        with connection(server.port) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bot\r\nContent-Length: 67108864\r\n\r\n")
            assert status_line(sock).startswith("HTTP/1.1 413")
        status, sent = chunked_until_answered(server.port, "/healthz")
        assert status.startswith("HTTP/1.1 413")
        assert sent < BIG // 4
        env = environ("GET", "/healthz", str(BIG), Untouchable())
        assert call(server.server.application, env)[0] == 413
    finally:
        server.stop()


# -- 401 before parsing -------------------------------------------------------------------------
BOLT_CRASHERS = [b"[1]", b"payload=%5B1%5D", b"null", b"\xff\xfe"]  # HTTP 500 inside Bolt before


@pytest.mark.parametrize("body", BOLT_CRASHERS)
def test_an_unsigned_body_is_refused_before_it_is_parsed(
    make_harness: Harness, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    h = make_harness(sweep=False)
    caplog.set_level(logging.DEBUG)
    assert h.request("POST", "/slack/events", body, {"Content-Type": "application/json"})[0] == 401
    assert (
        h.request("POST", "/slack/events", body, signed_headers(body, secret="wrong" * 8))[0] == 401
    )
    assert (
        h.request("POST", "/slack/events", body, signed_headers(body, ts=int(time.time()) - 301))[0]
        == 401
    )
    assert (
        h.request("POST", "/slack/events", body, signed_headers(body, ts=int(time.time()) + 301))[0]
        == 401
    )
    forged = {**signed_headers(body), "X-Slack-Signature": "v0=" + "é" * 64}
    assert h.request("POST", "/slack/events", body, forged)[0] == 401
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


def test_other_methods_get_405(make_harness: Harness) -> None:
    h = make_harness(sweep=False)
    assert h.request("GET", "/slack/events")[0] == 405
    assert h.request("PUT", "/slack/events", b"x")[0] == 405


# -- 400 for signed garbage ---------------------------------------------------------------------
SIGNED_GARBAGE = [
    (b"[1]", "application/json"),
    (b"payload=%5B1%5D", FORM),
    (b"payload=notjson", FORM),
    (b"payload=%7B%7D", FORM),
    (b'payload={"type":"block_actions"}', FORM),
    (b'payload={"type":"block_actions","actions":[1],"user":{"id":"U0ALICE01"}}', FORM),
    (b'payload={"type":"block_actions","actions":"x","user":{"id":"U0ALICE01"}}', FORM),
    (b'payload={"type":"block_actions","actions":"x","user":1}', FORM),
    (b'payload={"type":"view_submission","view":5,"user":{"id":"U0ALICE01"}}', FORM),
    (
        b'payload={"type":"view_submission","user":{"id":"U1"},'
        b'"view":{"callback_id":"ssm3_ack","state":{"values":{"reason":5}}}}',
        FORM,
    ),
    (b'{"type":"event_callback","event":1}', "application/json"),
    (b'{"type":"event_callback","event":"x"}', "application/json"),
    (b'{"type":"event_callback","event":{"type":"app_home_opened","user":5}}', "application/json"),
    (b'{"type":"event_callback","authorizations":5}', "application/json"),
    (b'{"type":"url_verification","challenge":5}', "application/json"),
    (b'"str"', "application/json"),
    (b"\xff\xfe", FORM),
    (b"[" * 5000 + b"]" * 5000, "application/json"),
    (b"command=/ssm3&text=status", FORM),  # no user, no team
    (b'{"command":"/ssm3","text":5,"user_id":"U1","team_id":"T1"}', "application/json"),
    (b"a=b", "text/plain"),
    (b"", FORM),
]


@pytest.mark.parametrize(("body", "content_type"), SIGNED_GARBAGE, ids=lambda v: repr(v)[:40])
def test_a_signed_body_that_is_no_request_of_the_app_gets_400(
    make_harness: Harness, body: bytes, content_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    h = make_harness(sweep=False)
    headers = {**signed_headers(body), "Content-Type": content_type}
    status, text = h.request("POST", "/slack/events", body, headers)
    assert status == 400, text
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


# -- no input of any shape: a 500 or a traceback --------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from paths(inner, (*prefix, index))


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


def requests_of_every_kind(app: InProcessSlack, key: str) -> list[tuple[dict[str, Any], str]]:
    """Real requests of each kind the app handles, parsed: (payload, how it is sent)."""
    click = dict(parse_qsl(app.click_request(kit.ACTION_HISTORY, key).sent.decode()))
    home = dict(parse_qsl(app.click_request(kit.ACTION_HISTORY, key, home=True).sent.decode()))
    view = {"callback_id": kit.ACK_MODAL, "private_metadata": json.dumps({"k": key})}
    submission = {
        "type": "view_submission",
        "user": {"id": "U0OPERATOR", "team_id": "T0FAKETEAM"},
        "team": {"id": "T0FAKETEAM"},
        "view": {**view, "state": {"values": ack_values("OPS-1")}, "type": "modal"},
    }
    command = {"command": "/ssm3", "text": "status", "user_id": "U0OPERATOR", "team_id": "T0FAKETEAM",
               "channel_id": "C0DIGEST01", "response_url": app.fake.new_response_url()}  # fmt: skip
    event = {
        "type": "event_callback",
        "team_id": "T0FAKETEAM",
        "event": {"type": "app_home_opened", "user": "U0OPERATOR", "tab": "home"},
        "authorizations": [{"team_id": "T0FAKETEAM", "user_id": "U0SSM3BOT", "is_bot": True}],
    }
    return [
        (json.loads(click["payload"]), "payload"),
        (json.loads(home["payload"]), "payload"),
        (submission, "payload"),
        (command, "form"),
        (command, "json"),
        (event, "json"),
        ({"type": "url_verification", "challenge": "abc"}, "json"),
    ]


def encoded(payload: Any, how: str) -> tuple[bytes, str]:
    if how == "payload":
        return urlencode({"payload": json.dumps(payload)}).encode(), FORM
    if how == "form" and isinstance(payload, dict):
        return urlencode({k: str(v) for k, v in payload.items()}).encode(), FORM
    return json.dumps(payload).encode(), "application/json"


def test_no_mutation_of_a_real_request_gets_a_500_or_a_traceback(
    make_app: Callable[..., InProcessSlack], fake_slack: FakeSlack
) -> None:
    """Each kind of request, with one node replaced by any JSON value, signed, through the
    guard into the app (lazy listeners inline, so their errors would show here)."""
    app = make_app()
    application = wsgi_app(app.app, app.services)
    key = kit.key_value(app.services.store.associations.tracked(failing_only=True)[0].key)
    kinds = requests_of_every_kind(app, key)
    errors: list[str] = []

    class Errors(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.exc_info or record.levelno >= logging.ERROR:
                errors.append(f"{record.name}: {record.getMessage()[:200]}")

    handler = Errors()
    logging.getLogger().addHandler(handler)
    try:

        @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
        @given(data=st.data())
        def one(data: st.DataObject) -> None:
            payload, how = data.draw(st.sampled_from(kinds))
            where = data.draw(st.sampled_from(list(paths(payload))))
            body, content_type = encoded(replaced(payload, where, data.draw(JSON)), how)
            headers = {**signed_headers(body), "Content-Type": content_type}
            status, text = call_wsgi(application, "POST", "/slack/events", body, headers)
            assert status in (200, 400, 404), (status, text, body[:300])
            assert errors == [], (errors, body[:300])

        one()
    finally:
        logging.getLogger().removeHandler(handler)


# -- Bolt's parser, mended ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("user", "reason"),
    [("U0OPERATOR", "payload migration, OPS-9"), ("U0PAYLOAD1", "OPS-9")],
    ids=["text says payload", "user name says payload"],
)
def test_a_command_whose_form_says_payload_is_not_lost(
    make_harness: Harness, fake_slack: FakeSlack, user: str, reason: str
) -> None:
    """Bolt took any form body containing "payload" for a click, found no payload field and
    lost the command (404, "dispatch_failed" in Slack)."""
    h = make_harness(operators=("U0OPERATOR", "U0PAYLOAD1"))
    item = h.services.store.associations.tracked(failing_only=True)[0]
    reply = h.command(f"ack {item.key.association_id} for 1d {reason}", user=user)
    assert reply.status == 200
    h.executor.shutdown(wait=True)
    [ack] = h.services.store.acks.active().values()
    assert (ack.by, ack.reason) == (user, reason)
