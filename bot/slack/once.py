"""Act on each Slack request once.

Slack sends a request again when it did not get its HTTP 200 in time (HTTP mode: headers
X-Slack-Retry-Num and X-Slack-Retry-Reason; Socket Mode: the envelope's retry_attempt, which
Bolt turns into the same headers). Bolt itself runs every listener again for a retry, lazy ones
included, so a slow first answer would sweep twice or re-run twice. A signed request can also be
replayed by whoever captured it, for as long as its timestamp is accepted (5 minutes).

So every request is known by an identity Slack gives it (an event's event_id, an interaction's or
command's trigger_id; else its body's hash) and only the first arrival reaches the listeners; a
repeat is answered 200 with an empty body and logged. The middleware runs after Bolt verified
the signature, so an unsigned request can never claim an identity. Identities are remembered in
memory for longer than Slack retries and the signature window; a re-run is also guarded across
restarts by its cooldown in the store.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse

log = logging.getLogger(__name__)

REMEMBER_S = 900.0
CAPACITY = 50_000


class SeenRequests:
    """Identities of requests already accepted, forgotten after `remember_s`; thread-safe."""

    def __init__(
        self,
        *,
        remember_s: float = REMEMBER_S,
        capacity: int = CAPACITY,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._remember_s = remember_s
        self._capacity = capacity
        self._monotonic = monotonic
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, identity: str) -> bool:
        """True the first time `identity` is offered (within the memory), False after."""
        now = self._monotonic()
        with self._lock:
            while self._seen:
                oldest, at = next(iter(self._seen.items()))
                if now - at < self._remember_s and len(self._seen) < self._capacity:
                    break
                del self._seen[oldest]
            if identity in self._seen:
                return False
            self._seen[identity] = now
            return True


def identity(body: Any, raw_body: str) -> str:
    """What makes this request itself, kept across Slack's retries of it."""
    if isinstance(body, dict):
        for field in ("event_id", "trigger_id"):
            value = body.get(field)
            if isinstance(value, str) and value:
                return f"{field}:{value}"
    return "body:" + hashlib.sha256(raw_body.encode("utf-8", "replace")).hexdigest()


def middleware(seen: SeenRequests) -> Callable[..., BoltResponse]:
    """A Bolt global middleware that lets only the first arrival of a request through."""

    def once(
        req: BoltRequest, resp: BoltResponse, next_: Callable[[], BoltResponse]
    ) -> BoltResponse:
        if seen.first_time(identity(req.body, req.raw_body)):
            return next_()
        retry = _header(req, "x-slack-retry-num")
        reason = _header(req, "x-slack-retry-reason")
        log.info(
            "ignored a repeat of a Slack request already acted on (retry %s, %s)",
            retry or "none",
            reason or "no reason given",
        )
        return BoltResponse(status=200, body="")

    return once


def _header(req: BoltRequest, name: str) -> str | None:
    values = req.headers.get(name)
    return values[0] if values else None
