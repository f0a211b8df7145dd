"""Diagnose, fix and confirm COMPLIANT as people use them: through signed Slack requests into the
app, the fake Web API, and boto3 against the simulator. The app's clock is the simulator's, so
moving the simulator's clock moves both: runs stay InProgress until it passes their end, and
the watch's looks (scheduled-job rows) come due as it moves; the test takes each look as the
scheduler would (`jobs_job`), never by sleeping."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from bot.app.watches import WATCH
from bot.aws.watch import association_items
from bot.models import AssociationKey
from bot.sim.fleet import LATEST_AGENT_VERSION, Fault, failure_for, generate_fleet
from bot.sim.showcase import Showcase, add_showcase
from bot.slack import blocks as kit
from bot.store import Store
from tests.fakes.fixtures import OPERATOR
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import CHANNEL, SlackHarness
from tests.support.sim import Sim
from tests.support.slack import body_text, slack_runner, wait_response
from tests.support.virtual_time import FakeClock
from tests.support.waiting import wait_until

Harness = Callable[..., SlackHarness]
ACCOUNT = "111111111111"
REGION = "eu-west-1"
NOT_OPERATOR = "U0ALICE01"
# What an UpdateAssociation changes besides the parameter: its version, dates and last run.
MOVED_BY_AN_UPDATE = {
    "Parameters",
    "AssociationVersion",
    "Date",
    "LastUpdateAssociationDate",
    "Overview",
    "LastExecutionDate",
    "Status",
}
WRITES = ("UpdateAssociation", "StartAssociationsOnce", "SendCommand", "StartAutomationExecution")


def buttons(blocks: list[dict[str, Any]] | None) -> dict[str, list[dict[str, Any]]]:
    """Each action ID's buttons in these blocks."""
    found: dict[str, list[dict[str, Any]]] = {}
    for block in blocks or []:
        for element in block.get("elements") or [] if block.get("type") == "actions" else []:
            found.setdefault(element["action_id"], []).append(element)
    return found


# -- Diagnose ----------------------------------------------------------------------------------------


