"""Log lines on stderr: text (the default) or, with SSM3_LOG_FORMAT=json, one JSON object a
line for a log pipeline: time, level, logger, message, and what the line is about where it is
known (the sweep, the account-region, the association, the Slack user) from `log_context`.

The context lives in contextvars, so it follows a request or a sweep through the calls it
makes (and into the sweep's pool, which runs each scope in a copy of the sweep's context).
Every line still goes through the redactor (bot/util/redact.py) on the handler: the message and the
traceback are rewritten before they are formatted, and the context's values are redacted too.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from bot.util.redact import REDACTOR

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The context's keys, in the order a JSON line lists them.
FIELDS = ("sweep_id", "account_id", "region", "association_id", "slack_user", "job")

_context: ContextVar[Mapping[str, str]] = ContextVar("ssm3_log_context", default={})  # noqa: B039
_json = False


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Name what the lines logged inside are about (None values are left out)."""
    unknown = set(fields) - set(FIELDS)
    assert not unknown, f"unknown log context fields: {unknown}"
    token = _context.set({**_context.get(), **{k: str(v) for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


def context() -> dict[str, str]:
    return dict(_context.get())


class JsonFormatter(logging.Formatter):
    """One JSON object a line; newlines in a message or a traceback stay inside its string."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        known = _context.get()
        entry.update({k: REDACTOR.redact(known[k]) for k in FIELDS if k in known})
        if record.exc_info and not record.exc_text:
            record.exc_text = REDACTOR.redact(self.formatException(record.exc_info))
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def json_enabled() -> bool:
    """Whether stderr carries JSON lines only (so the CLI's own lines are JSON too)."""
    return _json


def stderr_handler(log_format: str) -> logging.Handler:
    """The handler for stderr in `log_format` ("text" or "json")."""
    global _json  # noqa: PLW0603  # one process, one stderr format
    _json = log_format == "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if _json else logging.Formatter(TEXT_FORMAT))
    return handler


def emit(message: str, level: int = logging.ERROR, name: str = "ssm3bot") -> None:
    """One of the CLI's own lines ("ssm3bot: …" in text) as a JSON line on stderr, redacted."""
    record = logging.LogRecord(name, level, __file__, 0, message, None, None)
    REDACTOR.filter(record)
    print(JsonFormatter().format(record), file=sys.stderr, flush=True)
