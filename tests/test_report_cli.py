"""`ssm3bot report` in process: the contract's JSON keys, the default period, HTML to a file,
one clear line for bad input, and strings from AWS and people that stay text in every form."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.report import last_full_month
from bot.store import Store
from bot.util.clock import iso
from tests.fakes.estate import association_id, store_estate

# A month well in the past, whatever the date (the report refuses a period that has not begun).
NOW = datetime(2024, 11, 10, 9, tzinfo=UTC)
HOSTILE_NAME = '=HYPERLINK("https://evil.example")<script>alert(1)</script>'
HOSTILE_REASON = '"><img src="https://evil.example/x.png" onerror="alert(1)"> @channel'


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("SSM3_", "SLACK_")):
            monkeypatch.delenv(name)
    path = tmp_path / "ssm3.db"
    monkeypatch.setenv("SSM3_DB_PATH", str(path))
    monkeypatch.setenv("SSM3_TIMEZONE", "Europe/Berlin")
    store = Store(path)
    keys = store_estate(store, failing=2, healthy=1, now=NOW, name=lambda i: HOSTILE_NAME)
    store.acks.acknowledge(
        keys[0], by="U0OPS00001", reason=HOSTILE_REASON, until=NOW + timedelta(days=3), now=NOW
    )
    store.audit.record(
        actor="U0OPS00001",
        action="fix",
        outcome="applied",
        now=NOW,
        key=keys[1],
        detail=HOSTILE_REASON,
    )
    store.close()
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["report", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


PERIOD = ("--since", "2024-11-01", "--until", "2024-12-01")


def test_the_json_form_has_the_contracts_keys(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, *PERIOD, "--format", "json")
    assert (status, err) == (0, "")
    document = json.loads(out)
    berlin = ZoneInfo("Europe/Berlin")
    assert document["period"]["since"] == iso(datetime(2024, 11, 1, tzinfo=berlin))
    assert document["period"]["until"] == iso(datetime(2024, 12, 1, tzinfo=berlin))
    assert {
        "period",
        "coverage",
        "daily",
        "streaks",
        "time_to_resolve",
        "acknowledgements",
        "actions",
        "open_at_end",
    } <= set(document)
    assert {"sweeps", "scopes", "gaps"} <= set(document["coverage"])
    assert set(document["coverage"]["scopes"][0]) >= {"account_id", "region", "sweeps", "ok"}
    assert set(document["coverage"]["gaps"][0]) >= {"account_id", "region", "from", "to"}
    assert set(document["daily"][0]) >= {"date", "noncompliant_instances", "failing"}
    assert set(document["streaks"][0]) >= {
        "account_id",
        "region",
        "association_id",
        "association_name",
        "document_name",
        "failure_kind",
        "started_at",
        "ended_at",
        "resolve_seconds",
    }
    assert set(document["time_to_resolve"]) >= {"count", "median_seconds", "p90_seconds"}
    assert set(document["acknowledgements"][0]) >= {
        "account_id",
        "region",
        "association_id",
        "by",
        "reason",
        "from",
        "until",
        "ended",
    }
    assert document["actions"] == [
        {
            "kind": "fix",
            "account_id": "111111111111",
            "region": "eu-west-1",
            "association_id": association_id(1),
            "by": "U0OPS00001",
            "at": iso(NOW),
            "detail": HOSTILE_REASON,
            "outcome": None,
            "checked_at": None,
        }
    ]
    assert document["open_at_end"] == 2
    assert re.fullmatch(r"[0-9a-f]{64}", document["sha256"])


def test_the_default_is_the_last_full_calendar_month(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "--format", "json")
    expected = last_full_month(datetime.now(UTC), ZoneInfo("Europe/Berlin"))
    document = json.loads(out)
    assert status == 0
    assert (document["period"]["since"], document["period"]["until"]) == (
        iso(expected.since),
        iso(expected.until),
    )


def test_html_to_a_file_says_where_and_its_hash(
    database: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, err = run(capsys, *PERIOD, "--out", str(tmp_path / "november.html"))
    html = (tmp_path / "november.html").read_text(encoding="utf-8")
    sha = re.search(r"SHA-256 of its JSON form: ([0-9a-f]{64})", err)
    assert (status, out) == (0, "")
    assert sha is not None
    assert sha.group(1) in html
    assert html.startswith("<!DOCTYPE html>")
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".ssm3-report-")]


def test_strings_from_aws_and_people_stay_text(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, html, _ = run(capsys, *PERIOD)
    assert "<script>" not in html
    assert "<img" not in html
    assert "evil.example" in html  # shown, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;&gt;&lt;img src=&quot;https://evil.example/x.png&quot;" in html
    _, text, _ = run(capsys, *PERIOD, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2
    assert all(r["association_name"] == "'" + HOSTILE_NAME for r in rows)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--since", "last tuesday"), "--since: 'last tuesday' is not a date"),
        (("--since", "2024-11-01", "--until", "2024-11-01"), "--until must be later than --since"),
        (("--since", "2023-01-01", "--until", "2024-11-01"), "at most 400 days"),
        (("--since", "2999-01-01", "--until", "2999-02-01"), "--since is in the future"),
        (("--out", "/"), "--out: / is a folder"),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(
    database: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], says: str
) -> None:
    status, out, err = run(capsys, *args)
    assert (status, out) == (2, "")
    assert says in err
    assert len(err.strip().splitlines()) == 1


def test_no_database_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SSM3_DB_PATH", str(tmp_path / "none.db"))
    status, out, err = run(capsys)
    assert (status, out) == (2, "")
    assert "no database at" in err
    assert not (tmp_path / "none.db").exists()


def test_the_readmes_recipe_reproduces_the_hash(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    recipe = re.search(r"--format json \| python3 -c '([^']+)'", readme)
    assert recipe is not None, "the README shows how to check the hash"
    _, out, _ = run(capsys, *PERIOD, "--format", "json")
    checked = subprocess.run(
        [sys.executable, "-c", recipe.group(1)],
        input=out,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert checked.stdout.strip() == json.loads(out)["sha256"]
