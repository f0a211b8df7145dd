"""SSM3_LOG_FORMAT=json: one JSON object a line (time, level, logger, message, and what the line
is about where known), through the same redactor as text lines; a bad value is one line, exit 2."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.util import logs
from bot.util.logs import JsonFormatter, log_context
from bot.util.redact import MASK, Redactor
from tests.support.processes import BOT_TOKEN


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    redactor = Redactor()
    redactor.add([BOT_TOKEN])
    handler.addFilter(redactor)
    logger = logging.getLogger("bot.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_a_json_line_names_what_it_is_about_and_hides_secrets(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_log
    with log_context(sweep_id="20260302T090000Z-abc123", account_id="111111111111"):
        with log_context(region="eu-west-1", slack_user="U0ALICE01"):
            logger.warning("scope not swept: token %s\nsecond line \x1b[31m", BOT_TOKEN)
        logger.info("outside the inner context")
    try:
        raise RuntimeError(f"Slack said no to {BOT_TOKEN}")
    except RuntimeError:
        logger.exception("failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3, "one line each, newlines stay inside the strings"
    first, second, third = (json.loads(line) for line in lines)
    assert first["time"].endswith("Z")
    assert {k: first[k] for k in first if k != "time"} == {
        "level": "WARNING",
        "logger": "bot.test_logs",
        "message": f"scope not swept: token {MASK}\nsecond line ?[31m",
        "sweep_id": "20260302T090000Z-abc123",
        "account_id": "111111111111",
        "region": "eu-west-1",
        "slack_user": "U0ALICE01",
    }
    assert "region" not in second
    assert second["sweep_id"] == "20260302T090000Z-abc123"
    assert "sweep_id" not in third
    assert "RuntimeError: Slack said no to [redacted]" in third["exception"]
    assert BOT_TOKEN not in stream.getvalue()


def test_a_bad_log_format_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SSM3_LOG_FORMAT", "yaml")
    assert main(["digest"]) == 2
    assert capsys.readouterr().err == "ssm3bot: SSM3_LOG_FORMAT: 'yaml' is not 'text' or 'json'\n"


def test_the_cli_own_lines_are_json_in_json_mode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SSM3_LOG_FORMAT", "json")
    monkeypatch.setenv("SSM3_DB_PATH", str(tmp_path / "none.db"))
    try:
        assert main(["digest"]) == 2
    finally:
        logs.stderr_handler("text")  # back to text for the tests that follow
    [line] = capsys.readouterr().err.splitlines()
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert entry["message"].startswith("SSM3_DB_PATH: no database at")
