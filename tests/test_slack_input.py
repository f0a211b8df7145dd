"""Hostile and malformed input through the real app: AWS text that tries to ping, link, format,
run as a spreadsheet formula or drive a terminal stays inert on every surface; unknown IDs, IDs
from another account, oversize text and bad form values get a clear answer and change nothing."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.app.digests import build_digest
from bot.aws.history import fetch_history
from bot.core.digest import DigestChanges, DigestView
from bot.models import SnapshotItem
from bot.render.text import render_digest, render_history, render_sweep
from bot.settings.config import Settings
from bot.sim.fleet import Fault, Fleet, generate_fleet
from bot.slack import blocks as kit
from bot.slack.delivery import Delivery
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from bot.util.clock import utcnow
from tests.fakes.block_kit import texts
from tests.fakes.fixtures import OPERATOR
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import CHANNEL, SlackHarness, ack_values
from tests.support.raw_db import raw_database
from tests.support.sim import Sim
from tests.support.slack import MinuteClock, body_text, failing, post_digest, wait_response

Harness = Callable[..., SlackHarness]
CALLER, MEMBER, STRANGER = "111111111111", "222222222222", "999999999999"
# Every trick at once: a formula for spreadsheets, a channel ping, a user ping, a forged link,
# mrkdwn formatting, a backtick that would end a code span, a terminal escape sequence.
HOSTILE = (
    '=HYPERLINK("http://evil") <!channel> <@U0BOSS1> <http://evil|click> &amp; *b* `t` \x1b[2J'
)
# What the app puts into mrkdwn on purpose: user mentions, dates, links to S3 output.
OURS = re.compile(
    r"<@[UW][A-Z0-9]+>|<!subteam\^S[A-Z0-9]+>|<!date\^\d+\^[^|>]*\|[^<>]*>|<https://[^|<>]+\|Output in S3>"
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def hostile_fleet() -> Fleet:
    """Two accounts x two regions, most associations failing, every free-text field that AWS
    fills from the instance or the run (summary, stderr, platform) hostile. (Names cannot be:
    AWS's own pattern forbids it, and the simulator enforces AWS's shapes; see hostile_names.)"""
    fleet = generate_fleet(seed=4, accounts=(CALLER, MEMBER), associations=16, failing=12)
    for scope in fleet.scopes.values():
        for instance in scope.instances.values():
            instance.platform_name = HOSTILE
        for association in scope.associations.values():
            for execution in association.executions:
                for instance_id, failure in list(execution.failures.items()):
                    execution.failures[instance_id] = dataclasses.replace(
                        failure, summary=HOSTILE, stderr=HOSTILE
                    )
    return fleet


def hostile_names(store: Store) -> None:
    """Stored association and document names made hostile, as if AWS relaxed its patterns."""
    with raw_database(store) as raw, raw.write() as db:
        db.execute(
            "UPDATE associations SET association_name = ? || substr(association_id, 1, 4), "
            "document_name = ?",
            [HOSTILE, HOSTILE],
        )


def slack_outputs(fake: FakeSlack) -> Iterator[tuple[str, str, str]]:
    """(where, kind, text) for every text the app sent to Slack: messages, replies, modals.
    kind is "text" for a message's top-level text (notifications read it as mrkdwn)."""
    payloads: list[tuple[str, dict[str, Any]]] = [(c.method, c.params) for c in fake.calls]
    payloads += [("response_url", p) for _, p in fake.responses]
    for where, params in payloads:
        if isinstance(params.get("text"), str):
            yield where, "text", params["text"]
        for key in ("blocks", "view"):
            for kind, text in texts(params.get(key)):
                yield where, kind, text


def assert_inert(fake: FakeSlack) -> None:
    for where, kind, text in slack_outputs(fake):
        if kind == "plain_text":
            continue  # Slack shows plain_text literally: no mentions, links or formatting
        ours_removed = OURS.sub("", text)
        assert "<" not in ours_removed, (where, text)
        assert ">" not in ours_removed.replace("&gt;", ""), (where, text)
        assert not re.search(r"&(?!amp;|lt;|gt;)", text), (where, text)


