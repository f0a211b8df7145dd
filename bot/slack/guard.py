"""What stands between the internet and Bolt in HTTP mode: `SlackGuard` on /slack/events, after
bot/ops/http_limits.py's body limit, which every path has (the probe server's too).

Bolt's WSGI adapter reads the whole body, decodes it and parses it before it checks the
signature, so one unsigned 200 MiB POST cost the process ~600 MiB, and a tiny unsigned `[1]`
raised inside Bolt (HTTP 500, a traceback in the log). Here, in this order:
1. a body declared (or streamed) over 1 MiB is refused, 413, without being read;
2. the Slack signature (`v0=HMAC-SHA256(secret, "v0:{timestamp}:{raw bytes}")`, with a timestamp
   within 5 minutes) is checked over the raw bytes, 401 when it is missing, stale or wrong;
3. only then is the body parsed, by Bolt's own parser, and checked against the shape of the
   request kinds the app handles (bot/slack/shapes.py): 400 when it is not one;
4. Bolt dispatches the request it was handed (it checks the signature again, cheaply).
No client input reaches a listener malformed, so none can end in a 500 or a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.request import BoltRequest

from bot.ops.http_limits import MAX_BODY, Refused, answer, read_body
from bot.slack.shapes import problem

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

MAX_SKEW_S = 300  # Slack's own rule for X-Slack-Request-Timestamp
WARN_EVERY_S = 300.0  # at most one WARNING line this often about refused signatures
_DIGITS = re.compile(r"[0-9]{1,20}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class SlackGuard:
    """/slack/events: the body bounded, the signature checked over its raw bytes, the request
    parsed and its shape checked, then Bolt. `wall` is the wall clock the timestamp is judged by
    (Slack's, as Bolt's own check uses)."""

    def __init__(
        self,
        app: App,
        *,
        signing_secret: str,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        limit: int = MAX_BODY,
        counted: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self._secret = signing_secret.encode()
        self.wall = wall
        self.monotonic = monotonic
        self.limit = limit
        self.counted = counted
        self._warned_at: float | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            request = self.admit(environ)
        except Refused as refused:
            self._refused(refused)
            extra = [("Allow", "POST")] if refused.status == 405 else []
            if refused.status == 413:
                extra.append(("Connection", "close"))  # the unread body is not drained
            return answer(start_response, refused.status, refused.text, extra)
        response = self.app.dispatch(request)
        wsgi = WsgiHttpResponse(
            status=response.status, headers=response.headers, body=response.body
        )
        start_response(wsgi.status, wsgi.get_headers())
        return wsgi.get_body()

    def admit(self, environ: WSGIEnvironment) -> BoltRequest:
        """The request as Bolt reads it, once it passed every check; else Refused."""
        if environ.get("REQUEST_METHOD") != "POST":
            raise Refused(405, "method", "only POST is accepted here")
        body = read_body(environ, self.limit)
        if not self.signed(environ, body):
            raise Refused(401, "signature", "no valid, fresh Slack signature")
        headers = WsgiHttpRequest(environ).get_headers()
        headers["content-length"] = str(len(body))
        try:
            request = BoltRequest(
                body=body.decode("utf-8"),
                query=str(environ.get("QUERY_STRING") or ""),
                headers=headers,
            )
        except Exception as exc:  # Bolt's parser, on signed client input only
            raise Refused(
                400, "malformed", f"the body cannot be read: {type(exc).__name__}"
            ) from None
        wrong = problem(request.body)
        if wrong is not None:
            raise Refused(400, "malformed", f"malformed request: {wrong}")
        return request

    def signed(self, environ: WSGIEnvironment, body: bytes) -> bool:
        timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "")
        signature = str(environ.get("HTTP_X_SLACK_SIGNATURE") or "")
        if not _DIGITS.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
            return False
        if abs(self.wall() - int(timestamp)) > MAX_SKEW_S:
            return False
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.encode())

    def _refused(self, refused: Refused) -> None:
        if self.counted is not None:
            self.counted(refused.reason)
        log.debug("refused a request to /slack/events: %s %s", refused.status, refused.text)
        if refused.status != 401:
            return
        now = self.monotonic()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            log.warning(
                "refusing requests to /slack/events without a valid Slack signature; if "
                "Slack's own are among them, check SLACK_SIGNING_SECRET (counted in "
                "ssm3_http_refused_total)"
            )
