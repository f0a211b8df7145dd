"""Every variable bot/settings/config.py reads is declared in Settings' VARIABLES, named in .env.example
with its default and a one-line comment, and in the README's configuration table; and nothing
else is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings.config import VARIABLES, Settings

ROOT = Path(__file__).resolve().parent.parent
# `NAME=` or `# NAME=` (commented out at its default) at the start of a line.
_EXAMPLE_LINE = re.compile(r"^(?:# )?([A-Z][A-Z0-9_]+)=(.*)$")
# Variables with a literal default, as .env.example and the README spell it.
DEFAULTS = {
    "SSM3_SLACK_API_URL": Settings().slack_api_url,
    "SSM3_ROLE_NAME": Settings().role_name,
    "SSM3_CONCURRENCY": str(Settings().concurrency),
    "SSM3_SWEEP_SCHEDULE": Settings().sweep_schedule,
    "SSM3_DIGEST_SCHEDULE": Settings().digest_schedule,
    "SSM3_TIMEZONE": Settings().timezone,
    "SSM3_ALERTS": "on" if Settings().alerts else "off",
    "SSM3_RERUN_COOLDOWN": str(Settings().rerun_cooldown_s),
    "SSM3_DB_PATH": Settings().db_path,
    "SSM3_HTTP_PORT": str(Settings().http_port),
    "SSM3_SECURITYHUB": Settings().securityhub,
    "SSM3_LOG_FORMAT": Settings().log_format,
    "SSM3_ACK_WORKFLOW": Settings().ack_workflow,
    "SSM3_ESCALATE_AFTER": "7d",
    "SSM3_TRIAGE": Settings().triage,
    "SSM3_FULL_SWEEP_SCHEDULE": Settings().full_sweep_schedule,
    "SSM3_REPORT_SCHEDULE": Settings().report_schedule,
}


def read_in_config() -> list[str]:
    source = (ROOT / "bot" / "settings" / "config.py").read_text(encoding="utf-8")
    return re.findall(r"\bget\(\s*\"([A-Z][A-Z0-9_]+)\"\s*\)", source)


def example_entries() -> dict[str, tuple[str, str]]:
    """.env.example's variables: name -> (the comment line above it, the value it shows)."""
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    entries: dict[str, tuple[str, str]] = {}
    for number, line in enumerate(lines):
        match = _EXAMPLE_LINE.match(line)
        if match:
            name, value = match.groups()
            assert name not in entries, f"{name} appears twice in .env.example"
            entries[name] = (lines[number - 1], value)
    return entries


def readme_rows() -> dict[str, str]:
    """The README's configuration table: variable -> its default cell."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\| `([A-Z][A-Z0-9_]+)` \|(.*)\|(.*)\|\s*$", line)
        if match:
            rows[match.group(1)] = match.group(3).strip()
    return rows


def test_settings_declares_every_variable_config_reads() -> None:
    read = read_in_config()
    assert len(read) == len(set(read)), "a variable is read twice"
    assert sorted(read) == sorted(VARIABLES)


def test_env_example_names_every_variable_and_nothing_else() -> None:
    assert sorted(example_entries()) == sorted(VARIABLES)


@pytest.mark.parametrize("name", VARIABLES)
def test_env_example_comments_each_variable_with_its_default(name: str) -> None:
    comment, value = example_entries()[name]
    assert comment.startswith("# "), f"{name}: a one-line comment goes above it"
    assert not _EXAMPLE_LINE.match(comment), f"{name}: a one-line comment goes above it"
    assert "Default: " in comment, f"{name}: say its default in the comment above it"
    if name in DEFAULTS:
        assert comment.rstrip().endswith(f"Default: {DEFAULTS[name]}")
        assert value == DEFAULTS[name], f"{name} is commented out at its default"
    else:
        assert value == "", f"{name} has no literal default to show"


def test_the_readme_table_names_every_variable_and_nothing_else() -> None:
    assert sorted(readme_rows()) == sorted(VARIABLES)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_the_readme_table_states_each_literal_default(name: str) -> None:
    assert readme_rows()[name] == f"`{DEFAULTS[name]}`"


def test_the_operators_default_says_who_may_do_what() -> None:
    """Unset SSM3_OPERATORS shuts re-runs but leaves acknowledging open, except in sync mode,
    which needs it: both docs say all three."""
    assert readme_rows()["SSM3_OPERATORS"] == (
        "unset → nobody may re-run; acknowledging and sweeping are open to all (not in `sync` mode)"
    )
    comment, _ = example_entries()["SSM3_OPERATORS"]
    assert "nobody may re-run; anyone may acknowledge and sweep" in comment
    assert "required with SSM3_SECURITYHUB=sync" in comment


def test_copying_the_example_changes_nothing(tmp_path: Path) -> None:
    """A .env copied from .env.example, with only the Slack lines filled, gives the defaults."""
    dotenv = tmp_path / ".env"
    dotenv.write_text((ROOT / ".env.example").read_text(encoding="utf-8"))
    assert Settings.from_env({}, dotenv=dotenv) == Settings()
