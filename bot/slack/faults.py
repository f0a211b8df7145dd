"""How the app meets Slack's own faults.

- HTTP 429 waits for Retry-After and 5xx (500, 502, 503, 504: Slack's edge answers 502 and 504
  too) is retried with backoff, by slack_sdk's retry handlers on every WebClient and every
  response_url (`bot.slack.services.retry_handlers`).
- files_upload_v2 sends the file itself to an upload URL with plain urllib, outside those
  handlers; `retrying_upload` repeats the whole upload when that step meets a 429 or a 5xx.
- A refused bot token (invalid_auth, token_revoked, …) is one clear ERROR line that names
  SLACK_BOT_TOKEN and never the token, at most once a minute however many calls fail.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import urllib.error
from collections.abc import Callable
from typing import TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

log = logging.getLogger(__name__)

T = TypeVar("T")
SERVER_ERRORS = frozenset({500, 502, 503, 504})
# What Slack answers when the bot token itself is no good.
TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)
ALARM_EVERY_S = 60.0
UPLOAD_ATTEMPTS = 4


class ServerErrorsRetryHandler(RetryHandler):
    """slack_sdk's ServerErrorRetryHandler retries 500 and 503 only; Slack's edge also
    answers 502 and 504 when it is having a bad moment."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in SERVER_ERRORS


def retrying_upload(
    upload: Callable[[], T],
    *,
    attempts: int = UPLOAD_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `upload` (a files_upload_v2 call) again when its upload step got a 429 or a 5xx."""
    for attempt in range(1, attempts + 1):
        try:
            return upload()
        except urllib.error.HTTPError as exc:
            if attempt == attempts or (exc.code != 429 and exc.code not in SERVER_ERRORS):
                raise
            retry_after = exc.headers.get("Retry-After") if exc.headers else None
            wait = (
                float(retry_after)
                if retry_after and retry_after.isdigit()
                else 0.5 * 2 ** (attempt - 1)
            )
            log.warning("file upload answered HTTP %s; trying again in %.1fs", exc.code, wait)
            sleep(wait + random.random() * 0.2)  # jitter, not cryptography
    raise AssertionError("unreachable")  # pragma: no cover


def slack_error(exc: BaseException) -> str | None:
    """Slack's error code for a refused Web API call (`invalid_auth`, …), else None."""
    if isinstance(exc, SlackApiError):
        error = exc.response.get("error")
        return str(error) if error else None
    return None


def token_refused(exc: BaseException) -> bool:
    return slack_error(exc) in TOKEN_ERRORS


class TokenAlarm:
    """The one log line for a refused bot token, not repeated within `every_s`."""

    def __init__(
        self, every_s: float = ALARM_EVERY_S, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._every_s = every_s
        self._monotonic = monotonic
        self._last: float | None = None
        self._lock = threading.Lock()

    def raise_(self, exc: BaseException) -> None:
        now = self._monotonic()
        with self._lock:
            if self._last is not None and now - self._last < self._every_s:
                return
            self._last = now
        log.error(
            "Slack refused the bot token (%s): SLACK_BOT_TOKEN is revoked, expired or wrong; "
            "set a valid bot token (xoxb-…) and restart ssm3-bot",
            slack_error(exc),
        )


TOKEN_ALARM = TokenAlarm()


def report(exc: BaseException, doing: str, logger: logging.Logger = log) -> None:
    """Log a failed Slack call: a refused token as the one alarm line, anything else a warning."""
    if token_refused(exc):
        TOKEN_ALARM.raise_(exc)
    else:
        logger.warning("Slack call failed while trying to %s: %s", doing, exc)
