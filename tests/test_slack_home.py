"""The App Home tab, through signed Events API and interaction requests dispatched into the Bolt
app (lazy listeners inline), the fake Web API judging every view, the simulator as AWS:
opening the tab publishes that person's dashboard; its History, Re-run, Acknowledge and Sweep
buttons answer in a modal (a Home tab has no channel and no response_url) and publish it again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.app.digests import build_digest
from bot.core.digest import DigestView
from bot.slack import blocks as kit
from bot.store import Store
from tests.fakes.block_kit import check_home_view, check_view
from tests.fakes.estate import store_estate
from tests.fakes.fixtures import OPERATOR
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import InProcessSlack, ack_values
from tests.support.sim import Sim
from tests.support.slack import body_text, failing

App = Callable[..., InProcessSlack]
NOBODY = "U0NOBODY01"


def home_of(fake: FakeSlack, user: str) -> dict[str, Any]:
    view = fake.home(user)
    assert view is not None, f"no Home tab published for {user}"
    assert check_home_view({k: v for k, v in view.items() if k not in {"id", "hash"}}) == []
    return view


def actions(view: dict[str, Any]) -> list[tuple[str, str]]:
    """(action_id, value) of every button in a view, in order."""
    found = []
    for block in view["blocks"]:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("type") == "button":
                found.append((element["action_id"], element["value"]))
    return found


def modal(fake: FakeSlack, before: int) -> dict[str, Any]:
    """The one modal opened since `before` views.open calls, as it stands now."""
    opened = fake.calls_to("views.open", ok=True)[before:]
    assert len(opened) == 1, [c.params.get("view", {}).get("title") for c in opened]
    [view_id] = [v["id"] for v in fake.views.values() if v.get("callback_id") is None][-1:]
    view = fake.views[view_id]
    assert check_view({k: v for k, v in view.items() if k not in {"id", "hash"}}) == []
    return view


def test_opening_the_home_tab_publishes_the_failures_with_working_buttons(
    make_app: App, fake_slack: FakeSlack
) -> None:
    app = make_app()
    store = app.services.store
    assert app.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P").json() == {
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    }

    opened = app.home_opened(NOBODY)
    assert opened.status == 200
    view = home_of(fake_slack, NOBODY)
    shown = body_text(view["blocks"])
    items = store.associations.tracked(failing_only=True)
    assert f"*Failing ({len(items)})*" in shown
    for item in items:
        assert f"`{item.association.display_name}`" in shown
    assert "*Health*: healthy: the last sweep finished" in shown
    buttons = actions(view)
    assert (kit.ACTION_SWEEP, "sweep") in buttons
    for item in items:
        value = kit.key_value(item.key)
        assert [a for a, v in buttons if v == value] == [
            kit.ACTION_HISTORY,
            kit.ACTION_RERUN,
            kit.ACTION_ACK,
        ]
    # The Messages tab opening sends the same event: it publishes nothing; nor does Slack's
    # retry of an event already acted on.
    published = len(fake_slack.calls_to("views.publish"))
    app.home_opened(NOBODY, tab="messages")
    retried = app.post_signed(
        opened.sent, content_type="application/json", headers={"X-Slack-Retry-Num": "1"}
    )
    assert retried[0] == 200
    assert len(fake_slack.calls_to("views.publish")) == published

    # History from the Home tab: a modal at once, then the history in it.
    item = failing(app)
    before = len(fake_slack.calls_to("views.open"))
    clicked = app.click(kit.ACTION_HISTORY, kit.key_value(item.key), user=NOBODY, home=True)
    assert clicked.status == 200
    answer = modal(fake_slack, before)
    assert f"History: {item.association.display_name}" in body_text(answer["blocks"])
    assert "Recent executions" in body_text(answer["blocks"])
    assert fake_slack.calls_to("views.update", ok=True)
    assert fake_slack.calls_to("response_url") == []  # a view has none to answer at


def test_acknowledge_rerun_and_sweep_from_the_home_tab(
    make_app: App, fake_slack: FakeSlack, sim: Sim
) -> None:
    app = make_app()
    store = app.services.store
    first, second = store.associations.tracked(failing_only=True)[:2]
    app.home_opened(OPERATOR)

    # Acknowledge: refused to someone not an operator, in a modal (there is nowhere else);
    # for an operator the form opens, and once saved the Home tab shows who, until when, why.
    before = len(fake_slack.calls_to("views.open"))
    app.click(kit.ACTION_ACK, kit.key_value(first.key), user=NOBODY, home=True)
    assert "operator" in body_text(modal(fake_slack, before)["blocks"]).lower()
    app.click(kit.ACTION_ACK, kit.key_value(first.key), user=OPERATOR, home=True)
    form = fake_slack.calls_to("views.open", ok=True)[-1].params["view"]
    assert form["callback_id"] == kit.ACK_MODAL
    submitted = app.submit_view(form, ack_values("OPS-7: patch window Saturday"), user=OPERATOR)
    assert submitted.status == 200
    k = first.key
    assert store.acks.active()[(k.account_id, k.region, k.association_id)].by == OPERATOR
    shown = body_text(home_of(fake_slack, OPERATOR)["blocks"])
    assert "*Acknowledged (1)*" in shown
    assert "_OPS-7: patch window Saturday_" in shown
    assert "*Acknowledgements ending within 7 days (1)*" in shown

    # Re-run (Slack's confirm dialog already asked): started, and said so in a modal.
    before = len(fake_slack.calls_to("views.open"))
    app.click(kit.ACTION_RERUN, kit.key_value(second.key), user=OPERATOR, home=True)
    assert sim.fleet.call_count("StartAssociationsOnce") == 1
    said = body_text(modal(fake_slack, before)["blocks"])
    assert f"re-ran `{second.association.display_name}`" in said

    # Sweep: permission first (SSM3_OPERATORS is set), then a sweep, and the tab again.
    sweeps = store.sweeps.last()
    before = len(fake_slack.calls_to("views.open"))
    app.click(kit.ACTION_SWEEP, "sweep", user=NOBODY, home=True)
    refused = body_text(modal(fake_slack, before)["blocks"])
    assert "operator" in refused.lower()
    assert store.sweeps.last() == sweeps
    published = len(fake_slack.calls_to("views.publish"))
    before = len(fake_slack.calls_to("views.open"))
    app.click(kit.ACTION_SWEEP, "sweep", user=OPERATOR, home=True)
    assert "Sweep finished" in body_text(modal(fake_slack, before)["blocks"])
    assert store.sweeps.last() != sweeps
    assert len(fake_slack.calls_to("views.publish")) > published


def test_a_large_home_tab_fits_and_puts_the_viewers_associations_first(store: Store) -> None:
    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    keys = store_estate(store, failing=200, now=now)
    theirs = set(keys[150:153])  # late in the digest's order
    view = kit.home_view(
        DigestView(build_digest(store, now)),
        health=None,
        first=lambda item: item.key in theirs,
    )
    assert check_home_view(view) == []
    assert len(view["blocks"]) <= kit.VIEW_BLOCKS
    rows = [b for b in view["blocks"] if b["block_id"].startswith("row.")]
    assert len(rows) == kit.HOME_SHOWN
    assert all(r["text"]["text"].startswith("*Yours* · ") for r in rows[:3])
    assert not any("*Yours*" in r["text"]["text"] for r in rows[3:])
    shown = body_text(view["blocks"])
    assert "*Failing (200)*: 3 of yours first" in shown
    assert f"…and *{200 - kit.HOME_SHOWN}* more failing" in shown
    assert "*Last sweep*: none has finished yet." in shown


def test_a_route_members_home_tab_puts_the_routes_failures_first(
    make_app: App, fake_slack: FakeSlack, sim: Sim
) -> None:
    """A user in the user group a route mentions sees that route's failures first, marked."""
    from bot.core.routing import Route
    from tests.fakes.fixtures import GROUP, GROUPIE

    member = next(a for a in sim.fleet.accounts if a != sim.fleet.caller_account)
    app = make_app(
        accounts=tuple(sim.fleet.accounts),
        routes=(Route(channel="C0PAYMENTS", accounts=frozenset({member}), mention=GROUP),),
    )
    theirs = [
        t
        for t in app.services.store.associations.tracked(failing_only=True)
        if t.key.account_id == member
    ]
    assert theirs
    app.home_opened(GROUPIE)
    rows = [
        b["text"]["text"]
        for b in home_of(fake_slack, GROUPIE)["blocks"]
        if b.get("type") == "section"
        and "`" in b.get("text", {}).get("text", "")
        and "non-compliant" in b["text"]["text"]
    ]
    marked = [r for r in rows if r.startswith("*Yours* · ")]
    assert len(marked) == len(theirs)
    assert rows[: len(theirs)] == marked, "the route's failures come first"
    app.home_opened(NOBODY)  # not in the group: no "yours"
    assert "*Yours*" not in body_text(home_of(fake_slack, NOBODY)["blocks"])


def test_a_sweep_brings_the_tabs_of_recent_viewers_up_to_date(
    make_app: App, fake_slack: FakeSlack, sim: Sim
) -> None:
    """Slack keeps a published Home tab as it was: after a sweep, those who opened theirs
    lately get it published anew (with the new failure), nobody else gets one."""
    from tests.support.fleet import fail, healthy

    app = make_app()
    app.home_opened(NOBODY)
    before = len(fake_slack.calls_to("views.publish", ok=True))
    victim = healthy(sim.fleet)
    fail(sim.fleet, victim)
    app.services.scheduled().sweep_job()
    published = fake_slack.calls_to("views.publish", ok=True)[before:]
    assert [call.params["user_id"] for call in published] == [NOBODY]
    name = next(
        t.association.display_name
        for t in app.services.store.associations.tracked(failing_only=True)
        if t.key.association_id == victim
    )
    assert f"`{name}`" in body_text(home_of(fake_slack, NOBODY)["blocks"])
    assert fake_slack.home(OPERATOR) is None
