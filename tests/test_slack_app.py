"""The Slack app end to end: served by waitress on loopback, driven by correctly signed requests
for every subcommand, button and the modal, answering through the fake Web API, with the
simulator as AWS."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from bot.models import TrackedAssociation
from bot.sim.fleet import Fault
from bot.slack import blocks as kit
from bot.util.clock import utcnow
from tests.fakes.fixtures import GROUPIE, OPERATOR
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import CHANNEL, SlackHarness, ack_values
from tests.support.sim import Sim
from tests.support.slack import (
    MinuteClock,
    body_text,
    failing,
    post_digest,
    responses,
    wait_response,
)

Harness = Callable[..., SlackHarness]


# -- transport -----------------------------------------------------------------------------------
def test_bad_signature_and_stale_timestamp_get_401(
    make_harness: Harness, fake_slack: FakeSlack
) -> None:
    h = make_harness(sweep=False)
    body = urlencode({"command": "/ssm3", "text": "help", "user_id": "U0ALICE01"}).encode()
    assert h.post_signed(body, secret="not-the-signing-secret")[0] == 401
    assert h.post_signed(body, timestamp=int(time.time()) - 301)[0] == 401
    unsigned = h.request(
        "POST", "/slack/events", body, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert unsigned[0] == 401
    assert h.command("help").status == 200
    assert fake_slack.calls_to("response_url") == []


def test_healthz_and_unknown_paths(make_harness: Harness) -> None:
    h = make_harness()
    status, body = h.request("GET", "/healthz")
    assert status == 200
    health = json.loads(body)
    assert health["status"] == "ok"
    assert health["checks"]["database"]["ok"] is True
    assert health["last_sweep"].endswith("Z")
    assert health["sweep_stale"] is False
    assert h.request("GET", "/nothing")[0] == 404


def test_healthz_stays_200_when_aws_is_unreachable_and_says_the_sweep_is_stale(
    make_harness: Harness, sim: Sim
) -> None:
    """Liveness, not freshness: AWS being down must not get the process restarted. The
    document (and the ssm3_sweep_stale metric, and `ssm3bot health`) say what is wrong."""
    sim.fleet.inject(Fault("AccessDeniedException", "denied", operation="ListAssociations"))
    h = make_harness()
    status, body = h.request("GET", "/healthz")
    assert status == 200
    health = json.loads(body)
    assert health["status"] == "ok"
    assert health["sweep_stale"] is True
    assert "reached none of its 2 account-regions" in health["detail"][0]
    assert b"ssm3_sweep_stale 1.0" in h.request("GET", "/metrics")[1]


# -- commands that change nothing ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", None),
        ("help", None),
        ("  HELP  ", None),
        ("frobnicate now", "I don't know the command `frobnicate`."),
        ("history", "`history` needs an association ID"),
        ("rerun not-an-id", "`not-an-id` is not an association ID"),
        ("ack 3f1c2d3e-1111-4222-8333-444455556666 for 200d x", "at most 90 days"),
        (
            "status mars-north-9x",
            "is not an account ID, a region, an association ID or an instance ID",
        ),
        ("sweep everything", "`sweep` takes no more words"),
    ],
)
def test_help_and_mistakes_are_answered_in_the_ack(
    make_harness: Harness, fake_slack: FakeSlack, text: str, problem: str | None
) -> None:
    h = make_harness(sweep=False)
    reply = h.command(text)
    assert reply.status == 200
    answer = reply.json()
    assert answer["response_type"] == "ephemeral"
    shown = body_text(answer["blocks"])
    assert "`/ssm3 rerun ASSOCIATION_ID`" in shown
    if problem:
        assert ":warning:" in shown
        assert problem in shown
    else:
        assert ":warning:" not in shown


def test_status_all_and_every_filter(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness()
    store = h.services.store
    items = store.associations.tracked(failing_only=True)
    first = items[0]
    a = first.association

    every = h.command("status")
    [answer] = wait_response(fake_slack, every.response_url)
    assert answer["response_type"] == "ephemeral"
    shown = body_text(answer["blocks"])
    assert f"*{len(items)}* failing" in shown
    assert all(f"`{t.association.display_name}`" in shown for t in items)

    account = h.command(f"status {a.account_id}")
    [answer] = wait_response(fake_slack, account.response_url)
    shown = body_text(answer["blocks"])
    others = [t for t in items if t.key.account_id != a.account_id]
    assert f"`{a.display_name}`" in shown
    assert all(
        f"`{t.association.display_name}`" not in shown
        for t in others
        if t.association.association_name
    )

    region = h.command(f"status  {a.region.upper()} ")
    [answer] = wait_response(fake_slack, region.response_url)
    assert f"status of {a.region}" in body_text(answer["blocks"])

    instance = a.failed_targets[0].instance_id
    by_instance = h.command(f"status {instance}")
    [answer] = wait_response(fake_slack, by_instance.response_url)
    assert f"`{a.display_name}`" in body_text(answer["blocks"])

    arn = f"arn:aws:ssm:{a.region}:{a.account_id}:association/{a.association_id.upper()}"
    one = h.command(f"Status {arn}")
    [answer] = wait_response(fake_slack, one.response_url)
    shown = body_text(answer["blocks"])
    assert "Status *Failed*" in shown
    assert a.association_id in shown
    assert answer["blocks"][-1]["type"] == "actions"

    unknown = h.command("status 999999999999")
    [answer] = wait_response(fake_slack, unknown.response_url)
    assert "I know no association in account `999999999999`" in answer["text"]


def test_history_command_and_button(make_harness: Harness, fake_slack: FakeSlack, sim: Sim) -> None:
    h = make_harness()
    item = failing(h)
    _, simulated = sim.fleet.find_association(item.key.association_id)
    simulated.sync_compliance = "MANUAL"

    typed = h.command(f"history {item.key.association_id}")
    assert "Reading the history" in typed.json()["text"]
    [answer] = wait_response(fake_slack, typed.response_url)
    shown = body_text(answer["blocks"])
    assert answer["response_type"] == "ephemeral"
    assert answer["blocks"][0]["text"]["text"] == f"History: {item.association.display_name}"
    # The stored failure read again with SyncCompliance MANUAL: a re-run will not fix it.
    assert ":warning: *reported NON_COMPLIANT (SyncCompliance MANUAL)*" in shown
    assert "A re-run will not fix it" in shown
    assert "*Recent executions*" in shown
    assert "*Failed targets of the run at" in shown
    assert item.association.failed_targets[0].instance_id in shown
    assert "*Likely cause:*" in shown

    clicked = h.click(kit.ACTION_HISTORY, kit.key_value(item.key))
    assert clicked.status == 200
    assert clicked.body == b""
    [answer] = wait_response(fake_slack, clicked.response_url)
    assert answer["response_type"] == "ephemeral"
    assert answer["replace_original"] is False
    assert body_text(answer["blocks"]) == shown

    unknown = h.command("history 3f1c2d3e-1111-4222-8333-444455556666")
    [answer] = wait_response(fake_slack, unknown.response_url)
    assert "I don't know association `3f1c2d3e-1111-4222-8333-444455556666`" in answer["text"]


# -- re-run ----------------------------------------------------------------------------------------
def test_rerun_button_runs_once_updates_digest_and_follows_up(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness()
    item = failing(h)
    _, simulated = sim.fleet.find_association(item.key.association_id)
    simulated.fix_on_rerun = True
    post = post_digest(h)

    clicked = h.click(kit.ACTION_RERUN, kit.key_value(item.key), user=OPERATOR, message_ts=post.ts)
    assert clicked.status == 200
    thread = fake_slack.wait_for(
        lambda: (
            len(fake_slack.thread(CHANNEL, post.ts)) >= 2 and fake_slack.thread(CHANNEL, post.ts)
        )
    )
    assert (
        sim.fleet.call_count(
            "StartAssociationsOnce", account_id=item.key.account_id, region=item.key.region
        )
        == 1
    )
    started, checked = (body_text(m.blocks) for m in thread[:2])
    assert f"<@{OPERATOR}> re-ran `{item.association.display_name}`" in started
    assert "is COMPLIANT again after the re-run" in checked
    digest = fake_slack.message(CHANNEL, post.ts)
    assert digest.updates >= 2
    assert f"↻ Re-run by <@{OPERATOR}> at <!date^" in body_text(digest.blocks)
    assert "back to Success" in body_text(digest.blocks)

    entries = h.services.store.audit.entries()
    assert [(e.action, e.outcome) for e in reversed(entries)] == [
        ("rerun", "started"),
        ("rerun_check", "compliant"),
    ]
    assert entries[-1].actor == OPERATOR
    assert entries[-1].channel == CHANNEL

    again = h.click(kit.ACTION_RERUN, kit.key_value(item.key), user=GROUPIE, message_ts=post.ts)
    [answer] = wait_response(fake_slack, again.response_url)
    assert f"was already re-run by <@{OPERATOR}>" in answer["text"]
    assert sim.fleet.call_count("StartAssociationsOnce") == 1
    latest = h.services.store.audit.entries(limit=1)[0]
    assert (latest.actor, latest.action, latest.outcome) == (GROUPIE, "rerun", "refused")
    assert "cooldown" in (latest.detail or "")


@pytest.mark.parametrize(
    ("operators", "user", "allowed"),
    [
        ((OPERATOR,), OPERATOR, True),
        ((OPERATOR, "S0OPSTEAM1"), GROUPIE, True),
        ((OPERATOR, "S0OPSTEAM1"), "U0NOBODY01", False),
        ((), OPERATOR, False),
    ],
)
def test_rerun_permissions(  # noqa: PLR0917  # fixtures plus parameters
    make_harness: Harness,
    fake_slack: FakeSlack,
    sim: Sim,
    operators: tuple[str, ...],
    user: str,
    allowed: bool,
) -> None:
    h = make_harness(operators=operators)
    item = failing(h)
    clicked = h.click(kit.ACTION_RERUN, kit.key_value(item.key), user=user, ephemeral=True)
    if allowed:
        fake_slack.wait_for(
            lambda: any(
                p.get("response_type") == "in_channel"
                for p in responses(fake_slack, clicked.response_url)
            )
        )
        assert sim.fleet.call_count("StartAssociationsOnce") == 1
        return
    [answer] = wait_response(fake_slack, clicked.response_url)
    if operators:
        assert answer["text"].startswith("Only operators may re-run associations.")
    else:
        assert "no operators are configured" in answer["text"]
        assert "SSM3_OPERATORS" in answer["text"]
    assert sim.fleet.call_count("StartAssociationsOnce") == 0
    [entry] = h.services.store.audit.entries()
    assert (entry.actor, entry.action, entry.outcome) == (user, "rerun", "refused")
    assert entry.association_id == item.key.association_id


def test_rerun_command_asks_first(make_harness: Harness, fake_slack: FakeSlack, sim: Sim) -> None:
    h = make_harness()
    item = failing(h)
    typed = h.command(f"rerun {item.key.association_id}", user=OPERATOR)
    [answer] = wait_response(fake_slack, typed.response_url)
    assert answer["response_type"] == "ephemeral"
    buttons = answer["blocks"][-1]["elements"]
    assert [b["action_id"] for b in buttons] == [kit.ACTION_RERUN, kit.ACTION_CANCEL]
    assert sim.fleet.call_count("StartAssociationsOnce") == 0

    cancel = h.click(kit.ACTION_CANCEL, buttons[1]["value"], user=OPERATOR, ephemeral=True)
    assert wait_response(fake_slack, cancel.response_url) == [{"delete_original": True}]

    confirm = h.click(kit.ACTION_RERUN, buttons[0]["value"], user=OPERATOR, ephemeral=True)
    answers = wait_response(fake_slack, confirm.response_url, count=3)
    assert answers[0] == {"delete_original": True}
    assert answers[1]["response_type"] == "in_channel"
    assert "re-ran" in answers[1]["text"]
    assert "re-run" in answers[2]["text"].lower()  # the follow-up check
    assert sim.fleet.call_count("StartAssociationsOnce") == 1


def healthy(h: SlackHarness) -> TrackedAssociation:
    return next(t for t in h.services.store.associations.tracked() if not t.association.failing)


@pytest.mark.parametrize("sync", ["MANUAL", "AUTO"])
def test_rerun_confirmation_of_an_association_not_failing_asks_aws_for_sync_compliance(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim, sync: str
) -> None:
    """The store keeps SyncCompliance for failing associations only: for another, AWS says."""
    h = make_harness()
    item = healthy(h)
    _, simulated = sim.fleet.find_association(item.key.association_id)
    simulated.sync_compliance = sync
    typed = h.command(f"rerun {item.key.association_id}", user=OPERATOR)
    [answer] = wait_response(fake_slack, typed.response_url)
    warned = "SyncCompliance is MANUAL: a re-run cannot change its compliance"
    assert (warned in body_text(answer["blocks"])) is (sync == "MANUAL")
    assert sim.fleet.call_count("StartAssociationsOnce") == 0


def test_rerun_confirmation_of_a_failing_association_goes_by_the_stored_kind(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness()
    item = failing(h)
    assert item.association.failure_kind == "execution"
    described = sim.fleet.call_count("DescribeAssociation")
    typed = h.command(f"rerun {item.key.association_id}", user=OPERATOR)
    [answer] = wait_response(fake_slack, typed.response_url)
    assert "will not" not in body_text(answer["blocks"])
    assert answer["blocks"][-1]["elements"][0]["text"]["text"] == "Re-run now"
    assert sim.fleet.call_count("DescribeAssociation") == described


def test_rerun_confirmation_still_asks_when_aws_cannot_say(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness()
    item = healthy(h)
    sim.fleet.inject(Fault("AccessDeniedException", "no", operation="DescribeAssociation"))
    typed = h.command(f"rerun {item.key.association_id}", user=OPERATOR)
    [answer] = wait_response(fake_slack, typed.response_url)
    assert [b["action_id"] for b in answer["blocks"][-1]["elements"]] == [
        kit.ACTION_RERUN,
        kit.ACTION_CANCEL,
    ]


def test_a_refusal_for_an_unknown_id_records_the_id_typed(
    make_harness: Harness, fake_slack: FakeSlack
) -> None:
    clock = MinuteClock()  # each refusal its own audit row
    h = make_harness(clock=clock)
    unknown = "3f1c2d3e-1111-4222-8333-444455556666"
    for text in (f"rerun {unknown}", f"unack {unknown}", f"ack {unknown} for 1d OPS-1"):
        wait_response(fake_slack, h.command(text, user=OPERATOR).response_url)
        clock.step()
    entries = h.services.store.audit.entries()
    assert [(e.action, e.outcome, e.association_id) for e in reversed(entries)] == [
        ("rerun", "refused", None),
        ("unack", "refused", None),
        ("ack", "refused", None),
    ]
    assert all(e.detail == f"{unknown}: unknown association" for e in entries)


# -- acknowledge -----------------------------------------------------------------------------------
def test_ack_button_modal_and_submission(make_harness: Harness, fake_slack: FakeSlack) -> None:
    h = make_harness()
    item = failing(h)
    post = post_digest(h)
    store = h.services.store

    clicked = h.click(kit.ACTION_ACK, kit.key_value(item.key), user=OPERATOR, message_ts=post.ts)
    assert clicked.status == 200
    [opened] = fake_slack.wait_for(lambda: fake_slack.calls_to("views.open", ok=True))
    view = opened.params["view"]
    assert view["callback_id"] == kit.ACK_MODAL

    blank = h.submit_view(view, ack_values("   "), user=OPERATOR)
    assert blank.json() == {
        "response_action": "errors",
        "errors": {"reason": "Say why it may stay failing for now (a ticket, a planned fix)."},
    }
    past = h.submit_view(view, ack_values("OPS-7", date="2020-01-01"), user=OPERATOR)
    assert past.json()["errors"] == {"until": "Pick a date after today."}
    far = (utcnow() + timedelta(days=120)).date().isoformat()
    assert h.submit_view(view, ack_values("OPS-7", date=far), user=OPERATOR).json()["errors"] == {
        "until": "At most 90 days ahead."
    }
    assert store.acks.active() == {}

    done = h.submit_view(
        view, ack_values("Patch window Saturday, OPS-7", preset="14d"), user=OPERATOR
    )
    assert done.status == 200
    assert done.body == b""
    [announced] = fake_slack.wait_for(lambda: fake_slack.thread(CHANNEL, post.ts))
    assert f"<@{OPERATOR}> acknowledged `{item.association.display_name}`" in body_text(
        announced.blocks
    )
    [ack] = store.acks.active().values()
    assert ack.by == OPERATOR
    assert ack.reason == "Patch window Saturday, OPS-7"
    assert ack.until is not None
    assert timedelta(days=13, hours=23) < ack.until - utcnow() <= timedelta(days=14)
    digest = fake_slack.wait_for(
        lambda: (
            fake_slack.message(CHANNEL, post.ts).updates and fake_slack.message(CHANNEL, post.ts)
        )
    )
    assert "*Acknowledged (1)*" in body_text(digest.blocks)
    [entry] = store.audit.entries()
    assert (entry.actor, entry.action, entry.outcome) == (OPERATOR, "ack", "acknowledged")


def test_ack_and_unack_commands(make_harness: Harness, fake_slack: FakeSlack) -> None:
    h = make_harness()
    item = failing(h)
    store = h.services.store
    aid = item.key.association_id

    typed = h.command(f"ACK   {aid} for 2w  Vendor fix due, OPS-9", user=OPERATOR)
    [answer] = wait_response(fake_slack, typed.response_url)
    assert answer["response_type"] == "in_channel"
    [ack] = store.acks.active().values()
    assert ack.reason == "Vendor fix due, OPS-9"
    assert ack.until is not None
    assert timedelta(days=13, hours=23) < ack.until - utcnow() <= timedelta(days=14)

    refused = h.command(f"unack {aid}", user="U0NOBODY01")
    [answer] = wait_response(fake_slack, refused.response_url)
    assert answer["response_type"] == "ephemeral"
    assert "Only operators" in answer["text"]
    assert store.acks.active()

    reopened = h.command(f"unack {aid}", user=OPERATOR)
    [answer] = wait_response(fake_slack, reopened.response_url)
    assert answer["response_type"] == "in_channel"
    assert "reopened" in answer["text"]
    assert store.acks.active() == {}

    again = h.command(f"unack {aid}", user=OPERATOR)
    [answer] = wait_response(fake_slack, again.response_url)
    assert answer["response_type"] == "ephemeral"
    assert "was not acknowledged" in answer["text"]
    actions = [(e.actor, e.action, e.outcome) for e in reversed(store.audit.entries())]
    assert actions == [
        (OPERATOR, "ack", "acknowledged"),
        ("U0NOBODY01", "unack", "refused"),
        (OPERATOR, "unack", "reopened"),
        (OPERATOR, "unack", "refused"),  # nothing to reopen: asked for, not done
    ]


def test_anyone_may_acknowledge_without_operators(
    make_harness: Harness, fake_slack: FakeSlack
) -> None:
    h = make_harness(operators=())
    item = failing(h)
    typed = h.command(f"ack {item.key.association_id} known issue", user="U0ANYONE01")
    [answer] = wait_response(fake_slack, typed.response_url)
    assert answer["response_type"] == "in_channel"
    [ack] = h.services.store.acks.active().values()
    assert ack.by == "U0ANYONE01"
    assert ack.until is not None
    assert ack.until - utcnow() > timedelta(days=6)


def test_ack_command_without_reason_opens_the_modal(
    make_harness: Harness, fake_slack: FakeSlack
) -> None:
    h = make_harness()
    item = failing(h)
    typed = h.command(f"ack {item.key.association_id} for 3d", user=OPERATOR)
    assert typed.status == 200
    [opened] = fake_slack.wait_for(lambda: fake_slack.calls_to("views.open", ok=True))
    view = opened.params["view"]
    context = kit.AckContext.loads(view["private_metadata"])
    assert context is not None
    assert context.key == item.key
    assert context.response_url == typed.response_url
    h.submit_view(view, ack_values("OPS-3"), user=OPERATOR)
    [answer] = wait_response(fake_slack, typed.response_url)
    assert answer["response_type"] == "in_channel"
    assert "acknowledged" in answer["text"]


@pytest.mark.parametrize(
    ("asked", "preset", "days_to_date"),
    [("for 30d", "30d", None), ("for 2w", "14d", None), ("for 10d", "7d", 10), ("", "7d", None)],
)
def test_ack_command_without_reason_presets_the_form_to_the_duration_asked_for(
    make_harness: Harness, fake_slack: FakeSlack, asked: str, preset: str, days_to_date: int | None
) -> None:
    """`/ssm3 ack ID for 30d` without a reason: the form opens on 30 days, not the default 7;
    a duration no preset has becomes the form's date (which wins over the preset)."""
    h = make_harness()
    item = failing(h)
    typed = h.command(f"ack {item.key.association_id} {asked}", user=OPERATOR)
    assert typed.status == 200
    [opened] = fake_slack.wait_for(lambda: fake_slack.calls_to("views.open", ok=True))
    view = opened.params["view"]
    fields = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert fields["expiry"]["initial_option"]["value"] == preset
    if days_to_date is None:
        assert "initial_date" not in fields["until"]
        return
    expected = (utcnow() + timedelta(days=days_to_date)).date().isoformat()
    assert fields["until"]["initial_date"] == expected
    # Submitted as it opened, the acknowledgement lasts to the end of that day.
    h.submit_view(view, ack_values("OPS-10", preset=preset, date=expected), user=OPERATOR)
    wait_response(fake_slack, typed.response_url)
    [ack] = h.services.store.acks.active().values()
    assert ack.until is not None
    assert ack.until.date().isoformat() == expected


