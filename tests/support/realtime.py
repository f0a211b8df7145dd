"""The real-time pieces as `serve` wires them, in this process: the harness's Runner publishing
to the fake Slack, the poller on a moto queue (a short long-poll, so tests stop quickly), and a
way to make a failure in the simulator and the event AWS would send for it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.realtime.poller import EventPoller
from bot.realtime.wiring import build_poller
from bot.scheduling.runner import Runner
from bot.sim.events import instance_association_event
from bot.sim.fleet import Fleet, SimAssociation, failure_for
from tests.fakes.block_kit import texts
from tests.fakes.slack_api import FakeSlack, Message
from tests.fakes.slack_harness import CHANNEL

ALERT = "just started failing"


def start_poller(runner: Runner, *, wait_s: int = 1, **options: float) -> EventPoller:
    poller = build_poller(runner, wait_s=wait_s)
    assert poller is not None, "SSM3_EVENTS_QUEUE_URL is not set"
    for name, value in options.items():
        setattr(poller, name, value)
    return poller.start()


def healthy_associations(fleet: Fleet, account_id: str, region: str) -> list[SimAssociation]:
    scope = fleet.scope(account_id, region)
    return [
        a
        for a in scope.associations.values()
        if a.status == "Success" and a.sync_compliance == "AUTO"
    ]


def break_association(
    fleet: Fleet, association: SimAssociation, seed: int = 1
) -> dict[str, object]:
    """Make its next run fail on its first instance; the event State Manager sends.

    The run is dated a second ahead: the store keeps times to the second, and a streak is news
    only when it began after the scope's first sweep (in a test, often the same second)."""
    instance = association.instance_ids[0]
    failure = failure_for("permissions", association.document, random.Random(seed))
    fleet.run_association(
        association.association_id,
        failures={instance: failure},
        at=datetime.now(UTC) + timedelta(seconds=1),
    )
    return instance_association_event(fleet, association.association_id, instance)


def alerts(fake: FakeSlack, association: SimAssociation | None = None) -> list[Message]:
    """Alert messages in the channel (about `association`, when given)."""
    found = [
        m
        for m in fake.messages.values()
        if m.channel == CHANNEL and m.thread_ts is None and ALERT in (m.text or "")
    ]
    if association is None:
        return found
    name = association.name or association.association_id
    return [m for m in found if name in _text(m)]


def _text(message: Message) -> str:
    return "\n".join(text for _, text in texts(message.blocks)) + (message.text or "")
