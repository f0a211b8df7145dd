"""The SQS loop inside `serve` (SSM3_EVENTS_QUEUE_URL): long-poll, read a burst, hand it to the
real-time use case (bot/app/realtime.py), delete what it judged done.

- ReceiveMessage with WaitTimeSeconds=20 and MaxNumberOfMessages=10: one call a 20 s while the
  queue is quiet. When a receive brings messages, the queue is drained for a moment more
  (at most DRAIN_S seconds and DRAIN_MAX messages, without waiting), so a burst of events is
  one burst of re-reads: each account-region at most once.
- Each body is read (bot/aws/eventbridge.py) as it arrives and dropped; only what it claims
  is kept, so a burst of 256 KB bodies costs no memory to speak of.
- What the use case judged done is deleted (DeleteMessageBatch, 10 a call); an unusable
  message is left for the queue's redrive policy to move to the dead-letter queue, and one
  whose re-read failed comes round again after its visibility timeout.
- A queue that cannot be reached (no route, AccessDenied, throttling) is retried with an
  exponential backoff capped at MAX_BACKOFF_S (30 s), with jitter; `health()` says so for
  /healthz. Nothing raised inside the loop ends it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.app.realtime import OUTCOMES, Message, Verdict
from bot.aws.errors import AWS_ERRORS, describe_error
from bot.aws.eventbridge import classify
from bot.ops.metrics import Metrics

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger(__name__)

WAIT_S = 20  # SQS's longest long poll
BATCH = 10  # SQS's most messages a receive
DRAIN_S = 5.0
DRAIN_MAX = 1000
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0

Handler = Callable[[Sequence[Message]], list[Verdict]]


@dataclass(frozen=True)
class PollerHealth:
    ok: bool
    detail: str


class EventPoller:
    """Polls one queue on a daemon thread of its own; `start()`, `stop()`, `health()`."""

    def __init__(
        self,
        *,
        queue_url: str,
        client: Callable[[], SQSClient],
        handle: Handler,
        wait_s: int = WAIT_S,
        drain_s: float = DRAIN_S,
        drain_max: int = DRAIN_MAX,
        first_backoff_s: float = FIRST_BACKOFF_S,
        max_backoff_s: float = MAX_BACKOFF_S,
        metrics: Metrics | None = None,
    ) -> None:
        self.queue_url = queue_url
        self._make_client = client
        self._client: SQSClient | None = None
        self._handle = handle
        self.wait_s = wait_s
        self.drain_s = drain_s
        self.drain_max = drain_max
        self.first_backoff_s = first_backoff_s
        self.max_backoff_s = max_backoff_s
        self.metrics = metrics
        if metrics is not None:  # every outcome on /metrics from the start, at 0
            for outcome in OUTCOMES:
                metrics.events.labels(outcome=outcome)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self.receive_errors = 0
        self.bursts = 0
        self.receives = 0
        self._failures = 0  # consecutive failed receives
        self._error: str | None = None
        self._last_receive: float | None = None  # monotonic time of the last good receive

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> EventPoller:
        self._thread = threading.Thread(target=self.run, name="ssm3-events", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the loop to end; it ends when its current receive returns (at most wait_s)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        """The loop: poll until stopped; every fault is logged and waited out, never raised."""
        while not self._stop.is_set():
            try:
                self.poll_once()
            except AWS_ERRORS as exc:
                self._stop.wait(self._receive_failed(exc))
            except Exception:  # a bug must not end real time for the life of the process
                log.exception("the event poller failed; polling again shortly")
                self._stop.wait(self.first_backoff_s)

    # -- one burst ----------------------------------------------------------------------------
    def poll_once(self) -> int:
        """Receive (long poll), drain the burst, judge it, delete what is done; the number of
        messages received. AWS errors on receive are raised (the loop backs off)."""
        burst = self._receive(self.wait_s)
        self._received_ok()
        if not burst:
            return 0
        started = time.monotonic()
        while len(burst) < self.drain_max and time.monotonic() - started < self.drain_s:
            more = self._receive(0)
            if not more:
                break
            burst.extend(more)
        verdicts = self._handle(burst)
        self.bursts += 1
        receipts = {m.receipt_handle: m.receive_count for m in burst}
        for verdict in verdicts:
            if verdict.outcome == "unusable" and receipts.get(verdict.receipt_handle, 1) > 1:
                continue  # counted on its first receipt already
            self._count(verdict.outcome)
        self._delete([v for v in verdicts if v.delete])
        return len(burst)

    def _receive(self, wait_s: int) -> list[Message]:
        self.receives += 1
        reply = self._sqs().receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=BATCH,
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        return [_message(raw) for raw in reply.get("Messages", [])]

    def _delete(self, verdicts: Sequence[Verdict]) -> None:
        for start in range(0, len(verdicts), BATCH):
            chunk = verdicts[start : start + BATCH]
            entries = [
                {"Id": str(n), "ReceiptHandle": v.receipt_handle} for n, v in enumerate(chunk)
            ]
            try:
                reply = self._sqs().delete_message_batch(QueueUrl=self.queue_url, Entries=entries)  # type: ignore[arg-type]
            except AWS_ERRORS as exc:
                # They come round again after their visibility timeout; the ledger makes the
                # second handling alert nothing new.
                log.warning("could not delete %d event message(s): %s", len(chunk), exc)
                continue
            for failed in reply.get("Failed", []):
                log.warning(
                    "could not delete event message %s: %s",
                    chunk[int(failed["Id"])].message_id,
                    failed.get("Code"),
                )

    def _sqs(self) -> SQSClient:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    # -- state --------------------------------------------------------------------------------
    def _count(self, outcome: str) -> None:
        with self._lock:
            self.counts[outcome] = self.counts.get(outcome, 0) + 1
        if self.metrics is not None:
            self.metrics.events.labels(outcome=outcome).inc()

    def _received_ok(self) -> None:
        with self._lock:
            if self._failures:
                log.info(
                    "the events queue answers again after %d failed receive(s)", self._failures
                )
            self._failures = 0
            self._error = None
            self._last_receive = time.monotonic()

    def _receive_failed(self, exc: Exception) -> float:
        """Note a failed receive; the delay before the next (exponential, capped, jittered)."""
        with self._lock:
            self._failures += 1
            self.receive_errors += 1
            self._error = describe_error(exc) if isinstance(exc, ClientError) else str(exc)
            failures = self._failures
        if self.metrics is not None:
            self.metrics.events_receive_errors.inc()
        level = logging.WARNING if failures == 1 else logging.DEBUG
        log.log(level, "cannot receive from the events queue, retrying: %s", self._error)
        if isinstance(exc, BotoCoreError) and not isinstance(exc, ClientError):
            self._client = None  # a client that cannot connect is built anew
        delay = min(self.max_backoff_s, self.first_backoff_s * 2.0 ** (failures - 1))
        return float(delay * random.uniform(0.5, 1.0))  # jitter

    def health(self) -> PollerHealth:
        """ok while the last receive succeeded (or none has been tried yet)."""
        with self._lock:
            if self._error is not None:
                return PollerHealth(
                    False,
                    f"events queue unreachable ({self._failures} failed receive(s) in a row): "
                    f"{self._error}",
                )
            if not self.running and self._thread is not None:
                return PollerHealth(False, "the events poller has stopped")
            if self._last_receive is None:
                return PollerHealth(True, "events queue: not polled yet")
            age = time.monotonic() - self._last_receive
            return PollerHealth(True, f"events queue: last receive {age:.0f}s ago")


def _message(raw: Any) -> Message:
    attributes = raw.get("Attributes") or {}
    try:
        count = int(attributes.get("ApproximateReceiveCount", "1"))
    except ValueError:
        count = 1
    return Message(
        message_id=str(raw.get("MessageId", "?")),
        receipt_handle=str(raw.get("ReceiptHandle", "")),
        event=classify(raw.get("Body") or ""),
        receive_count=count,
    )
