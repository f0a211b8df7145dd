"""Who may change state from Slack, proved through signed requests: every state change (re-run,
ack, unack, manual sweep) checks permission before anything else, every refusal is told to the
person and written to the audit log (who, what, which association, channel, outcome), and user
groups are read through usergroups.users.list with a short cache that fails closed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.models import TrackedAssociation
from bot.settings.config import Settings
from bot.slack import blocks as kit
from bot.slack.permissions import Operators
from bot.slack.services import web_client
from tests.fakes.fixtures import GROUP, GROUPIE, OPERATOR
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import CHANNEL, Reply, SlackHarness, ack_values
from tests.support.sim import Sim
from tests.support.slack import failing, wait_response

Harness = Callable[..., SlackHarness]
NOBODY = "U0NOBODY01"


def _modal_submission(h: SlackHarness, item: TrackedAssociation, user: str) -> Reply:
    """A view_submission for the acknowledgement modal (as if its form had been opened)."""
    response_url = h.fake.new_response_url()
    context = kit.AckContext(item.key, CHANNEL, None, response_url)
    view = kit.ack_modal(item, context).to_dict()
    reply = h.submit_view(view, ack_values("OPS-1"), user=user)
    return Reply(reply.status, reply.body, response_url)


# Each way of asking for a state change: (name, audit action, names an association, request).
REQUESTS: list[tuple[str, str, bool, Callable[[SlackHarness, TrackedAssociation, str], Reply]]] = [
    ("rerun button", "rerun", True, lambda h, t, u: h.click(kit.ACTION_RERUN, kit.key_value(t.key), user=u)),
    ("rerun command", "rerun", True, lambda h, t, u: h.command(f"rerun {t.key.association_id}", user=u)),
    ("ack button", "ack", True, lambda h, t, u: h.click(kit.ACTION_ACK, kit.key_value(t.key), user=u)),
    ("ack command", "ack", True, lambda h, t, u: h.command(f"ack {t.key.association_id} for 2d OPS-1", user=u)),
    ("ack form", "ack", True, _modal_submission),
    ("unack command", "unack", True, lambda h, t, u: h.command(f"unack {t.key.association_id}", user=u)),
    ("sweep command", "sweep", False, lambda h, t, u: h.command("sweep", user=u)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("action", "names_association", "request_"),
    [pytest.param(a, n, r, id=name) for name, a, n, r in REQUESTS],
)
def test_a_state_change_by_someone_not_allowed_is_refused_audited_and_changes_nothing(  # noqa: PLR0917
    make_harness: Harness,
    fake_slack: FakeSlack,
    sim: Sim,
    action: str,
    names_association: bool,
    request_: Callable[[SlackHarness, TrackedAssociation, str], Reply],
) -> None:
    h = make_harness()
    store = h.services.store
    item = failing(h)
    if action == "unack":  # something to reopen
        store.acks.acknowledge(
            item.key, by=OPERATOR, reason="r", until=None, now=h.services.clock()
        )
    before = store.sweeps.last(finished=False)
    sim.fleet.reset_calls()

    reply = request_(h, item, NOBODY)
    assert reply.status == 200
    assert reply.body == b""  # nothing promised before the permission check
    answers = wait_response(fake_slack, reply.response_url)
    assert answers[-1]["response_type"] == "ephemeral"
    assert answers[-1]["text"].startswith("Only operators may ")
    assert "SSM3_OPERATORS" in answers[-1]["text"]

    [entry] = store.audit.entries()
    assert (entry.actor, entry.action, entry.outcome, entry.channel) == (
        NOBODY,
        action,
        "refused",
        CHANNEL,
    )
    assert entry.detail is not None
    assert "Only operators" in entry.detail
    if names_association:
        assert (entry.account_id, entry.region, entry.association_id) == (
            item.key.account_id,
            item.key.region,
            item.key.association_id,
        )
    # Nothing changed: no re-run, no ack (or the existing one kept), no sweep, no form.
    assert sim.fleet.call_count("StartAssociationsOnce") == 0
    assert sim.fleet.call_count("ListAssociations") == 0
    acks = store.acks.active()
    assert (next(iter(acks.values())).by if acks else None) == (
        OPERATOR if action == "unack" else None
    )
    assert store.sweeps.last(finished=False) == before
    assert fake_slack.calls_to("views.open") == []


def test_permission_comes_before_the_look_up(make_harness: Harness, fake_slack: FakeSlack) -> None:
    """A refused user learns nothing about the association, and the ID they typed is kept."""
    h = make_harness()
    typed = h.command("rerun 3f1c2d3e-1111-4222-8333-444455556666", user=NOBODY)
    [answer] = wait_response(fake_slack, typed.response_url)
    assert answer["text"].startswith("Only operators may re-run associations.")
    [entry] = h.services.store.audit.entries()
    assert entry.association_id is None
    assert entry.detail is not None
    assert entry.detail.startswith("3f1c2d3e-1111-4222-8333-444455556666: Only operators")


def test_without_operators_nobody_may_rerun_and_anyone_may_sweep_and_acknowledge(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness(operators=())
    item = failing(h)
    refused = h.command(f"rerun {item.key.association_id}", user=NOBODY)
    [answer] = wait_response(fake_slack, refused.response_url)
    assert "no operators are configured" in answer["text"]
    assert "set SSM3_OPERATORS" in answer["text"]

    swept = h.command("sweep", user=NOBODY)
    answer = wait_response(fake_slack, swept.response_url, count=2)[-1]
    assert answer["text"].startswith("Sweep finished")
    acked = h.command(f"ack {item.key.association_id} known", user=NOBODY)
    wait_response(fake_slack, acked.response_url)
    reopened = h.command(f"unack {item.key.association_id}", user=NOBODY)
    wait_response(fake_slack, reopened.response_url)
    outcomes = [(e.action, e.outcome) for e in reversed(h.services.store.audit.entries())]
    assert outcomes == [
        ("rerun", "refused"),
        ("sweep", "started"),
        ("sweep", "done"),
        ("ack", "acknowledged"),
        ("unack", "reopened"),
    ]
    assert sim.fleet.call_count("StartAssociationsOnce") == 0


def test_operators_may_do_everything(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness()
    item = failing(h)
    for user in (OPERATOR, GROUPIE):  # by user ID, and through the user group
        swept = h.command("sweep", user=user)
        answer = wait_response(fake_slack, swept.response_url, count=2)[-1]
        assert answer["text"].startswith("Sweep finished")
    acked = h.command(f"ack {item.key.association_id} for 1d OPS-2", user=GROUPIE)
    [answer] = wait_response(fake_slack, acked.response_url)
    assert answer["response_type"] == "in_channel"
    assert not [e for e in h.services.store.audit.entries() if e.outcome == "refused"]


# -- user groups ---------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_group_members_are_cached_briefly_and_read_again_after_expiry(
    fake_slack: FakeSlack,
) -> None:
    clock = Clock()
    client = web_client(
        Settings(slack_bot_token=fake_slack.token, slack_api_url=fake_slack.api_url)
    )
    operators = Operators((OPERATOR, GROUP), client, ttl_s=60, monotonic=clock)

    def lookups() -> int:
        return len(fake_slack.calls_to("usergroups.users.list"))

    assert operators.may_rerun(OPERATOR).allowed  # a listed user needs no look-up
    assert lookups() == 0
    assert operators.may_rerun(GROUPIE).allowed
    assert not operators.may_rerun(NOBODY).allowed
    assert lookups() == 1  # the second question was answered from the cache
    [call] = fake_slack.calls_to("usergroups.users.list")
    assert call.params["usergroup"] == GROUP

    # Membership changes in Slack: seen only once the cache expires.
    fake_slack.usergroups[GROUP] = [NOBODY]
    clock.now += 59
    assert operators.may_rerun(GROUPIE).allowed
    assert lookups() == 1
    clock.now += 2
    assert not operators.may_rerun(GROUPIE).allowed
    assert operators.may_rerun(NOBODY).allowed
    assert lookups() == 2


def test_an_unreadable_user_group_fails_closed_with_a_clear_message(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness()
    item = failing(h)
    fake_slack.fail("usergroups.users.list", status=200, error="missing_scope", times=None)

    clicked = h.click(kit.ACTION_RERUN, kit.key_value(item.key), user=GROUPIE)
    [answer] = wait_response(fake_slack, clicked.response_url)
    text: str = answer["text"]
    assert text.startswith("Only operators may re-run associations, and I could not check")
    assert f"user group {GROUP} (Slack answered missing_scope)" in text
    assert "usergroups:read" in text
    assert sim.fleet.call_count("StartAssociationsOnce") == 0
    [entry] = h.services.store.audit.entries()
    assert (entry.actor, entry.action, entry.outcome) == (GROUPIE, "rerun", "refused")
    assert "missing_scope" in (entry.detail or "")

    # Acknowledging (operators only, as they are configured) fails closed the same way.
    again = h.click(kit.ACTION_ACK, kit.key_value(item.key), user=GROUPIE)
    [answer] = wait_response(fake_slack, again.response_url)
    assert "could not check whether you are in user group" in answer["text"]
    assert fake_slack.calls_to("views.open") == []

    # A failure is not cached: once Slack answers again, the member is let through.
    fake_slack.clear_failures()
    third = h.click(kit.ACTION_RERUN, kit.key_value(item.key), user=GROUPIE, ephemeral=True)
    fake_slack.wait_for(
        lambda: any(
            p.get("response_type") == "in_channel"
            for p in _responses(fake_slack, third.response_url)
        )
    )
    assert sim.fleet.call_count("StartAssociationsOnce") == 1


def _responses(fake: FakeSlack, url: str | None) -> list[dict[str, Any]]:
    url_id = (url or "").rsplit("/", 1)[-1]
    return [payload for uid, payload in fake.responses if uid == url_id]
