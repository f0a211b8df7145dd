"""A digest people read: twice the failing rows per message within Slack's limits (as the fake
Web API judges them), fresh block_ids on every edit, and account names where Organizations
knows them, posted and edited through the fake API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.models import AssociationKey
from bot.scheduling.runner import Runner
from bot.settings.config import Settings
from bot.slack import blocks as kit
from bot.slack.services import web_client
from bot.store import Store
from tests.fakes.block_kit import MESSAGE_TEXT_TOTAL, check_message
from tests.fakes.estate import store_estate
from tests.fakes.fixtures import OPERATOR
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import InProcessSlack, ack_values
from tests.support.slack import body_text, digest_runner, post_by_hand, wait_response

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
CHANNEL = "C0DIGEST01"
# Rows the digest showed before "…and N more" on main (95ebdef), for 20 failing associations
# and for 200 alike (this estate; a row was a section and a three-button actions block):
# measured with digest_message over tests/fakes/estate.py, as below.
TODAY = 20


def runner(fake: FakeSlack, store: Store) -> Runner:
    client = web_client(Settings(slack_bot_token=fake.token, slack_api_url=fake.api_url))
    return digest_runner(client, store, clock=lambda: NOW)


@pytest.mark.parametrize("failing", [20, 200])
def test_the_digest_shows_twice_the_rows_within_slacks_limits(
    failing: int, fake_slack: FakeSlack, store: Store
) -> None:
    store_estate(store, failing=failing, now=NOW)
    store.account_names.remember({"111111111111": "payments-prod"}, now=NOW)
    post = post_by_hand(runner(fake_slack, store))

    assert len(fake_slack.calls_to("chat.postMessage", ok=True)) == 1
    blocks = fake_slack.message(CHANNEL, post.ts).blocks or []
    assert check_message("digest", blocks) == (None, [])
    assert len(blocks) <= kit.MESSAGE_BLOCKS
    assert sum(kit.text_chars(b) for b in blocks) <= MESSAGE_TEXT_TOTAL
    rows = digest_rows(blocks)
    body = body_text(blocks)
    if failing == 20:
        assert len(rows) == 20
        assert "more failing" not in body
        # A digest this short keeps the contract's three buttons on every row.
        assert all(kind == "buttons" for _, kind, _ in rows)
    else:
        assert len(rows) >= 2 * TODAY
        assert f"…and *{failing - len(rows)}* more failing associations" in body
        assert {kind for _, kind, _ in rows} >= {"menu"}
        assert rows[0][1] == "buttons", "the most urgent rows keep the buttons"
    for text, _, actions in rows:
        assert "`payments-prod` (111111111111) eu-west-1" in text
        assert [action for action, _ in actions] == [
            kit.ACTION_HISTORY,
            kit.ACTION_RERUN,
            kit.ACTION_ACK,
        ]
        assert len({key for _, key in actions}) == 1


def digest_rows(
    blocks: list[dict[str, Any]],
) -> list[tuple[str, str, list[tuple[str, AssociationKey]]]]:
    """Each failing row: its text, "buttons" or "menu", and its (action ID, association) list."""
    rows = []
    for index, block in enumerate(blocks):
        if not str(block.get("block_id", "")).startswith("row."):
            continue
        menu = block.get("accessory")
        if menu is not None:
            parsed = [kit.parse_row_value(o["value"]) for o in menu["options"]]
            actions = [p for p in parsed if p is not None]
            rows.append((block["text"]["text"], "menu", actions))
            continue
        buttons = blocks[index + 1]
        assert buttons["type"] == "actions"
        found = [(e["action_id"], kit.parse_key_value(e["value"])) for e in buttons["elements"]]
        rows.append((block["text"]["text"], "buttons", [(a, k) for a, k in found if k]))
    return rows


def test_every_edit_draws_fresh_block_ids(fake_slack: FakeSlack, store: Store) -> None:
    store_estate(store, failing=5, now=NOW)
    slack = runner(fake_slack, store)
    post = post_by_hand(slack)
    first = [b["block_id"] for b in fake_slack.message(CHANNEL, post.ts).blocks or []]
    assert slack.refresh_digest(also=[post])
    message = fake_slack.message(CHANNEL, post.ts)
    again = [b["block_id"] for b in message.blocks or []]
    assert message.updates == 1
    assert len(set(first)) == len(first) == len(again) == len(set(again))
    assert set(first).isdisjoint(again)
    # Each names the render it came from: a click on a stale copy says which.
    assert {kit.render_of(b) for b in first} != {kit.render_of(b) for b in again}
    assert len({kit.render_of(b) for b in again}) == 1


def test_a_rows_menu_answers_where_the_buttons_did(
    make_app: Callable[..., InProcessSlack], fake_slack: FakeSlack
) -> None:
    app = make_app()
    store = app.services.store
    post = post_by_hand(app.services.scheduled())
    # A long digest's rows carry their actions in a menu (see above); this one's options, as
    # such a row would offer them for the most urgent failure.
    item = store.associations.tracked(failing_only=True)[0]
    menu = {
        option.value.split("|")[0]: option.value
        for option in kit.row_menu(item).options  # type: ignore[union-attr]
    }

    history = app.choose(kit.ACTION_ROW, menu[kit.ACTION_HISTORY], message_ts=post.ts)
    [answer] = wait_response(fake_slack, history.response_url)
    assert answer["response_type"] == "ephemeral"
    assert f"History: {item.association.display_name}" in body_text(answer["blocks"])

    # Acknowledge: the form, remembering the digest, so the news goes to its thread.
    app.choose(kit.ACTION_ROW, menu[kit.ACTION_ACK], user=OPERATOR, message_ts=post.ts)
    form = fake_slack.calls_to("views.open", ok=True)[-1].params["view"]
    assert form["callback_id"] == kit.ACK_MODAL
    app.submit_view(form, ack_values("OPS-9: vendor fix due Friday"), user=OPERATOR)
    [news] = fake_slack.thread(CHANNEL, post.ts)
    assert f"<@{OPERATOR}> acknowledged" in (news.text or "") + body_text(news.blocks)
    assert fake_slack.message(CHANNEL, post.ts).updates == 1  # the digest, edited in place

    stale = app.choose(kit.ACTION_ROW, "ssm3_frobnicate|nonsense", message_ts=post.ts)
    [told] = wait_response(fake_slack, stale.response_url)
    assert "out of date" in told["text"]
