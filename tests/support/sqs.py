"""A real SQS for the real-time tests: moto's server on a loopback port (started once a test
session), reached through AWS_ENDPOINT_URL_SQS as boto3 defines it, with an events queue whose
redrive policy sends what the bot leaves undeleted to a dead-letter queue."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tests.support.processes import free_port

ACCOUNT = "123456789012"  # moto's default account
REGION = "eu-west-1"


@dataclass
class Queue:
    """An events queue and its dead-letter queue on the moto server."""

    endpoint_url: str
    name: str
    url: str  # as the bot is configured with it: the AWS form, which names the region
    dlq_url: str

    def client(self) -> Any:
        return boto3.client(
            "sqs",
            region_name=REGION,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="AKIATESTSQS000000000",
            aws_secret_access_key="test-secret",
        )

    def send(self, body: str | dict[str, Any]) -> str:
        """Queue one message; its MessageId."""
        text = body if isinstance(body, str) else json.dumps(body)
        reply = self.client().send_message(QueueUrl=self.url, MessageBody=text)
        return str(reply["MessageId"])

    def send_many(self, bodies: list[dict[str, Any]]) -> None:
        client = self.client()
        for start in range(0, len(bodies), 10):
            entries = [
                {"Id": str(n), "MessageBody": json.dumps(body)}
                for n, body in enumerate(bodies[start : start + 10])
            ]
            reply = client.send_message_batch(QueueUrl=self.url, Entries=entries)
            assert not reply.get("Failed"), reply

    def counts(self, url: str | None = None) -> tuple[int, int]:
        """(visible, in flight) messages of the queue (or of `url`)."""
        attributes = self.client().get_queue_attributes(
            QueueUrl=url or self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )

    def dead_letters(self) -> int:
        visible, in_flight = self.counts(self.dlq_url)
        return visible + in_flight

    def wait_dead_letters(self, n: int, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while (found := self.dead_letters()) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"{found} message(s) reached the dead-letter queue, not {n}")
            time.sleep(0.05)  # polling the queue's own count, with a deadline
        return found


class MotoSqs:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"

    def queue(
        self, *, visibility_s: int = 1, max_receives: int = 1, name: str | None = None
    ) -> Queue:
        """A fresh events queue (short visibility, redrive after `max_receives`) and its DLQ;
        `name`: the queue's (default: a fresh one, so tests sharing the server never meet)."""
        client = boto3.client(
            "sqs",
            region_name=REGION,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="AKIATESTSQS000000000",
            aws_secret_access_key="test-secret",
        )
        name = name or f"ssm3-events-{uuid.uuid4().hex[:8]}"
        dlq = client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        client.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(visibility_s),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}
                ),
            },
        )
        aws_form = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
        return Queue(self.endpoint_url, name, aws_form, dlq)

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture(scope="session")
def moto_sqs() -> Iterator[MotoSqs]:
    server = MotoSqs()
    yield server
    server.stop()


@pytest.fixture
def events_queue(moto_sqs: MotoSqs, monkeypatch: pytest.MonkeyPatch) -> Queue:
    """A fresh events queue; boto3 in this process reaches moto through AWS_ENDPOINT_URL_SQS."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_sqs.endpoint_url)
    return moto_sqs.queue()
