"""Names people know: account names from Organizations (ListAccounts' Name, read with the
account list when SSM3_ACCOUNTS=org) beside account IDs on every surface; an association
without a name is its document and a short ID, never a bare UUID."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from bot.app.digests import build_digest
from bot.core.digest import DigestView
from bot.render.spreadsheet import digest_csv
from bot.render.text import render_digest
from bot.slack import blocks as kit
from bot.util.clock import utcnow
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import CHANNEL, InProcessSlack
from tests.support.sim import Sim
from tests.support.slack import body_text, post_by_hand, wait_response

App = Callable[..., InProcessSlack]


def test_account_names_appear_wherever_organizations_knows_them(
    make_app: App, fake_slack: FakeSlack, sim: Sim
) -> None:
    app = make_app(accounts_from_org=True)
    store = app.services.store
    names = {a.account_id: a.name for a in sim.fleet.accounts.values()}
    assert store.account_names.names() == names
    assert sim.fleet.call_count("ListAccounts") == 1  # the names came with the account list

    digest = build_digest(store, utcnow())
    items = [*digest.failing, *digest.acknowledged]
    assert {t.association.account_name for t in items} == set(names.values())
    label = {a: f"{n} ({a})" for a, n in names.items()}

    terminal = render_digest(DigestView(digest))
    assert all(label[t.key.account_id] in terminal for t in items)
    rows = list(csv.DictReader(io.StringIO(digest_csv(digest))))
    assert {(r["account_id"], r["account_name"]) for r in rows} == set(names.items())

    post = post_by_hand(app.services.scheduled())
    shown = body_text(fake_slack.message(CHANNEL, post.ts).blocks)
    for account_id, name in names.items():
        assert f"`{name}` ({account_id})" in shown
    alert = body_text(kit.alert_message(items[:2], now=utcnow()).blocks_json())
    assert f"`{items[0].association.account_name}` ({items[0].key.account_id})" in alert

    item = items[0]
    status = app.command(f"status {item.key.association_id}")
    [answer] = wait_response(fake_slack, status.response_url)
    assert f"`{item.association.account_name}` ({item.key.account_id})" in answer["text"] + (
        body_text(answer["blocks"])
    )
    app.home_opened("U0ALICE01")
    home = fake_slack.home("U0ALICE01")
    assert home is not None
    assert f"`{item.association.account_name}` ({item.key.account_id})" in body_text(home["blocks"])

    # Unnamed associations are their document and a short ID, never a bare UUID.
    unnamed = [t for t in items if not t.association.association_name]
    assert unnamed, "the simulated fleet leaves some associations unnamed"
    for t in unnamed:
        a = t.association
        assert a.display_name == f"{a.document_name} ({a.association_id[:8]})"
        assert f"`{a.display_name}`" in shown
        assert a.association_id not in shown
