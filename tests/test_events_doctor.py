"""doctor's real-time checks, against moto's SQS: the queue answers, has a dead-letter queue,
hides messages long enough; a missing or unreachable queue fails with what to do."""

from __future__ import annotations

from botocore.exceptions import ClientError

from bot.doctor.events import events_checks, judge_queue_error
from bot.settings.config import Settings
from tests.support.sim import Sim
from tests.support.sqs import MotoSqs, Queue


def test_no_queue_configured_means_no_check(sim: Sim) -> None:
    assert events_checks(Settings(), sim.access) == []


def test_a_good_queue_passes_and_a_short_visibility_is_a_warning(
    sim: Sim, events_queue: Queue
) -> None:
    checks = events_checks(Settings(events_queue_url=events_queue.url), sim.access)
    assert [(c.status, c.text) for c in checks] == [
        ("pass", f"events queue {events_queue.name} answers (0 message(s) waiting)"),
        ("pass", f"unusable messages go to {events_queue.name}-dlq"),
        (
            "warn",
            f"events queue {events_queue.name} hides a received message for 1s only: a burst "
            "may be offered twice while it is re-read (harmless, but twice the reads)",
        ),
    ]


def test_a_queue_without_a_dead_letter_queue_is_a_warning(
    sim: Sim, events_queue: Queue, moto_sqs: MotoSqs
) -> None:
    client = events_queue.client()
    client.create_queue(QueueName="no-redrive", Attributes={"VisibilityTimeout": "120"})
    url = events_queue.url.replace(events_queue.name, "no-redrive")
    [answers, redrive] = events_checks(Settings(events_queue_url=url), sim.access)
    assert answers.status == "pass"
    assert redrive.status == "warn"
    assert "no dead-letter queue" in redrive.text
    assert redrive.fix == "give it a redrive policy (iam/ssm3-events-central.yaml creates one)"


def test_a_missing_queue_fails_naming_the_variable(sim: Sim, events_queue: Queue) -> None:
    url = events_queue.url + "-gone"
    [check] = events_checks(Settings(events_queue_url=url), sim.access)
    assert check.status == "fail"
    assert check.text == f"no queue at {url}"
    assert check.fix is not None
    assert "SSM3_EVENTS_QUEUE_URL" in check.fix


def test_a_denied_queue_names_the_policy_to_attach() -> None:
    denied = ClientError(
        {
            "Error": {
                "Code": "AccessDenied",
                "Message": "not authorized to perform sqs:GetQueueAttributes",
            }
        },
        "GetQueueAttributes",
    )
    check = judge_queue_error(
        "https://sqs.eu-west-1.amazonaws.com/123456789012/ssm3-events", denied
    )
    assert check.status == "fail"
    assert (
        check.fix == "attach iam/ssm3-bot-events.json to the bot's identity, naming the queue's ARN"
    )
