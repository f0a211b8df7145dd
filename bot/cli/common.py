"""What every `ssm3bot` command shares: exit statuses, one-line messages on stderr, results on
stdout (a reader that leaves early is no error), the settings and the store."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from bot.settings.config import ConfigError, Settings
from bot.util import redact
from bot.util.strings import one_line

if TYPE_CHECKING:
    from bot.store import Store

EXIT_OK, EXIT_NO_SCOPE, EXIT_USAGE, EXIT_STRICT = 0, 1, 2, 3
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader left

log = logging.getLogger("bot")


class UsageError(Exception):
    """Bad usage that argparse cannot see (an unknown association ID, say): exit 2."""


def say(message: str, level: int = logging.ERROR) -> None:
    """One line on stderr (errors, and what happened besides the results); AWS's and users'
    text in it cannot drive the terminal. With SSM3_LOG_FORMAT=json, a JSON line like the logs'."""
    from bot.util import logs

    if logs.json_enabled():
        logs.emit(one_line(message), level)
    else:
        print(f"ssm3bot: {one_line(message)}", file=sys.stderr)


@contextmanager
def _results() -> Iterator[TextIO]:
    """Stdout for results. A reader that stops early (`| head`) is no error: the rest of the
    output is dropped and the command finishes with its own exit status."""
    try:
        yield sys.stdout
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()


def out(text: str) -> None:
    with _results() as stream:
        stream.write(text)


def _discard_stdout() -> None:
    """Point stdout at /dev/null so nothing written later (nor the interpreter's final flush)
    meets the closed pipe again (the recipe in Python's `signal` documentation)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def os_actor() -> str:
    """Who the audit log names for a CLI action: the operating-system account this process runs
    as (its uid), never $USER or $LOGNAME, which anyone can set (to a Slack user's ID, say)."""
    import pwd

    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid without a passwd entry (containers run as arbitrary uids)
        return f"uid:{uid}"


def _settings() -> Settings:
    settings = Settings.from_env()
    redact.REDACTOR.add(
        (settings.slack_bot_token, settings.slack_app_token, settings.slack_signing_secret)
    )
    return settings


def open_store(settings: Settings) -> Store:
    """The store at SSM3_DB_PATH, created when missing; a path that cannot hold one (a folder,
    another kind of file, a place that cannot be written) is a configuration error."""
    from pathlib import Path

    from bot.store import Store

    path = settings.db_path
    if path != ":memory:" and Path(path).is_dir():
        raise ConfigError("SSM3_DB_PATH", f"{path} is a folder; name a file (like {path}/ssm3.db)")
    try:
        return Store(path)
    except sqlite3.Error as exc:
        raise ConfigError("SSM3_DB_PATH", f"cannot use {path} as the database: {exc}") from None
    except OSError as exc:
        raise ConfigError("SSM3_DB_PATH", f"cannot create {path}: {exc.strerror or exc}") from None


def _existing_store(settings: Settings) -> Store | None:
    """The store, or None when SSM3_DB_PATH names no file yet (never create one to read it)."""
    from pathlib import Path

    path = Path(settings.db_path)
    if settings.db_path != ":memory:" and not path.is_file() and not path.is_dir():
        return None
    return open_store(settings)


def required_store(
    settings: Settings, *, otherwise: str = " yet; run `ssm3bot sweep` first"
) -> Store:
    """The store for a command that only reads one: its one refusal when there is none."""
    store = _existing_store(settings)
    if store is None:
        raise UsageError(f"SSM3_DB_PATH: no database at {settings.db_path}{otherwise}")
    return store


def _print_json(document: object) -> None:
    with _results() as stream:  # streamed: an organisation's sweep document is large
        json.dump(document, stream, indent=2, sort_keys=False)
        stream.write("\n")
