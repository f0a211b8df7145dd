"""Checks that need no network: the configuration, the database's folder, the schedules."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from bot.doctor.checks import Check
from bot.settings.config import ConfigError, Settings

SECTION = "Configuration"


def configuration(problems: list[ConfigError], dotenv: Path | None) -> list[Check]:
    """One failure per bad variable (doctor goes on with the others unset), or one pass."""
    source = (
        ".env and the environment" if dotenv is not None and dotenv.is_file() else "the environment"
    )
    if not problems:
        return [Check(SECTION, "pass", f"configuration valid (read from {source})")]
    return [
        Check(
            SECTION,
            "fail",
            str(problem),
            f"correct {problem.variable} in {source} (.env.example describes every variable)",
        )
        for problem in problems
    ]


def database(settings: Settings) -> Check:
    """The store must be able to write its file and the WAL files beside it."""
    if settings.db_path == ":memory:":
        return Check(
            SECTION,
            "warn",
            "SSM3_DB_PATH is :memory:: nothing survives a restart",
            "set SSM3_DB_PATH to a file",
        )
    path = Path(settings.db_path)
    folder = path.parent if str(path.parent) else Path(".")
    fix = (
        "mount a writable volume there (Docker: -v ssm3-data:/data) or point SSM3_DB_PATH elsewhere"
    )
    if not folder.is_dir():
        return Check(SECTION, "fail", f"database {path}: folder {folder} does not exist", fix)
    if not os.access(folder, os.W_OK | os.X_OK):
        return Check(SECTION, "fail", f"database {path}: folder {folder} is not writable", fix)
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return Check(SECTION, "fail", f"database {path} is not readable and writable", fix)
    state = "exists" if path.exists() else "will be created"
    return Check(SECTION, "pass", f"database {path} writable ({state})")


def schedules(settings: Settings, now: datetime) -> Check:
    from bot.core.slots import cron_trigger, next_fire

    zone = settings.zone
    parts = []
    for what, expression in (
        ("sweeps", settings.sweep_schedule),
        ("digest", settings.digest_schedule),
    ):
        upcoming = next_fire(cron_trigger(expression, zone), now.astimezone(zone))
        when = f"{upcoming:%a %H:%M}" if upcoming else "never"
        parts.append(f"{what} '{expression}' (next {when})")
    return Check(SECTION, "pass", f"schedules in {settings.timezone}: " + ", ".join(parts))
