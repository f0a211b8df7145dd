"""Text bound for a terminal: one helper keeps control characters out of every path (renderers,
log lines, the CLI's error lines, doctor), and times say which zone they are in."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.digests import build_digest
from bot.core.digest import DigestView
from bot.doctor import Check, Report, render_report
from bot.render.audit import render_audit
from bot.render.text import render_digest
from bot.store import Store
from bot.util.clock import ago
from bot.util.redact import Redactor
from bot.util.strings import clip, one_line, terminal_safe
from tests.fakes.estate import store_estate

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
HOSTILE = "\x1b]0;pwned\x07\x1b[31mRED\r\x9b2J\x7fend"


def test_terminal_safe_keeps_layout_and_defuses_the_rest() -> None:
    assert terminal_safe("a\tb\nc") == "a\tb\nc"
    assert terminal_safe(HOSTILE) == "?]0;pwned??[31mRED??2J?end"
    assert one_line("two\nlines\x1b[0m  here") == "two lines?[0m here"
    assert clip("  a  b  ", 10) == "a b"
    assert clip("abcdef", 4) == "abc…"


@pytest.mark.parametrize(
    ("span", "words"),
    [(timedelta(seconds=20), "just now"), (timedelta(hours=3, minutes=5), "3h 5m ago")],
)
def test_ago(span: timedelta, words: str) -> None:
    assert ago(span) == words


def test_every_terminal_path_defuses_the_same_characters() -> None:
    """The renderers, the log redactor, the audit table and doctor all strip ESC, BEL, CR, C1."""
    record = logging.LogRecord("bot", logging.WARNING, __file__, 1, HOSTILE, None, None)
    Redactor().filter(record)
    doctor = render_report(Report((Check("AWS", "fail", HOSTILE, fix=HOSTILE),)))
    for text in (str(record.msg), doctor):
        assert not any(ch in text for ch in "\x1b\x07\r\x9b\x7f"), repr(text)
        assert "pwned" in text


def test_the_audit_table_defuses_control_characters(tmp_path: Path) -> None:
    store = Store(tmp_path / "audit.db")
    store.audit.record(actor="U1", action="ack", outcome="refused", now=NOW, detail=HOSTILE)
    table = render_audit(store.audit.entries(), None)
    store.close()
    assert "\x1b" not in table
    assert "\x9b" not in table
    assert "pwned" in table


def test_the_terminal_digest_says_an_acknowledgement_ends_in_utc(tmp_path: Path) -> None:
    store = Store(tmp_path / "digest.db")
    [key, *_] = store_estate(store, failing=2, now=NOW)
    until = datetime(2026, 12, 5, 11, 30, tzinfo=UTC)
    store.acks.acknowledge(key, by="U0OPERATOR", reason="OPS-1", until=until, now=NOW)
    text = render_digest(DigestView(build_digest(store, NOW)))
    store.close()
    assert "until 2026-12-05 11:30 UTC" in text
