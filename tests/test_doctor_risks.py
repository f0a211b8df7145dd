"""`ssm3bot doctor`'s Security section: the risky combinations it can see without the network
(sync mode without operators, HTTP mode and what to put in front of it, a `.env` others may
change, a database others may read), each with its fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.cli import main
from bot.doctor.risks import risks
from bot.settings.config import Settings


def statuses(settings: Settings, dotenv: Path | None = None) -> dict[str, str]:
    return {check.text: check.status for check in risks(settings, dotenv)}


def test_sync_mode_without_operators_fails_with_both_variables_named() -> None:
    [check] = risks(Settings(securityhub="sync", slack_app_token="xapp-1"), None)
    assert check.status == "fail"
    assert "SSM3_SECURITYHUB" in check.text
    assert "SSM3_OPERATORS" in check.text
    assert check.fix is not None
    assert "SSM3_OPERATORS" in check.fix
    with_operators = Settings(securityhub="sync", operators=("U0OPS00001",), slack_app_token="x")
    assert statuses(with_operators) == {
        "sync mode: only operators may acknowledge (SSM3_OPERATORS)": "pass"
    }


def test_http_mode_is_a_warning_that_says_what_to_put_in_front() -> None:
    [_, http] = risks(Settings(), None)  # no app token: HTTP mode
    assert http.status == "warn"
    assert http.fix is not None
    assert "reverse proxy" in http.fix
    assert "/metrics" in http.fix
    assert "Socket Mode" in http.fix
    assert all(c.status == "pass" for c in risks(Settings(slack_app_token="xapp-1"), None))


def test_a_dotenv_others_may_change_and_a_database_others_may_read_are_warnings(
    tmp_path: Path,
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("SSM3_REGIONS=eu-west-1\n")
    database = tmp_path / "ssm3.db"
    database.write_bytes(b"")
    os.chmod(dotenv, 0o666)  # noqa: S103  # the risk under test
    os.chmod(database, 0o644)
    settings = Settings(db_path=str(database), slack_app_token="xapp-1")
    found = statuses(settings, dotenv)
    assert [s for t, s in found.items() if ".env can be changed by other users" in t] == ["warn"]
    assert [s for t, s in found.items() if "readable by other users" in t] == ["warn"]
    os.chmod(dotenv, 0o600)
    os.chmod(database, 0o600)
    assert set(statuses(settings, dotenv).values()) == {"pass"}


def test_doctor_exits_1_and_says_so_for_sync_without_operators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("SSM3_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SSM3_SECURITYHUB", "sync")
    monkeypatch.setenv("SSM3_DB_PATH", str(tmp_path / "d.db"))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "Security" in out
    assert "✘ SSM3_SECURITYHUB: sync makes acknowledging operator-only" in out
