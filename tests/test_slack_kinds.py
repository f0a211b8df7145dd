"""Every Slack surface says which kind of failure fails SSM.3 and what fixes it: a `reported`
failure (Quick Setup's MANUAL patch scanning reporting missing patches) is never offered a
re-run as the fix; an `execution` failure (a failed or timed-out run) still is. Driven end to
end: signed requests into the Bolt app, the fake Web API, the simulator as AWS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.core.causes import ORPHAN_REMEDY
from bot.models import TrackedAssociation
from bot.slack import blocks as kit
from bot.sweeping.sweep import run_sweep
from tests.fakes.block_kit import texts
from tests.fakes.fixtures import OPERATOR
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import CHANNEL, SlackHarness
from tests.support.sim import Sim
from tests.support.slack import post_digest

Harness = Callable[..., SlackHarness]
REGION = "eu-west-1"
NOT_FIXED = "A re-run will not fix it"


@pytest.fixture
def sim(make_sim: Callable[..., Sim]) -> Sim:
    """One account-region: run failures, one timed-out run and one MANUAL patch scan."""
    return make_sim(seed=11, accounts=1, regions=(REGION,), manual=1, timed_out=1)


def body_text(blocks: Any) -> str:
    return "\n".join(text for _, text in texts(blocks))


def answers(fake: FakeSlack, url: str | None, count: int = 1) -> list[dict[str, Any]]:
    url_id = (url or "").rsplit("/", 1)[-1]
    fake.wait_for(lambda: len([p for u, p in fake.responses if u == url_id]) >= count)
    return [p for u, p in fake.responses if u == url_id]


def start(make_harness: Harness) -> SlackHarness:
    return make_harness(regions=(REGION,))


def of_kind(h: SlackHarness, kind: str, document: str | None = None) -> TrackedAssociation:
    return next(
        t
        for t in h.services.store.associations.tracked(failing_only=True)
        if t.association.failure_kind == kind
        and (document is None or t.association.document_name == document)
    )


def row_of(blocks: list[dict[str, Any]], item: TrackedAssociation) -> tuple[str, dict[str, Any]]:
    """The digest row of one association (a digest this short gives every row the three
    buttons): its section's text and its actions block."""
    value = kit.key_value(item.key)
    index = next(
        i
        for i, b in enumerate(blocks)
        if b["type"] == "actions" and any(e.get("value") == value for e in b["elements"])
    )
    return blocks[index - 1]["text"]["text"], blocks[index]


def test_digest_rows_say_the_kind_and_what_fixes_it(
    make_harness: Harness, fake_slack: FakeSlack
) -> None:
    h = start(make_harness)
    reported = of_kind(h, "reported")
    executed = of_kind(h, "execution")
    post = post_digest(h)
    blocks = fake_slack.message(CHANNEL, post.ts).blocks
    assert blocks is not None
    counts = blocks[1]["text"]["text"]
    total = len(h.services.store.associations.noncompliant_instances())
    assert f"*{total}* instances non-compliant" in counts

    row, actions = row_of(blocks, reported)
    n = len(reported.association.noncompliant_instances)
    assert "reported NON_COMPLIANT (SyncCompliance MANUAL)" in row
    assert f"*{n}* non-compliant" in row
    assert NOT_FIXED in row
    assert "missing patches" in row
    assert "targets" not in row  # its runs succeed
    assert [e["action_id"] for e in actions["elements"]] == [
        kit.ACTION_HISTORY,
        kit.ACTION_RERUN,
        kit.ACTION_ACK,
    ]
    rerun = next(e for e in actions["elements"] if e["action_id"] == kit.ACTION_RERUN)
    assert rerun["confirm"]["title"]["text"] == NOT_FIXED
    assert NOT_FIXED in rerun["confirm"]["text"]["text"]
    assert rerun["confirm"]["confirm"]["text"] == "Re-run anyway"

    row, actions = row_of(blocks, executed)
    a = executed.association
    assert "run failed" in row or "run timed out" in row
    assert f"on *{a.failed_target_count}/{a.total_targets}* targets" in row
    assert "will not" not in row
    rerun = next(e for e in actions["elements"] if e["action_id"] == kit.ACTION_RERUN)
    assert rerun["confirm"]["title"]["text"] == "Re-run this association?"


