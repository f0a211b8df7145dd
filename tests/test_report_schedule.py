"""SSM3_REPORT_SCHEDULE in virtual time: the report for the month before goes to SSM3_CHANNEL
once per period, with two runners on one database too; a failed upload is tried again; a slot
missed while down is posted on coming back; `off` posts nothing; and through Slack's Web API
(the fake, with Slack's own refusals) it is an HTML file shared with a one-line headline."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import pytest
from slack_sdk import WebClient

from bot.aws.session import AwsAccess
from bot.scheduling.runner import Runner
from bot.scheduling.scheduler import build_scheduler
from bot.settings.config import Settings
from bot.slack.delivery import Delivery
from bot.store import Store
from tests.fakes.slack_api import FakeSlack
from tests.support.recording import RecordingPublisher
from tests.support.runners import make_runner as runner_on
from tests.support.virtual_time import FakeClock, run_until

BERLIN = ZoneInfo("Europe/Berlin")
CHANNEL = "C0EVIDENCE1"


def berlin(month: int, day: int, hour: int = 0, minute: int = 0, *, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


Make = Callable[..., tuple[Runner, RecordingPublisher, FakeClock]]


@pytest.fixture
def make_runner(tmp_path: Path) -> Make:
    def make(
        start: datetime, *, first_sweep: datetime | None = None, **changes: object
    ) -> tuple[Runner, RecordingPublisher, FakeClock]:
        settings = Settings(
            regions=("eu-west-1",),
            db_path=str(tmp_path / "reports.db"),
            channel=CHANNEL,
            timezone="Europe/Berlin",
        ).with_changes(**changes)
        store = Store(settings.db_path)
        if first_sweep is not None:  # the bot was sweeping by then: there is something to report
            store.sweeps.begin("s-first", first_sweep, 0, "test")
            store.sweeps.finish("s-first", first_sweep)
        clock = FakeClock(start)
        publisher = RecordingPublisher()
        access = AwsAccess(session=boto3.Session(region_name="eu-west-1"))
        runner = runner_on(
            settings=settings, store=store, access=access, publisher=publisher, clock=clock
        )
        return runner, publisher, clock

    return make


def test_two_runners_post_one_report_a_month_each_for_the_month_before(make_runner: Make) -> None:
    one, one_posts, clock = make_runner(berlin(10, 20), first_sweep=berlin(10, 1))
    two, two_posts, two_clock = make_runner(berlin(10, 20))  # another process, the same file
    assert one.store.ledger.holder != two.store.ledger.holder
    schedulers = [build_scheduler(one), build_scheduler(two)]
    fired = []
    for month_end in (berlin(11, 1, 12), berlin(12, 1, 12), berlin(1, 1, 12, year=2027)):
        for scheduler, each in zip(schedulers, (clock, two_clock), strict=True):
            fired += run_until(scheduler, each, month_end, jobs=["report"])
    assert sorted(when for _, when in fired) == sorted(
        2 * [berlin(11, 1, 9), berlin(12, 1, 9), berlin(1, 1, 9, year=2027)]
    )
    posted = one_posts.files + two_posts.files
    assert sorted(p.filename for p in posted) == [
        "ssm3-evidence-2026-10.html",
        "ssm3-evidence-2026-11.html",
        "ssm3-evidence-2026-12.html",
    ]
    assert {p.channel for p in posted} == {CHANNEL}


def test_two_processes_at_the_same_slot_post_once(make_runner: Make) -> None:
    slot = berlin(12, 1, 9)
    one, one_posts, _ = make_runner(slot, first_sweep=berlin(11, 2))
    two, two_posts, _ = make_runner(slot)
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def race(runner: Runner) -> None:
        barrier.wait()
        results.append(runner.reports.post_due())

    threads = [threading.Thread(target=race, args=(r,)) for r in (one, two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert len(one_posts.files + two_posts.files) == 1


def test_a_failed_upload_gives_the_period_back_and_the_reconcile_posts_it(
    make_runner: Make,
) -> None:
    runner, publisher, clock = make_runner(berlin(12, 1, 8, 59), first_sweep=berlin(11, 2))
    publisher.fail_next = True
    scheduler = build_scheduler(runner)
    run_until(scheduler, clock, berlin(12, 1, 9, 30), jobs=["report", "report-reconcile"])
    [posted] = publisher.files
    assert posted.filename == "ssm3-evidence-2026-11.html"
    # The reconcile job runs every five minutes from the scheduler's start, 08:59.
    assert runner.store.report_posts.posted_at(berlin(11, 1), berlin(12, 1), CHANNEL) == berlin(
        12, 1, 9, 4
    )


def test_a_slot_missed_while_down_is_posted_on_coming_back_once(make_runner: Make) -> None:
    runner, publisher, clock = make_runner(berlin(12, 3, 14), first_sweep=berlin(11, 2))
    scheduler = build_scheduler(runner)
    run_until(scheduler, clock, berlin(12, 3, 16), jobs=["report-reconcile"])
    assert [p.filename for p in publisher.files] == ["ssm3-evidence-2026-11.html"]


def test_a_month_that_ended_before_the_first_sweep_is_not_reported(make_runner: Make) -> None:
    runner, publisher, clock = make_runner(berlin(11, 1, 9), first_sweep=berlin(11, 15))
    assert not runner.reports.post_due()  # October: the bot was not sweeping yet
    clock.now = berlin(12, 1, 9)
    assert runner.reports.post_due()  # November: from the 15th
    assert [p.filename for p in publisher.files] == ["ssm3-evidence-2026-11.html"]


def test_off_posts_nothing_and_schedules_no_report(make_runner: Make) -> None:
    runner, publisher, _ = make_runner(
        berlin(12, 1, 9), first_sweep=berlin(11, 2), report_schedule="off"
    )
    scheduler = build_scheduler(runner)
    scheduler.start(paused=True)
    jobs = {job.id for job in scheduler.get_jobs()}
    scheduler.shutdown(wait=False)
    assert "report" not in jobs
    assert "report-reconcile" not in jobs
    assert "evidence-upkeep" in jobs  # summaries and pruning go on
    assert not runner.reports.post_due()
    assert publisher.files == []


def test_the_report_is_shared_as_an_html_file_in_the_channel_through_slack(
    make_runner: Make, fake_slack: FakeSlack
) -> None:
    runner, _, _ = make_runner(berlin(12, 1, 9), first_sweep=berlin(11, 2))
    client = WebClient(token=fake_slack.token, base_url=fake_slack.api_url)
    runner.reports.publisher = Delivery(client=client)
    assert runner.reports.post_due()
    [shared] = fake_slack.files.values()
    assert (shared.channel, shared.filename) == (CHANNEL, "ssm3-evidence-2026-11.html")
    assert shared.title == "SSM.3 evidence report: November 2026"
    assert shared.content is not None
    assert shared.content.startswith(b"<!DOCTYPE html>")
    assert shared.initial_comment is not None
    assert shared.initial_comment.startswith("*SSM.3 evidence report: November 2026*")
    posted = runner.store.report_posts.posted_at(berlin(11, 1), berlin(12, 1), CHANNEL)
    assert posted is not None


def test_slack_refusing_the_file_leaves_the_period_to_try_again(
    make_runner: Make, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    runner, _, clock = make_runner(berlin(12, 1, 9), first_sweep=berlin(11, 2))
    fake_slack.bot_channels = {"C0SOMEWHERE"}  # the bot was never invited to the channel
    client = WebClient(token=fake_slack.token, base_url=fake_slack.api_url)
    runner.reports.publisher = Delivery(client=client)
    assert not runner.reports.post_due()
    assert "not_in_channel" in caplog.text
    assert fake_slack.calls_to("files.completeUploadExternal", ok=False)
    fake_slack.bot_channels = None  # invited
    clock.now += timedelta(minutes=5)
    assert runner.reports.post_due()