def test_aws_text_is_inert_on_every_slack_surface(
    make_sim: Callable[..., Sim], fake_slack: FakeSlack, make_harness: Harness
) -> None:
    sim = make_sim(hostile_fleet())
    sim.fleet.inject(
        Fault("AccessDeniedException", HOSTILE, operation="ListAssociations", account_id=MEMBER)
    )
    h = make_harness(accounts=(CALLER, MEMBER), aws=sim)
    hostile_names(h.services.store)
    item = failing(h)
    aid = item.key.association_id
    second = h.services.store.associations.tracked(failing_only=True)[1].key.association_id
    post = post_digest(h)

    replies = [
        h.command("status"),
        h.command(f"status {aid}"),
        h.command(f"history {aid}"),
        h.command(f"rerun {aid}", user=OPERATOR),
        h.click(kit.ACTION_RERUN, kit.key_value(item.key), user=OPERATOR, message_ts=post.ts),
        h.click(kit.ACTION_ACK, kit.key_value(item.key), user=OPERATOR, message_ts=post.ts),
        h.command(f"ack {second} for 1d {HOSTILE}", user=OPERATOR),
    ]
    for reply in replies:
        assert reply.status == 200
    fake_slack.wait_for(lambda: len(fake_slack.thread(CHANNEL, post.ts)) >= 2)  # ran, checked
    fake_slack.wait_for(lambda: fake_slack.calls_to("views.open", ok=True))
    for reply in replies[:4] + replies[6:]:
        wait_response(fake_slack, reply.response_url)
    audit = h.command("audit")
    [audited] = wait_response(fake_slack, audit.response_url)
    # The scheduler's surfaces: an alert, and a digest that names what changed and resolved.
    delivery = Delivery(client=h.services.client)
    store = h.services.store
    delivery.post_alerts(CHANNEL, store.associations.tracked(failing_only=True)[:3], ["S0ROUTE001"])
    resolved = SnapshotItem(item.key, HOSTILE, HOSTILE, None, acknowledged=False)
    changed = dataclasses.replace(
        build_digest(store, utcnow()),
        changes=DigestChanges(utcnow(), frozenset({item.key}), (resolved,), ()),
    )
    delivery.post_digest(CHANNEL, DigestView(changed))

    assert all(c.ok for c in fake_slack.calls), [(c.method, c.error) for c in fake_slack.calls]
    assert_inert(fake_slack)
    # The hostile text was shown (escaped), not dropped: in the history, the digest's scope
    # error, the modal, the acknowledgement's reason in the audit log.
    everything = "\n".join(text for _, _, text in slack_outputs(fake_slack))
    assert everything.count("&lt;!channel&gt;") >= 5
    assert "&lt;!channel&gt;" in body_text(audited["blocks"])
    # The digests' full lists went to their threads as CSV: no cell a spreadsheet would run.
    uploads = list(fake_slack.files.values())
    assert uploads
    assert all(u.content is not None for u in uploads)
    rows = [row for u in uploads for row in csv.reader(io.StringIO((u.content or b"").decode()))]
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA_START)]
    assert any(c.startswith("'=HYPERLINK(") for c in cells)


def test_aws_text_cannot_drive_a_terminal(make_sim: Callable[..., Sim], tmp_path: Any) -> None:
    sim = make_sim(hostile_fleet())
    store = Store(tmp_path / "t.db")
    settings = Settings(regions=("eu-west-1", "us-east-1"), db_path=str(tmp_path / "t.db"))
    summary = run_sweep(settings=settings, access=sim.access(), store=store)
    hostile_names(store)
    now = utcnow()
    failing_items = store.associations.tracked(failing_only=True)
    key = failing_items[0].key
    printed = [
        render_digest(DigestView(build_digest(store, now))),
        render_sweep(summary, store.sweeps.sweep_scopes(summary.sweep_id), failing_items, now),
        render_history(fetch_history(sim.access().ssm(key.scope), key), now),
    ]
    for text in printed:
        assert "\x1b" not in text
    assert "?[2J" in "".join(printed)  # shown, harmless
    store.close()


# -- IDs the store does not know, or knows elsewhere ----------------------------------------------