def test_status_of_an_association_gives_kind_instances_and_remedy(
    make_harness: Harness, fake_slack: FakeSlack
) -> None:
    h = start(make_harness)
    reported = of_kind(h, "reported")
    [answer] = answers(fake_slack, h.command(f"status {reported.key.association_id}").response_url)
    shown = body_text(answer["blocks"])
    assert "Fails SSM.3: *reported NON_COMPLIANT (SyncCompliance MANUAL)*" in shown
    assert f"`{reported.association.noncompliant_instances[0]}`" in shown
    assert f":warning: {NOT_FIXED}" in shown

    executed = of_kind(h, "execution")
    [answer] = answers(fake_slack, h.command(f"status {executed.key.association_id}").response_url)
    shown = body_text(answer["blocks"])
    assert "Fails SSM.3: *run " in shown
    assert "A re-run can fix it" in shown
    assert "will not" not in shown


def test_history_of_a_reported_failure_shows_what_ssm3_sees(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = start(make_harness)
    reported = of_kind(h, "reported")
    instances = reported.association.noncompliant_instances
    listed = sim.fleet.call_count("ListComplianceItems")
    [answer] = answers(fake_slack, h.command(f"history {reported.key.association_id}").response_url)
    shown = body_text(answer["blocks"])
    assert f":warning: *reported NON_COMPLIANT (SyncCompliance MANUAL)*: {NOT_FIXED}" in shown
    assert f"*What SSM.3 sees*: {kit.plural(len(instances), 'instance')} NON_COMPLIANT" in shown
    for instance_id in instances[:5]:
        assert f"`{instance_id}`:" in shown
    assert "this association *NON_COMPLIANT*" in shown
    assert "No failed or timed-out execution among the recent ones." in shown
    # One ListComplianceItems per instance shown: AWS takes one resource ID a call.
    assert sim.fleet.call_count("ListComplianceItems") - listed == min(5, len(instances))

    executed = of_kind(h, "execution", "AWS-RunShellScript")  # the timed-out run
    [answer] = answers(fake_slack, h.command(f"history {executed.key.association_id}").response_url)
    shown = body_text(answer["blocks"])
    assert "will not" not in shown
    assert "failed or timed out" in shown
    timed_out = executed.association.failed_targets[0].instance_id
    assert f"*`{timed_out}`* `TimedOut`" in shown
    assert "*Likely cause:* Timed out" in shown


def test_rerun_of_a_reported_failure_says_it_will_not_fix_it(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = start(make_harness)
    reported = of_kind(h, "reported")
    described = sim.fleet.call_count("DescribeAssociation")
    typed = h.command(f"rerun {reported.key.association_id}", user=OPERATOR)
    [answer] = answers(fake_slack, typed.response_url)
    shown = body_text(answer["blocks"])
    assert "a re-run will not change its compliance" in shown
    assert NOT_FIXED in shown
    assert "Patch Manager" in shown
    run, cancel = answer["blocks"][-1]["elements"]
    assert (run["text"]["text"], run["action_id"]) == ("Re-run anyway", kit.ACTION_RERUN)
    assert "style" not in run
    assert cancel["action_id"] == kit.ACTION_CANCEL
    assert sim.fleet.call_count("DescribeAssociation") == described  # the store knew
    assert sim.fleet.call_count("StartAssociationsOnce") == 0

    confirmed = h.click(kit.ACTION_RERUN, run["value"], user=OPERATOR, ephemeral=True)
    started = answers(fake_slack, confirmed.response_url, count=2)[1]
    assert started["response_type"] == "in_channel"
    assert NOT_FIXED in body_text(started["blocks"])
    assert sim.fleet.call_count("StartAssociationsOnce") == 1
    entry = next(e for e in h.services.store.audit.entries() if e.outcome == "started")
    assert entry.detail == "reported NON_COMPLIANT (SyncCompliance MANUAL)"

    executed = of_kind(h, "execution")
    typed = h.command(f"rerun {executed.key.association_id}", user=OPERATOR)
    [answer] = answers(fake_slack, typed.response_url)
    assert "will not" not in body_text(answer["blocks"])
    assert answer["blocks"][-1]["elements"][0]["text"]["text"] == "Re-run now"


def test_status_of_an_instance_shows_what_ssm3_sees(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = start(make_harness)
    store = h.services.store
    reported = of_kind(h, "reported")
    instance = reported.association.noncompliant_instances[0]
    [answer] = answers(fake_slack, h.command(f"status {instance}").response_url)
    shown = body_text(answer["blocks"])
    assert f"*What SSM.3 sees for `{instance}`*" in shown
    assert f"NON_COMPLIANT in {reported.key.account_id} {REGION}" in shown
    # Its stored Association item names the association that reported it.
    assert (
        f"`{reported.association.display_name}` (`{reported.key.association_id}`) *NON_COMPLIANT*"
        in shown
    )
    assert "Failing associations that make it NON_COMPLIANT: `patch-scan-quicksetup`" in shown
    assert f"*`{reported.association.display_name}`* · " in shown  # its row, from the digest
    expected = sum(
        1 for k in store.associations.noncompliant_instances() if k.instance_id == instance
    )
    assert f"*{expected}* instances non-compliant" in shown

    bad = {k.instance_id for k in store.associations.noncompliant_instances()}
    healthy = next(
        i
        for t in store.associations.tracked()
        for i in sim.fleet.find_association(t.key.association_id)[1].instance_ids
        if i not in bad
    )
    [answer] = answers(fake_slack, h.command(f"status {healthy}").response_url)
    shown = body_text(answer["blocks"])
    assert f"*SSM.3 sees `{healthy}` as compliant*" in shown
    assert "*0* instances non-compliant" in shown


def test_orphans_and_security_hub_disagreement_appear_in_the_digest(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = start(make_harness)
    store = h.services.store
    reported = of_kind(h, "reported")
    gone = of_kind(h, "execution", "AWS-RunShellScript")
    orphaned = gone.association.noncompliant_instances
    # Config lags: Security Hub keeps its findings while compliance changes under it.
    sim.fleet.findings_frozen = True
    sim.fleet.delete_association(gone.key.association_id, keep_compliance=True)
    fixed = reported.association.noncompliant_instances
    sim.fleet.report_compliance(reported.key.association_id, dict.fromkeys(fixed, "COMPLIANT"))
    run_sweep(settings=h.services.settings, access=h.services.access, store=store, trigger="test")
    orphans = store.associations.orphans()
    assert {o.instance_id for o in orphans} == set(orphaned)

    post = post_digest(h)
    blocks = fake_slack.message(CHANNEL, post.ts).blocks
    shown = body_text(blocks)
    assert f"*Orphaned compliance items ({len(orphans)})*" in shown
    assert (
        f"• `{orphaned[0]}` · {gone.key.account_id} · {REGION} · association "
        f"`{gone.key.association_id}` (gone)"
    ) in shown
    assert shown.count(ORPHAN_REMEDY) == 1
    last = store.sweeps.last()
    assert last is not None
    check = store.sweeps.security_hub_check(last.sweep_id)
    assert check is not None
    assert len(check.unexplained) == len(fixed)
    word = "instance" if len(fixed) == 1 else "instances"
    assert f"Security Hub fails *{len(fixed)}* {word} the sweep finds compliant" in shown
    assert "(Config lag, or Config not recording" in shown

    [answer] = answers(fake_slack, h.command(f"status {orphaned[0]}").response_url)
    shown = body_text(answer["blocks"])
    assert f"Orphaned items on it: association `{gone.key.association_id}` (gone)" in shown
    assert ORPHAN_REMEDY in shown
