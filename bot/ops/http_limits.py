"""HTTP bodies bounded before they are read, for every server the bot runs (the Slack app's
in HTTP mode, the probes' in Socket Mode): a request declaring (or streaming) more than 1 MiB
is refused with 413 and its body is never read whole. bot/slack/guard.py builds /slack/events'
own checks on these."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

MAX_BODY = 1024 * 1024  # bytes: Slack's largest request (a modal's state) is a few KiB
_DIGITS = re.compile(r"[0-9]{1,20}")


class Refused(Exception):
    """A request answered here, without going further: its HTTP status and one line."""

    def __init__(self, status: int, reason: str, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.reason = reason  # a short label for the metrics
        self.text = text


def answer(
    start_response: StartResponse, status: int, text: str, extra: Iterable[tuple[str, str]] = ()
) -> list[bytes]:
    body = (text + "\n").encode()
    phrase = f"{status} {HTTPStatus(status).phrase}"
    start_response(
        phrase,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *extra,
        ],
    )
    return [body]


def declared_length(environ: WSGIEnvironment, limit: int = MAX_BODY) -> int | None:
    """The body's length as the request declares it (None: not declared; read to its end),
    refusing one over `limit` before a byte of it is read."""
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not raw:
        return None if environ.get("wsgi.input_terminated") else 0
    if not _DIGITS.fullmatch(raw):
        raise Refused(400, "bad_length", "Content-Length is not a number")
    length = int(raw)
    if length > limit:
        raise Refused(413, "too_large", f"request bodies over {limit} bytes are refused")
    return length


def read_body(environ: WSGIEnvironment, limit: int = MAX_BODY) -> bytes:
    """The body, read only once it is known to fit in `limit` (a stream without a length is
    read up to one byte past the limit, then refused)."""
    length = declared_length(environ, limit)
    stream = environ.get("wsgi.input")
    if stream is None or length == 0:
        return b""
    if length is not None:
        return bytes(stream.read(length))
    body = bytes(stream.read(limit + 1))
    if len(body) > limit:
        raise Refused(413, "too_large", f"request bodies over {limit} bytes are refused")
    return body


def limit_body(
    application: WSGIApplication,
    limit: int = MAX_BODY,
    counted: Callable[[str], None] | None = None,
) -> WSGIApplication:
    """`application` behind a body limit: a request declaring more than `limit` bytes gets 413
    and its body is never read (the probes and any unknown path; /slack/events reads its own)."""

    def limited(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            declared_length(environ, limit)
        except Refused as refused:
            if counted is not None:
                counted(refused.reason)
            return answer(start_response, refused.status, refused.text, [("Connection", "close")])
        return application(environ, start_response)

    return limited
