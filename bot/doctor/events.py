"""doctor's real-time checks (SSM3_EVENTS_QUEUE_URL set): the queue answers GetQueueAttributes
with the bot's own credentials, and has a dead-letter queue for what the bot leaves undeleted."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.aws.errors import (
    AWS_ERRORS,
    EVENTS_CENTRAL_STACK,
    EVENTS_POLICY,
    describe_error,
    error_code,
    is_denied,
)
from bot.aws.session import AwsAccess
from bot.doctor.checks import Check
from bot.settings.config import Settings

if TYPE_CHECKING:
    from mypy_boto3_sqs.literals import QueueAttributeFilterType

SECTION = "Real time"
CENTRAL_STACK = EVENTS_CENTRAL_STACK
# A burst is drained for up to 5 s and then re-read: a message must stay hidden that long.
MIN_VISIBILITY_S = 30
ATTRIBUTES: list[QueueAttributeFilterType] = [
    "QueueArn",
    "ApproximateNumberOfMessages",
    "RedrivePolicy",
    "VisibilityTimeout",
]


def events_checks(settings: Settings, make_access: Callable[[], AwsAccess]) -> list[Check]:
    """Nothing when no queue is configured; else whether the poller could use it."""
    url = settings.events_queue_url
    if not url:
        return []
    try:
        client = make_access().sqs(settings.events_queue_region, read_timeout_s=10)
        try:
            reply = client.get_queue_attributes(QueueUrl=url, AttributeNames=ATTRIBUTES)
            attributes: dict[str, str] = {str(k): str(v) for k, v in reply["Attributes"].items()}
        finally:
            client.close()
    except AWS_ERRORS as exc:
        return [judge_queue_error(url, exc)]
    return judge_queue(url, attributes)


def judge_queue(url: str, attributes: dict[str, str]) -> list[Check]:
    name = url.rstrip("/").rsplit("/", 1)[-1]
    waiting = attributes.get("ApproximateNumberOfMessages", "?")
    checks = [Check(SECTION, "pass", f"events queue {name} answers ({waiting} message(s) waiting)")]
    redrive = attributes.get("RedrivePolicy")
    target = json.loads(redrive).get("deadLetterTargetArn") if redrive else None
    if not target:
        checks.append(
            Check(
                SECTION,
                "warn",
                f"events queue {name} has no dead-letter queue: an unusable message is offered "
                "to the bot again and again until it expires",
                f"give it a redrive policy ({CENTRAL_STACK} creates one)",
            )
        )
    else:
        checks.append(
            Check(SECTION, "pass", f"unusable messages go to {target.rsplit(':', 1)[-1]}")
        )
    visibility = int(attributes.get("VisibilityTimeout", "30") or 30)
    if visibility < MIN_VISIBILITY_S:
        checks.append(
            Check(
                SECTION,
                "warn",
                f"events queue {name} hides a received message for {visibility}s only: a burst "
                "may be offered twice while it is re-read (harmless, but twice the reads)",
                f"set its VisibilityTimeout to {MIN_VISIBILITY_S}s or more",
            )
        )
    return checks


def judge_queue_error(url: str, exc: BaseException) -> Check:
    code = error_code(exc)
    if is_denied(exc):
        return Check(
            SECTION,
            "fail",
            f"the bot may not read the events queue ({describe_error(exc)})",
            f"attach {EVENTS_POLICY} to the bot's identity, naming the queue's ARN",
        )
    if code in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
        return Check(
            SECTION,
            "fail",
            f"no queue at {url}",
            f"check SSM3_EVENTS_QUEUE_URL (the queue {CENTRAL_STACK} creates is in its outputs)",
        )
    return Check(
        SECTION,
        "fail",
        f"cannot reach the events queue ({describe_error(exc)})",
        "check network access to SQS (proxy, VPC endpoint) and AWS_ENDPOINT_URL_SQS; the "
        "poller retries meanwhile, and sweeps go on without it",
    )