def test_unknown_ids_and_ids_from_another_account_get_a_clear_message(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    clock = MinuteClock()  # each refusal its own audit row
    h = make_harness(clock=clock)
    item = failing(h)
    aid, region = item.key.association_id, item.key.region
    sim.fleet.reset_calls()
    elsewhere = f"arn:aws:ssm:{region}:{STRANGER}:association/{aid}"
    unknown = "3f1c2d3e-1111-4222-8333-444455556666"

    cases = {
        f"rerun {elsewhere}": f"Association `{aid}` is not in {STRANGER} {region}: I know it in "
        f"{CALLER} {region}.",
        f"ack {elsewhere} for 1d OPS-1": f"is not in {STRANGER} {region}",
        f"unack {unknown}": f"I don't know association `{unknown}`: no sweep has seen it.",
        f"history {elsewhere}": f"is not in {STRANGER} {region}",
        f"status {elsewhere}": f"is not in {STRANGER} {region}",
    }
    for text, expected in cases.items():
        typed = h.command(text, user=OPERATOR)
        [answer] = wait_response(fake_slack, typed.response_url)
        assert answer["response_type"] == "ephemeral"
        assert expected in answer["text"], text
        clock.step()
    # A button whose value names another account (crafted, or from an old message).
    forged = f"{STRANGER}:{region}:{aid}"
    for action in (kit.ACTION_RERUN, kit.ACTION_ACK, kit.ACTION_HISTORY):
        clicked = h.click(action, forged, user=OPERATOR)
        [answer] = wait_response(fake_slack, clicked.response_url)
        assert f"is not in {STRANGER} {region}" in answer["text"]
        clock.step()

    assert not sim.fleet.calls, "nothing reached AWS"
    assert h.services.store.acks.active() == {}
    refused = [(e.action, e.account_id, e.outcome) for e in h.services.store.audit.entries()]
    assert sorted(refused) == sorted(
        [
            ("rerun", STRANGER, "refused"),
            ("ack", STRANGER, "refused"),
            ("unack", None, "refused"),
            ("rerun", STRANGER, "refused"),
            ("ack", STRANGER, "refused"),
        ]
    )


def test_history_is_read_only_where_the_bot_sweeps(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    """An ARN no sweep has seen may be read from AWS, but never in an account-region the bot
    does not sweep: a user must not make the bot assume a role wherever they like."""
    h = make_harness()
    sim.fleet.reset_calls()
    arn = f"arn:aws:ssm:eu-west-1:{STRANGER}:association/3f1c2d3e-1111-4222-8333-444455556666"
    typed = h.command(f"history {arn}")
    [answer] = wait_response(fake_slack, typed.response_url)
    assert answer["text"].startswith(f"I don't sweep account {STRANGER} in eu-west-1")
    assert not sim.fleet.calls

    swept = f"arn:aws:ssm:eu-west-1:{CALLER}:association/3f1c2d3e-1111-4222-8333-444455556666"
    typed = h.command(f"history {swept}")
    [answer] = wait_response(fake_slack, typed.response_url)
    assert "Could not read the history of `3f1c2d3e-1111-4222-8333-444455556666`" in answer["text"]
    assert "AssociationDoesNotExist" in answer["text"]


# -- oversize input ------------------------------------------------------------------------------


def test_oversize_input_gets_a_clear_message_and_loses_nothing(
    make_harness: Harness, fake_slack: FakeSlack
) -> None:
    h = make_harness()
    store = h.services.store
    item = failing(h)
    aid = item.key.association_id
    until = utcnow() + timedelta(days=2)
    store.acks.acknowledge(item.key, by=OPERATOR, reason="OPS-1 kept", until=until, now=utcnow())
    before = store.acks.active()

    huge = h.command("x" * 10_000, user=OPERATOR)
    answer = huge.json()
    assert answer["response_type"] == "ephemeral"
    assert body_text(answer["blocks"]).startswith(":warning: I don't know the command `xxxx")
    assert len(answer["text"]) < 400

    long_reason = h.command(f"ack {aid} for 3d {'r' * 5000}", user=OPERATOR)
    shown = body_text(long_reason.json()["blocks"])
    assert "The reason is 5000 characters; keep it under 500." in shown

    long_word = h.command(f"status {'9' * 10_000}")
    assert "is not an account ID, a region" in body_text(long_word.json()["blocks"])

    # Through the form: a field error, nothing stored.
    response_url = fake_slack.new_response_url()
    view = kit.ack_modal(item, kit.AckContext(item.key, CHANNEL, None, response_url)).to_dict()
    submitted = h.submit_view(view, ack_values("r" * 5000), user=OPERATOR)
    assert submitted.json() == {
        "response_action": "errors",
        "errors": {"reason": "Keep the reason under 500 characters."},
    }
    assert store.acks.active() == before
    assert store.audit.entries() == []


# -- the acknowledgement form --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "metadata", "errors"),
    [
        (ack_values(""), None, {"reason": "Say why it may stay failing for now"}),
        (ack_values("x" * 501), None, {"reason": "Keep the reason under 500 characters."}),
        (ack_values("OPS-1", preset=None), None, {"expiry": "Choose how long"}),
        (ack_values("OPS-1", preset="forever"), None, {"expiry": "Choose how long"}),
        (ack_values("OPS-1", date="2026-02-30"), None, {"until": "Pick a date from the calendar."}),
        (ack_values("OPS-1", date="yesterday"), None, {"until": "Pick a date from the calendar."}),
        (ack_values("OPS-1", date="2020-01-01"), None, {"until": "Pick a date after today."}),
        (ack_values("OPS-1"), "{not json", {"reason": "This form lost track of its association"}),
        (
            ack_values("OPS-1"),
            '{"k": "999999999999:eu-west-1:3f1c2d3e-1111-4222-8333-444455556666"}',
            {"reason": "ssm3-bot knows no association 3f1c2d3e-1111-4222-8333-444455556666 in "},
        ),
        ({}, None, {"reason": "Say why", "expiry": "Choose how long"}),
    ],
)
def test_a_bad_form_value_comes_back_as_a_field_error(
    make_harness: Harness,
    fake_slack: FakeSlack,
    values: dict[str, Any],
    metadata: str | None,
    errors: dict[str, str],
) -> None:
    h = make_harness()
    item = failing(h)
    view = kit.ack_modal(item, kit.AckContext(item.key, CHANNEL, None, None)).to_dict()
    if metadata is not None:
        view["private_metadata"] = metadata
    reply = h.submit_view(view, values, user=OPERATOR)
    assert reply.status == 200
    answer = reply.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == set(errors)
    for field, start in errors.items():
        assert answer["errors"][field].startswith(start)
    h.executor.shutdown(wait=True)  # the lazy half ran too, and did nothing
    assert h.services.store.acks.active() == {}
    assert h.services.store.audit.entries() == []
    assert [c.method for c in fake_slack.calls] == ["auth.test"]  # Bolt's, at start-up
