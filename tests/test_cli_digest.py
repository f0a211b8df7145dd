"""`ssm3bot digest` shows what the channel's digest shows: the same failures called out as older
than SSM3_ESCALATE_AFTER, and the trend's days ending at midnight in SSM3_TIMEZONE (both come
from the one composer, bot/app/digests.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app.digests import build_digest
from bot.cli import main
from bot.render.text import render_digest
from bot.settings.config import Settings
from bot.store import Store
from bot.util.clock import utcnow
from tests.fakes.estate import store_estate
from tests.support.recording import RecordingPublisher
from tests.support.runners import make_runner

ZONE = "Pacific/Kiritimati"  # UTC+14: 09:00 and 11:00 UTC fall on two local days
CHANNEL = "C0DIGEST01"


def lines_about(text: str, *starts: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(starts)]


def test_the_cli_digest_shows_the_channel_digests_escalations_and_trend_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "ssm3.db"
    store = Store(db)
    day = (utcnow() - timedelta(days=10)).replace(hour=9, minute=0, second=0, microsecond=0)
    store_estate(store, failing=7, now=day)  # failing for ten days: past the 7-day age
    store_estate(store, failing=7, now=day + timedelta(hours=2))
    # In UTC both sweeps are one day (no trend to show); in the zone they are two.
    assert build_digest(store, utcnow()).trend.known == 1  # type: ignore[union-attr]

    settings = Settings(
        db_path=str(db), channel=CHANNEL, timezone=ZONE, escalate_after=timedelta(days=7)
    )
    publisher = RecordingPublisher()
    runner = make_runner(settings=settings, store=store, publisher=publisher)
    runner.post_digests_now()
    [channel_view] = publisher.views
    assert channel_view.zone == ZoneInfo(ZONE)
    assert len(channel_view.digest.escalated) == 7
    channel = render_digest(channel_view)
    store.close()

    monkeypatch.chdir(tmp_path)
    for name, value in {
        "SSM3_DB_PATH": str(db),
        "SSM3_TIMEZONE": ZONE,
        "SSM3_ESCALATE_AFTER": "7d",
        "SSM3_CHANNEL": CHANNEL,
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["digest"]) == 0
    cli = capsys.readouterr().out

    shown = lines_about(cli, "OLDER THAN", "Last 14 days")
    assert shown == lines_about(channel, "OLDER THAN", "Last 14 days")
    [trend, older] = sorted(shown)
    assert older.startswith("OLDER THAN 7d: 7 failing - patch-scan-00006 ")
    assert older.endswith(" and 2 more")
    assert trend.startswith("Last 14 days: failing ")