def test_diagnose_from_an_alert_and_from_the_command_say_the_same_cause(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    clock = FakeClock(datetime.now(UTC))  # the app's and the sweeps' (an alert needs a streak
    h = make_harness(clock=clock)  # that began after the first sweep: the clock moves on)
    start = clock.now
    runner = slack_runner(h, clock)
    scope = sim.fleet.scope(sim.fleet.caller_account, "us-east-1")
    victim = next(a for a in scope.associations.values() if a.status == "Success")
    instance = victim.instance_ids[0]
    sim.fleet.run_association(
        victim.association_id,
        failures={instance: failure_for("unreachable", victim.document, random.Random(2))},
        at=start + timedelta(minutes=10),
    )
    clock.now += timedelta(hours=1)
    sim.fleet.scope(sim.fleet.caller_account, "us-east-1").instances[
        instance
    ].ping_status = "ConnectionLost"
    runner.sweep_job()
    [alert] = [
        m
        for m in fake_slack.messages.values()
        if m.thread_ts is None and "just started failing" in (m.text or "")
    ]
    [diagnose] = buttons(alert.blocks)[kit.ACTION_DIAGNOSE]

    clicked = h.click(kit.ACTION_DIAGNOSE, diagnose["value"], message_ts=alert.ts)
    assert clicked.status == 200
    [answer] = wait_response(fake_slack, clicked.response_url)
    assert answer.get("response_type", "ephemeral") == "ephemeral", "only the asker sees it"
    text = body_text(answer["blocks"])
    assert "Diagnosis:" in text
    assert instance in text
    assert "not reachable by Systems Manager" in text
    assert "ping_status `ConnectionLost`" in text
    assert "AWSSupport-TroubleshootManagedInstance" in text
    # The alert said the rules' short form over what the sweep stored; it now says the
    # diagnosis's (the digest and the CSV say the same: bot/core/causes.cause_line).
    assert "Cause: `unreachable (1)`" in body_text(alert.blocks)
    fake_slack.wait_for(
        lambda: (
            "Diagnosed: `unreachable (1)`"
            in body_text(fake_slack.message(alert.channel, alert.ts).blocks)
        )
    )

    command = h.command(f"diagnose {victim.association_id}")
    assert command.status == 200
    answers = wait_response(fake_slack, command.response_url)
    said = body_text(answers[-1]["blocks"])
    assert instance in said
    assert "ping_status `ConnectionLost`" in said


def test_history_has_a_diagnose_button(
    make_harness: Harness, fake_slack: FakeSlack, shown: tuple[Sim, Showcase]
) -> None:
    sim, showcase = shown
    h = harness(make_harness, sim)
    key = key_of(showcase, "bad_parameter")
    asked = h.command(f"history {key.association_id}")
    history = wait_response(fake_slack, asked.response_url)[-1]
    [diagnose] = buttons(history["blocks"])[kit.ACTION_DIAGNOSE]
    clicked = h.click(kit.ACTION_DIAGNOSE, diagnose["value"], ephemeral=True)
    [answer] = wait_response(fake_slack, clicked.response_url)
    text = body_text(answer["blocks"])
    assert "Operation" in text
    assert "latestt" in text


# -- Fix, and confirm COMPLIANT ----------------------------------------------------------------------


@pytest.fixture
def shown(make_sim: Callable[..., Sim]) -> tuple[Sim, Showcase]:
    """One account-region with one association failing for each cause (bot/sim/showcase.py);
    a run stays InProgress for ten minutes."""
    fleet = generate_fleet(seed=3, accounts=1, regions=(REGION,), associations=1, failing=0)
    sim = make_sim(fleet)
    showcase = add_showcase(fleet, ACCOUNT, REGION)
    fleet.run_seconds = 600
    return sim, showcase


def harness(make_harness: Harness, sim: Sim, **changes: Any) -> SlackHarness:
    """The app on the simulator's clock; a watch's first look is five minutes after the action
    (its timer never fires in a test: each look is taken by `look`)."""
    return make_harness(
        aws=sim, clock=sim.fleet.now, followup_delay_s=300, regions=(REGION,), **changes
    )


def key_of(showcase: Showcase, cause: str) -> AssociationKey:
    return AssociationKey(ACCOUNT, REGION, showcase.associations[cause])  # type: ignore[index]


def writes(sim: Sim) -> dict[str, int]:
    return {op: sim.fleet.call_count(op) for op in WRITES if sim.fleet.call_count(op)}


def diagnose_in_digest(
    h: SlackHarness, fake: FakeSlack, key: AssociationKey, user: str = OPERATOR
) -> tuple[str, dict[str, Any]]:
    """Post the digest, choose Diagnose in a row's menu; the digest's ts and the diagnosis."""
    post = h.services.scheduled().post_digests_now()[0]
    chosen = h.choose(
        kit.ACTION_ROW, kit.row_value(kit.ACTION_DIAGNOSE, key), user=user, message_ts=post.ts
    )
    [answer] = wait_response(fake, chosen.response_url)
    return post.ts, answer


def open_fix_form(
    h: SlackHarness, fake: FakeSlack, answer: dict[str, Any], user: str = OPERATOR
) -> dict[str, Any]:
    """Click the diagnosis's Fix button; the form it opened."""
    [fix] = buttons(answer["blocks"])[kit.ACTION_FIX]
    assert fix["text"]["text"] == "Fix: set Operation…"
    opened = len(fake.calls_to("views.open", ok=True))
    h.click(kit.ACTION_FIX, fix["value"], user=user, ephemeral=True)
    calls = fake.wait_for(lambda: fake.calls_to("views.open", ok=True)[opened:])
    return dict(calls[0].params["view"])


def choose_value(value: str) -> dict[str, Any]:
    """The form's state.values as Slack sends them."""
    return {
        kit.FIX_VALUE_BLOCK: {
            kit.FIX_VALUE_ACTION: {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
            }
        }
    }


def told(fake: FakeSlack, user: str, words: str) -> list[str]:
    """What the bot said to `user` alone (chat.postEphemeral) that contains `words`."""
    said = [
        body_text(c.params.get("blocks")) or str(c.params.get("text"))
        for c in fake.calls_to("chat.postEphemeral", ok=True)
        if c.params.get("user") == user
    ]
    return [t for t in said if words in t]


def thread_texts(fake: FakeSlack, ts: str) -> list[str]:
    return [body_text(m.blocks) for m in fake.thread(CHANNEL, ts)]


def look(h: SlackHarness, sim: Sim, after: timedelta) -> None:
    """Move the (simulator's and app's) clock on, and take the looks now due."""
    sim.fleet.clock_offset += after
    h.services.scheduled().jobs_job()


def fixed_in_form(
    h: SlackHarness, fake: FakeSlack, sim: Sim, key: AssociationKey
) -> tuple[str, dict[str, Any]]:
    """An operator diagnoses the bad parameter from the digest and sets Operation to Install
    in the form; the digest's ts and the association's description before."""
    ssm = sim.access().ssm(key.scope)
    before = ssm.describe_association(AssociationId=key.association_id)["AssociationDescription"]
    ts, answer = diagnose_in_digest(h, fake, key)
    view = open_fix_form(h, fake, answer)
    [field] = [b for b in view["blocks"] if b.get("block_id") == kit.FIX_VALUE_BLOCK]
    offered = [o["value"] for o in field["element"]["options"]]
    assert offered == ["Scan", "Install"], "only the values the document allows"
    submitted = h.submit_view(view, choose_value("Install"), user=OPERATOR)
    assert submitted.status == 200
    assert b"errors" not in submitted.body, "a value the document allows passes the form"
    wait_until(lambda: any("Operation: latestt → Install" in t for t in thread_texts(fake, ts)))
    return ts, before


def test_an_operator_fixes_a_bad_parameter_and_the_watch_waits_for_compliant(
    make_harness: Harness, fake_slack: FakeSlack, shown: tuple[Sim, Showcase]
) -> None:
    sim, showcase = shown
    h = harness(make_harness, sim)
    key = key_of(showcase, "bad_parameter")
    ts, before = fixed_in_form(h, fake_slack, sim, key)

    # UpdateAssociation changed that one parameter, with the version the diagnosis read.
    assert writes(sim) == {"UpdateAssociation": 1}, "the update runs it: no second start"
    ssm = sim.access().ssm(key.scope)
    after = ssm.describe_association(AssociationId=key.association_id)["AssociationDescription"]
    assert after["Parameters"] == {**before["Parameters"], "Operation": ["Install"]}
    unchanged = set(before) - MOVED_BY_AN_UPDATE
    assert {k: after.get(k) for k in unchanged} == {k: before.get(k) for k in unchanged}
    store = h.services.store
    [fixed] = [e for e in store.audit.entries() if e.action == "fix"]
    assert (fixed.actor, fixed.outcome, fixed.detail) == (
        OPERATOR,
        "applied",
        "Operation: latestt → Install",
    )

    # Five minutes on, the run is InProgress and the items are still NON_COMPLIANT: no verdict.
    look(h, sim, timedelta(minutes=5))
    _, association = sim.fleet.find_association(key.association_id)
    assert association.newest is not None
    assert association.newest.status == "InProgress"
    items = association_items(ssm, key.association_id, showcase.instances["bad_parameter"])
    assert {i.status for i in items.values()} == {"NON_COMPLIANT"}
    assert store.reruns.last(key).outcome is None  # type: ignore[union-attr]
    assert [e for e in store.audit.entries() if e.action == "rerun_check"] == []
    assert not any("COMPLIANT:" in t for t in thread_texts(fake_slack, ts))
    assert len(store.jobs.pending(WATCH)) == 1, "it looks again later"

    # The run finishes at ten minutes; the next look finds it done and the items COMPLIANT.
    watching = fake_slack.message(CHANNEL, ts)
    assert f"Fixed by <@{OPERATOR}>" in body_text(watching.blocks)  # "… · watching its run"
    assert "watching its run" in body_text(watching.blocks)
    edits = watching.updates
    look(h, sim, timedelta(minutes=6))
    verdict = wait_until(
        lambda: [t for t in thread_texts(fake_slack, ts) if "is COMPLIANT" in t],
        what="the verdict in the digest's thread",
    )
    assert "the run after the fix ended `Success`" in verdict[0]
    [checked] = [e for e in store.audit.entries() if e.action == "rerun_check"]
    assert (checked.actor, checked.outcome) == ("ssm3bot", "compliant")
    last = store.reruns.last(key)
    assert last is not None
    assert (last.kind, last.outcome) == ("fix", "compliant")
    assert store.jobs.pending(WATCH) == []
    [item] = store.associations.tracked(keys=[key], now=sim.fleet.now())
    assert not item.association.failing, "the store read the scope again, as a sweep would"
    digest = fake_slack.wait_for(
        lambda: (m := fake_slack.message(CHANNEL, ts)).updates > edits and m
    )
    assert f"`{item.association.display_name}`" not in body_text(digest.blocks), "the digest too"


def test_a_non_operator_fix_is_refused_with_no_aws_write(
    make_harness: Harness, fake_slack: FakeSlack, shown: tuple[Sim, Showcase]
) -> None:
    sim, showcase = shown
    h = harness(make_harness, sim)
    key = key_of(showcase, "bad_parameter")
    _, answer = diagnose_in_digest(h, fake_slack, key, user=NOT_OPERATOR)
    [fix] = buttons(answer["blocks"])[kit.ACTION_FIX]
    clicked = h.click(kit.ACTION_FIX, fix["value"], user=NOT_OPERATOR, ephemeral=True)
    [refusal] = wait_response(fake_slack, clicked.response_url)
    assert "Only operators" in body_text(refusal.get("blocks")) + str(refusal.get("text"))
    assert fake_slack.calls_to("views.open") == [], "no form for a non-operator"
    # A submission forged from an operator's form is checked again before any write.
    view = open_fix_form(h, fake_slack, answer)
    h.submit_view(view, choose_value("Install"), user=NOT_OPERATOR)
    # Audited as refused; the second within a minute counts on the first refusal's row.
    [refused] = wait_until(
        lambda: [e for e in h.services.store.audit.entries() if e.action == "fix" and e.repeats],
        what="the second refusal in the audit log",
    )
    assert (refused.actor, refused.outcome) == (NOT_OPERATOR, "refused")
    assert writes(sim) == {}


def test_fixes_off_shows_the_steps_and_no_button(
    make_harness: Harness, fake_slack: FakeSlack, shown: tuple[Sim, Showcase]
) -> None:
    sim, showcase = shown
    h = harness(make_harness, sim, fixes=False)
    key = key_of(showcase, "bad_parameter")
    _, answer = diagnose_in_digest(h, fake_slack, key)
    text = body_text(answer["blocks"])
    assert kit.ACTION_FIX not in buttons(answer["blocks"])
    assert "Fix (update_parameter):" in text
    assert "Install" in text
    assert f"_{kit.FIXES_OFF}_" in text
    # A Fix click forged with a kept diagnosis's ID changes nothing either.
    [kept] = [h.services.store.diagnoses.latest(key)]
    assert kept is not None
    clicked = h.click(kit.ACTION_FIX, f"{kept.id}:0", user=OPERATOR, ephemeral=True)
    [refusal] = wait_response(fake_slack, clicked.response_url)
    assert "SSM3_FIXES=off" in body_text(refusal.get("blocks")) + str(refusal.get("text"))
    assert writes(sim) == {}


def test_a_rerun_of_a_manual_patch_association_ends_still_failing(
    make_harness: Harness, fake_slack: FakeSlack, shown: tuple[Sim, Showcase]
) -> None:
    sim, showcase = shown
    h = harness(make_harness, sim)
    key = key_of(showcase, "missing_patches")
    post = h.services.scheduled().post_digests_now()[0]
    h.click(kit.ACTION_RERUN, kit.key_value(key), user=OPERATOR, message_ts=post.ts)
    wait_until(lambda: h.services.store.jobs.pending(WATCH), what="the watch's row")
    assert writes(sim) == {"StartAssociationsOnce": 1}
    look(h, sim, timedelta(minutes=5))  # InProgress
    assert h.services.store.reruns.last(key).outcome is None  # type: ignore[union-attr]
    look(h, sim, timedelta(minutes=6))
    [verdict] = wait_until(
        lambda: [t for t in thread_texts(fake_slack, post.ts) if "still fails SSM.3" in t],
        what="the verdict",
    )
    assert "after the re-run: its run ended `Success`" in verdict
    assert "missing" in verdict.lower(), "a fresh diagnosis names the missing patches"
    [checked] = [e for e in h.services.store.audit.entries() if e.action == "rerun_check"]
    assert checked.outcome == "still_failing"


def test_a_restart_mid_watch_still_reports_the_outcome(
    make_harness: Harness, fake_slack: FakeSlack, shown: tuple[Sim, Showcase]
) -> None:
    sim, showcase = shown
    before = harness(make_harness, sim)
    key = key_of(showcase, "bad_parameter")
    ts, _ = fixed_in_form(before, fake_slack, sim, key)
    look(before, sim, timedelta(minutes=5))  # the run is InProgress: the next look is a row
    assert before.services.store.reruns.last(key).outcome is None  # type: ignore[union-attr]
    settings, access = before.settings, before.services.access
    before.stop()  # the deploy: its process goes, the watch's row stays
    before.services.store.close()

    store = Store(settings.db_path)
    after = SlackHarness(
        settings=settings, store=store, access=access, fake=fake_slack, clock=sim.fleet.now
    ).start()
    try:
        look(after, sim, timedelta(minutes=6))
        wait_until(
            lambda: [t for t in thread_texts(fake_slack, ts) if "is COMPLIANT" in t],
            what="the verdict, said by the new process",
        )
        assert store.reruns.last(key).outcome == "compliant"  # type: ignore[union-attr]
        assert store.jobs.pending(WATCH) == []
    finally:
        after.stop()
        store.close()


def click_fix(h: SlackHarness, answer: dict[str, Any], label: str) -> None:
    """Click the diagnosis's one Fix button (Slack's confirm dialog already said yes)."""
    [fix] = buttons(answer["blocks"])[kit.ACTION_FIX]
    assert fix["text"]["text"] == label
    assert fix.get("confirm"), "it asks first"
    h.click(kit.ACTION_FIX, fix["value"], user=OPERATOR, ephemeral=True)


def test_the_agent_update_runs_on_exactly_those_instances_then_the_rerun_is_watched(
    make_harness: Harness, fake_slack: FakeSlack, shown: tuple[Sim, Showcase]
) -> None:
    sim, showcase = shown
    h = harness(make_harness, sim)
    key = key_of(showcase, "agent_outdated")
    old = showcase.instances["agent_outdated"]
    scope = sim.fleet.scope(ACCOUNT, REGION)
    others = {i for i in scope.instances if i not in old}
    versions = {i: scope.instances[i].agent_version for i in others}
    ts, answer = diagnose_in_digest(h, fake_slack, key)
    click_fix(h, answer, "Fix: update the SSM Agent")
    wait_until(lambda: any("started a fix" in t for t in thread_texts(fake_slack, ts)))
    assert writes(sim) == {"SendCommand": 1}
    assert all(scope.instances[i].agent_version == LATEST_AGENT_VERSION for i in old)
    assert {i: scope.instances[i].agent_version for i in others} == versions, "only those"

    look(h, sim, timedelta(minutes=5))  # the command finished: re-run, and watch that run
    wait_until(lambda: any("I re-ran it" in t for t in thread_texts(fake_slack, ts)))
    assert writes(sim) == {"SendCommand": 1, "StartAssociationsOnce": 1}
    look(h, sim, timedelta(minutes=5))  # its run is InProgress
    assert not any("is COMPLIANT" in t for t in thread_texts(fake_slack, ts))
    look(h, sim, timedelta(minutes=6))
    wait_until(lambda: any("is COMPLIANT" in t for t in thread_texts(fake_slack, ts)))
    [started] = [e for e in h.services.store.audit.entries() if e.action == "fix"]
    assert (started.actor, started.outcome) == (OPERATOR, "started")
    assert "AWS-UpdateSSMAgent" in (started.detail or "")


def test_the_troubleshooting_runbook_reports_what_it_found(
    make_harness: Harness, fake_slack: FakeSlack, shown: tuple[Sim, Showcase]
) -> None:
    sim, showcase = shown
    h = harness(make_harness, sim)
    key = key_of(showcase, "unreachable")
    ts, answer = diagnose_in_digest(h, fake_slack, key)
    click_fix(h, answer, "Fix: run the troubleshooting runbook")
    wait_until(lambda: any("started a fix" in t for t in thread_texts(fake_slack, ts)))
    assert writes(sim) == {"StartAutomationExecution": len(showcase.instances["unreachable"])}
    look(h, sim, timedelta(minutes=5))
    [found] = wait_until(
        lambda: [t for t in thread_texts(fake_slack, ts) if "troubleshooting runbook" in t]
    )
    assert "finished" in found
    assert "AWSSupport-TroubleshootManagedInstance Failed" in found
    assert writes(sim) == {"StartAutomationExecution": len(showcase.instances["unreachable"])}


# -- the security rules: the workspace rule and SSM3_VIEWERS -----------------------------------------


def test_an_operator_who_is_a_guest_fixes_nothing(
    make_harness: Harness, fake_slack: FakeSlack, shown: tuple[Sim, Showcase]
) -> None:
    """The workspace rule stands in front of SSM3_OPERATORS: a guest reads, never changes."""
    sim, showcase = shown
    h = harness(make_harness, sim)
    key = key_of(showcase, "bad_parameter")
    fake_slack.users[OPERATOR] = {"is_restricted": True}  # users.info: a guest
    _, answer = diagnose_in_digest(h, fake_slack, key)  # a guest may read
    [fix] = buttons(answer["blocks"])[kit.ACTION_FIX]
    clicked = h.click(kit.ACTION_FIX, fix["value"], user=OPERATOR, ephemeral=True)
    [refusal] = wait_response(fake_slack, clicked.response_url)
    assert "guest" in (body_text(refusal.get("blocks")) + str(refusal.get("text"))).lower()
    assert fake_slack.calls_to("views.open") == []
    assert writes(sim) == {}


def test_with_viewers_set_only_they_and_operators_read_a_diagnosis(
    make_harness: Harness, fake_slack: FakeSlack, shown: tuple[Sim, Showcase]
) -> None:
    sim, showcase = shown
    h = harness(make_harness, sim, viewers=("U0VIEWER01",))
    key = key_of(showcase, "bad_parameter")
    sim.fleet.reset_calls()
    asked = h.command(f"diagnose {key.association_id}", user=NOT_OPERATOR)
    [refusal] = wait_response(fake_slack, asked.response_url)
    assert "SSM3_VIEWERS" in body_text(refusal.get("blocks")) + str(refusal.get("text"))
    assert sim.fleet.call_count("DescribeAssociation") == 0, "nothing read for them"
    allowed = h.command(f"diagnose {key.association_id}", user="U0VIEWER01")
    [answer] = wait_response(fake_slack, allowed.response_url)
    assert "Diagnosis:" in body_text(answer["blocks"])


def test_from_the_home_tab_the_diagnosis_opens_in_a_modal_and_its_fix_form_stacks_on_it(
    make_harness: Harness, fake_slack: FakeSlack, shown: tuple[Sim, Showcase]
) -> None:
    sim, showcase = shown
    h = harness(make_harness, sim)
    key = key_of(showcase, "bad_parameter")
    h.click(kit.ACTION_DIAGNOSE, kit.key_value(key), user=OPERATOR, home=True)
    # A modal opens at once ("Diagnosing … from AWS…"); the diagnosis then goes into it.
    diagnosis = fake_slack.wait_for(
        lambda: next(
            (v for v in fake_slack.views.values() if kit.ACTION_FIX in buttons(v["blocks"])), None
        )
    )
    modal = str(diagnosis["id"])
    assert len(fake_slack.calls_to("views.open", ok=True)) == 1
    [fix] = buttons(diagnosis["blocks"])[kit.ACTION_FIX]
    # The Fix click inside that modal: Slack sends the modal as the click's view.
    unsent = h.click_request(kit.ACTION_FIX, fix["value"], user=OPERATOR, home=True)
    payload = json.loads(parse_qs(unsent.sent.decode())["payload"][0])
    payload["container"] = {"type": "view", "view_id": modal}
    payload["view"].update(id=modal, type="modal", callback_id="")
    status, _ = h.post_signed(urlencode({"payload": json.dumps(payload)}).encode())
    assert status == 200
    [pushed] = fake_slack.wait_for(lambda: fake_slack.calls_to("views.push", ok=True))
    form = dict(pushed.params["view"])
    assert form["callback_id"] == kit.FIX_MODAL
    h.submit_view(form, choose_value("Install"), user=OPERATOR)
    # Applied after the ack: its run is watched once the update is made and audited.
    wait_until(lambda: h.services.store.jobs.pending(WATCH), what="the watch of its run")
    assert writes(sim) == {"UpdateAssociation": 1}


def test_a_rerun_a_closed_calendar_holds_ends_pending_at_the_watchs_deadline(
    make_harness: Harness, fake_slack: FakeSlack, shown: tuple[Sim, Showcase]
) -> None:
    sim, showcase = shown
    h = harness(make_harness, sim, watch_for=timedelta(minutes=30))
    key = key_of(showcase, "calendar_closed")
    post = h.services.scheduled().post_digests_now()[0]
    h.click(kit.ACTION_RERUN, kit.key_value(key), user=OPERATOR, message_ts=post.ts)
    store = h.services.store
    wait_until(lambda: store.jobs.pending(WATCH), what="the watch's row")
    looks = 0
    while store.jobs.pending(WATCH):
        [job] = store.jobs.pending(WATCH)
        look(h, sim, max(job.due_at - sim.fleet.now(), timedelta()))
        looks += 1
        assert looks < 20, "the watch ends at its deadline"
    [verdict] = wait_until(
        lambda: [t for t in thread_texts(fake_slack, post.ts) if ":hourglass:" in t],
        what="the verdict",
    )
    assert "no run started within 30m of the re-run" in verdict
    assert store.reruns.last(key).outcome == "pending"  # type: ignore[union-attr]


def test_a_fix_aws_refuses_or_a_colleague_edited_first_changes_nothing_and_says_why(
    make_harness: Harness, fake_slack: FakeSlack, shown: tuple[Sim, Showcase]
) -> None:
    sim, showcase = shown
    h = harness(make_harness, sim)
    key = key_of(showcase, "bad_parameter")
    _, answer = diagnose_in_digest(h, fake_slack, key)
    sim.fleet.inject(
        Fault("AccessDeniedException", "not authorized", operation="UpdateAssociation", times=1)
    )
    h.submit_view(open_fix_form(h, fake_slack, answer), choose_value("Install"), user=OPERATOR)
    [refused] = wait_until(lambda: told(fake_slack, OPERATOR, "Nothing was changed"))
    assert "AWS refused ssm:UpdateAssociation: attach iam/ssm3-fixes.json" in refused
    # A colleague's edit in the console since the diagnosis: refused, nothing written.
    sim.access().ssm(key.scope).update_association(
        AssociationId=key.association_id,
        Name="AWS-RunPatchBaseline",
        Parameters={"Operation": ["Scan"]},
        ScheduleExpression="rate(1 day)",
    )
    h.submit_view(open_fix_form(h, fake_slack, answer), choose_value("Install"), user=OPERATOR)
    [raced] = wait_until(lambda: told(fake_slack, OPERATOR, "changed since it was diagnosed"))
    assert "nothing was changed; diagnose it again" in raced
    _, association = sim.fleet.find_association(key.association_id)
    assert association.parameters["Operation"] == ["Scan"], "the colleague's edit stands"
    assert h.services.store.jobs.pending(WATCH) == [], "nothing to watch"
    outcomes = [e.outcome for e in reversed(h.services.store.audit.entries()) if e.action == "fix"]
    assert outcomes == ["failed", "refused"]