# -- sweep and audit -------------------------------------------------------------------------------
def test_sweep_command_runs_in_the_background(make_harness: Harness, fake_slack: FakeSlack) -> None:
    h = make_harness()
    post = post_digest(h)
    before = h.services.store.sweeps.last()
    typed = h.command("sweep", user=OPERATOR)
    assert typed.body == b""
    started, answer = wait_response(fake_slack, typed.response_url, count=2)
    assert started["text"].startswith("Sweeping every account-region now")
    assert answer["text"].startswith("Sweep finished in")
    after = h.services.store.sweeps.last()
    assert after is not None
    assert before is not None
    assert after.sweep_id != before.sweep_id
    assert fake_slack.message(CHANNEL, post.ts).updates == 1
    assert [(e.action, e.outcome) for e in reversed(h.services.store.audit.entries())] == [
        ("sweep", "started"),
        ("sweep", "done"),
    ]


def test_audit_command(make_harness: Harness, fake_slack: FakeSlack) -> None:
    h = make_harness(operators=())
    item = failing(h)
    h.services.store.audit.record(
        actor="U0ALICE01",
        action="ack",
        outcome="acknowledged",
        now=utcnow(),
        key=item.key,
        detail="<!channel> hi",
    )
    typed = h.command("audit")
    [answer] = wait_response(fake_slack, typed.response_url)
    shown = body_text(answer["blocks"])
    assert "<@U0ALICE01> *ack*" in shown
    assert "→ acknowledged" in shown
    assert "`&lt;!channel&gt; hi`" in shown
