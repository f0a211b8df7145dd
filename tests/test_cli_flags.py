"""The command line's global flags and help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from tests.support.sim import Sim


def test_global_flags_work_after_the_subcommand_too() -> None:
    parser = build_parser()
    assert parser.parse_args(["digest", "--debug"]).debug is True
    assert parser.parse_args(["--debug", "digest"]).debug is True
    assert parser.parse_args(["digest"]).debug is False


# -- --json for doctor, health and history ---------------------------------------------------------


@pytest.fixture
def at_sim(sim: Sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sim:
    """The process environment pointed at the simulator, in an empty folder (no .env)."""
    monkeypatch.chdir(tmp_path)
    for name, value in sim.env(
        SSM3_REGIONS="eu-west-1", SSM3_DB_PATH=str(tmp_path / "x.db")
    ).items():
        monkeypatch.setenv(name, value)
    return sim


def test_health_json(at_sim: Sim, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["health", "--json"]) == 1  # no sweep yet
    before = json.loads(capsys.readouterr().out)
    assert (before["healthy"], before["last_sweep_at"]) == (False, None)
    assert main(["sweep"]) == 0
    capsys.readouterr()
    assert main(["health", "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["healthy"] is True
    assert after["last_sweep_at"]
    assert after["max_age_s"] == 2 * 3600
    assert after["lines"][0]


def test_history_json_explains_the_failure(at_sim: Sim, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--json"]) == 0
    swept = json.loads(capsys.readouterr().out)
    failing = next(a for a in swept["associations"] if a["failing"])
    assert main(["history", failing["association_id"], "--json"]) == 0
    (history,) = json.loads(capsys.readouterr().out)
    assert history["association_id"] == failing["association_id"]
    assert history["failure_kind"] == failing["failure_kind"]
    assert history["failed_count"] == len(failing["failed_targets"])
    assert {t["instance_id"] for t in history["failed_targets"]} <= {
        t["instance_id"] for t in failing["failed_targets"]
    }
    assert history["executions"][0]["status"] in {"Failed", "TimedOut"}
    assert {c["instance_id"] for c in history["compliance"]} <= set(
        failing["noncompliant_instances"]
    )


def test_doctor_json_lists_every_check_with_its_fix(
    at_sim: Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["exit_code"] == code == 1  # no Slack token: a failed check
    assert report["failed"] == sum(1 for c in report["checks"] if c["status"] == "fail") >= 1
    assert all(c["fix"] for c in report["checks"] if c["status"] == "fail")
    assert any(c["section"] == "AWS" and c["status"] == "pass" for c in report["checks"])


@pytest.mark.parametrize(
    "command",
    [
        "sweep",
        "digest",
        "history",
        "diagnose",
        "audit",
        "ack",
        "unack",
        "health",
        "doctor",
        "serve",
        "demo",
    ],
)
def test_every_subcommand_help_says_what_it_does_its_exit_codes_and_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "exit status:\n  0 " in text
    assert f"example:\n  ssm3bot {command}" in text or "ssm3bot serve" in text
