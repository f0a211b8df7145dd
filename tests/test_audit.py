"""`ssm3bot audit`: the audit log exported as evidence, through the real console script."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.models import AssociationKey
from bot.store import Store
from tests.support.processes import ssm3bot

KEY = AssociationKey("222222222222", "eu-west-1", "5f1c2a9e-0b7d-4c3e-9a51-7d2e8b6f4c10")
HOSTILE = '=HYPERLINK("http://evil.example","x")\x1b[2J\nsecond line'


@pytest.fixture
def audit_db(tmp_path: Path) -> Path:
    """Four entries across a week: a refusal, a re-run, an ack with a hostile reason, a sweep."""
    path = tmp_path / "ssm3.db"
    store = Store(path)
    store.audit.record(
        actor="U0VIEWER01",
        action="rerun",
        outcome="refused",
        now=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        key=KEY,
        channel="C0OPS00001",
        detail="not an operator (SSM3_OPERATORS)",
    )
    store.audit.record(
        actor="U0OPERATOR",
        action="rerun",
        outcome="started",
        now=datetime(2026, 11, 23, 22, 30, tzinfo=UTC),
        key=KEY,
        channel="C0OPS00001",
    )
    store.audit.record(
        actor="U0OPERATOR",
        action="ack",
        outcome="recorded",
        now=datetime(2026, 11, 24, 9, 15, tzinfo=UTC),
        key=KEY,
        channel="C0OPS00001",
        detail=HOSTILE,
    )
    store.audit.record(
        actor="U0OPERATOR",
        action="sweep",
        outcome="started",
        now=datetime(2026, 11, 25, 7, 0, tzinfo=UTC),
        channel="C0OPS00001",
    )
    store.close()
    return path


def _run(args: list[str], db: Path, **env: str) -> tuple[int, str, str]:
    result = ssm3bot(["audit", *args], {"SSM3_DB_PATH": str(db), **env}, db.parent)
    return result.returncode, result.stdout, result.stderr


def test_json_is_every_entry_oldest_first(audit_db: Path) -> None:
    code, out, err = _run(["--json"], audit_db)
    assert (code, err) == (0, "")
    entries = json.loads(out)
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("rerun", "refused"),
        ("rerun", "started"),
        ("ack", "recorded"),
        ("sweep", "started"),
    ]
    assert entries[0] == {
        "id": 1,
        "at": "2026-11-20T08:00:00Z",
        "actor": "U0VIEWER01",
        "action": "rerun",
        "outcome": "refused",
        "account_id": "222222222222",
        "region": "eu-west-1",
        "association_id": KEY.association_id,
        "channel": "C0OPS00001",
        "detail": "not an operator (SSM3_OPERATORS)",
        "repeats": 0,
    }
    assert entries[2]["detail"] == HOSTILE, "JSON keeps the evidence exactly as recorded"
    assert entries[3]["association_id"] is None


def test_csv_has_a_header_and_no_cell_a_spreadsheet_would_run(audit_db: Path) -> None:
    code, out, _ = _run(["--csv"], audit_db)
    assert code == 0
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0] == [
        "id",
        "at",
        "actor",
        "action",
        "outcome",
        "account_id",
        "region",
        "association_id",
        "channel",
        "detail",
        "repeats",
    ]
    assert len(rows) == 5
    assert rows[1][:5] == ["1", "2026-11-20T08:00:00Z", "U0VIEWER01", "rerun", "refused"]
    assert rows[4][5:8] == ["", "", ""], "missing values are empty cells"
    assert rows[3][9] == "'" + HOSTILE
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_the_table_is_for_people_and_keeps_terminal_controls_out(audit_db: Path) -> None:
    code, out, _ = _run([], audit_db)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "AUDIT LOG (4 entries, UTC)"
    assert lines[1].split() == [
        "AT",
        "ACTOR",
        "ACTION",
        "OUTCOME",
        "ASSOCIATION",
        "CHANNEL",
        "DETAIL",
    ]
    assert len(lines) == 6, "one line per entry, whatever the detail holds"
    assert f"222222222222/eu-west-1/{KEY.association_id}" in lines[2]
    assert "\x1b" not in out


@pytest.mark.parametrize(
    ("since", "zone", "actions"),
    [
        ("2026-11-24", "UTC", ["ack", "sweep"]),
        ("2026-11-23T22:30:00Z", "UTC", ["rerun", "ack", "sweep"]),
        ("2026-11-23T23:00:00+01:00", "UTC", ["rerun", "ack", "sweep"]),
        # A bare date is midnight where the team is: 2026-11-24 00:00 in Berlin is 23:00 UTC.
        ("2026-11-24", "Europe/Berlin", ["ack", "sweep"]),
        ("2026-11-23", "Pacific/Auckland", ["rerun", "ack", "sweep"]),
        ("2026-12-01", "UTC", []),
    ],
)
def test_since_takes_a_date_or_a_full_time(
    audit_db: Path, since: str, zone: str, actions: list[str]
) -> None:
    code, out, _ = _run(["--since", since, "--json"], audit_db, SSM3_TIMEZONE=zone)
    assert code == 0
    assert [e["action"] for e in json.loads(out)] == actions


def test_nothing_since_a_date_says_so(audit_db: Path) -> None:
    code, out, _ = _run(["--since", "2026-12-01"], audit_db)
    assert code == 0
    assert out == "No audit entries since 2026-12-01T00:00:00Z.\n"
    assert _run(["--since", "2026-12-01", "--csv"], audit_db)[1].count("\n") == 1


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "28/11/2026", ""])
def test_a_bad_date_is_one_clear_line_and_exit_2(audit_db: Path, since: str) -> None:
    code, out, err = _run(["--since", since, "--json"], audit_db)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("ssm3bot: --since:")
    assert "YYYY-MM-DD" in err


def test_json_and_csv_together_is_bad_usage(audit_db: Path) -> None:
    code, out, _ = _run(["--json", "--csv"], audit_db)
    assert code == 2
    assert out == ""


def test_a_missing_database_is_named_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    code, out, err = _run(["--json"], missing)
    assert code == 2
    assert out == ""
    assert (
        err == f"ssm3bot: SSM3_DB_PATH: no database at {missing}; nothing has been recorded there\n"
    )
    assert not missing.exists()
