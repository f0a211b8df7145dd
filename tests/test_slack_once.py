"""Once only: two Re-run clicks inside SSM3_RERUN_COOLDOWN, or Slack's own retries of a request
(X-Slack-Retry-Num), start the association once, counted in the simulator's call log; a retried
`/ssm3 sweep` sweeps once; the second click is told when the re-run started and by whom."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from bot.sim.fleet import Latency
from bot.slack import blocks as kit
from bot.slack.once import SeenRequests, identity
from tests.fakes.fixtures import GROUPIE, OPERATOR
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import CHANNEL, Reply, SlackHarness
from tests.support.raw_db import raw_database
from tests.support.sim import Sim
from tests.support.slack import body_text, failing, responses, wait_response

Harness = Callable[..., SlackHarness]


def announced(fake: FakeSlack, reply: Reply) -> bool:
    return any(p.get("response_type") == "in_channel" for p in responses(fake, reply.response_url))


def test_two_rerun_clicks_at_once_start_it_once_and_the_second_is_told_when_and_by_whom(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness()
    item = failing(h)
    # AWS answers slowly, so both clicks are in flight together.
    sim.fleet.add_latency(Latency(0.3, operation="DescribeAssociation"))
    replies: dict[str, Reply] = {}

    def click(user: str) -> None:
        replies[user] = h.click(
            kit.ACTION_RERUN, kit.key_value(item.key), user=user, ephemeral=True
        )

    clickers = [threading.Thread(target=click, args=(u,)) for u in (OPERATOR, GROUPIE)]
    for t in clickers:
        t.start()
    for t in clickers:
        t.join()
    assert all(r.status == 200 and r.body == b"" for r in replies.values())

    fake_slack.wait_for(lambda: any(announced(fake_slack, r) for r in replies.values()))
    [winner] = [u for u, r in replies.items() if announced(fake_slack, r)]
    [loser] = [u for u in replies if u != winner]
    [told] = wait_response(fake_slack, replies[loser].response_url)
    shown = body_text(told["blocks"])
    rerun = h.services.store.reruns.last(item.key)
    assert rerun is not None
    assert rerun.by == winner
    assert f"was already re-run by <@{winner}> at <!date^{int(rerun.at.timestamp())}^" in shown
    assert "it can be re-run again after <!date^" in shown
    assert sim.fleet.call_count("StartAssociationsOnce") == 1

    outcomes = sorted((e.actor, e.outcome) for e in h.services.store.audit.entries())
    assert (winner, "started") in outcomes
    assert (loser, "refused") in outcomes


def test_slacks_retries_of_a_rerun_click_start_it_once(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness()
    item = failing(h)
    sim.fleet.add_latency(Latency(0.3, operation="StartAssociationsOnce"))
    first = h.click(kit.ACTION_RERUN, kit.key_value(item.key), user=OPERATOR, ephemeral=True)
    # Slack did not see the 200 in time (say): it sends the same request twice more.
    retries = [h.retry(first, n) for n in (1, 2)]
    assert [(r.status, r.body) for r in retries] == [(200, b""), (200, b"")]

    answers = wait_response(fake_slack, first.response_url, count=3)  # removed, ran, checked
    assert answers[0] == {"delete_original": True}
    assert "re-ran" in answers[1]["text"]
    assert sim.fleet.call_count("StartAssociationsOnce") == 1
    # The retries never reached a listener: no refusal for the cooldown, no second answer.
    audit = [(e.action, e.outcome) for e in reversed(h.services.store.audit.entries())]
    assert audit[0] == ("rerun", "started")
    assert [a for a in audit if a[0] == "rerun"] == [("rerun", "started")]
    assert len(responses(fake_slack, first.response_url)) == 3


def test_a_retried_sweep_command_sweeps_once(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    h = make_harness()
    sim.fleet.reset_calls()
    first = h.command("sweep", user=OPERATOR)
    retry = h.retry(first, 1, "http_timeout")
    assert (retry.status, retry.body) == (200, b"")
    started, done = wait_response(fake_slack, first.response_url, count=2)
    assert started["text"].startswith("Sweeping every account-region now")
    assert done["text"].startswith("Sweep finished")
    h.executor.shutdown(wait=True)
    assert len(responses(fake_slack, first.response_url)) == 2
    store = h.services.store
    with raw_database(store) as db:
        [slack_sweeps] = db.rows("SELECT count(*) AS n FROM sweeps WHERE trigger = 'slack'")
    assert slack_sweeps["n"] == 1
    sweeps = [e.outcome for e in store.audit.entries() if e.action == "sweep"]
    assert sweeps == ["done", "started"]


def test_a_retry_whose_first_attempt_never_arrived_is_acted_on(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    """Only repeats are dropped: a retry is the first arrival when the original was lost."""
    h = make_harness()
    item = failing(h)
    response_url = fake_slack.new_response_url()
    sent = urlencode(
        {
            "command": "/ssm3",
            "text": f"status {item.key.association_id}",
            "user_id": "U0ALICE01",
            "channel_id": "C0DIGEST01",
            "team_id": "T0FAKETEAM",
            "response_url": response_url,
            "trigger_id": "9911.T0FAKETEAM",
        }
    ).encode()
    retried = h.retry(Reply(0, b"", response_url, sent), 1, "http_timeout")
    assert retried.status == 200
    [answer] = wait_response(fake_slack, response_url)
    assert "Status *Failed*" in str(answer["blocks"])


def test_a_replayed_signed_request_is_not_acted_on_again(
    make_harness: Harness, fake_slack: FakeSlack, sim: Sim
) -> None:
    """Someone who captured a signed Re-run click replays it inside the signature window."""
    h = make_harness(rerun_cooldown_s=0)  # not even the cooldown stands in the way
    item = failing(h)
    first = h.click(kit.ACTION_RERUN, kit.key_value(item.key), user=OPERATOR, ephemeral=True)
    fake_slack.wait_for(lambda: announced(fake_slack, first))
    status, body = h.post_signed(first.sent)
    assert (status, body) == (200, b"")
    again = h.click(kit.ACTION_RERUN, kit.key_value(item.key), user=OPERATOR, ephemeral=True)
    fake_slack.wait_for(lambda: announced(fake_slack, again))  # a new click is a new request
    assert sim.fleet.call_count("StartAssociationsOnce") == 2


def test_seen_requests_forget_after_their_time_and_beyond_capacity() -> None:
    now = [0.0]
    seen = SeenRequests(remember_s=60, capacity=3, monotonic=lambda: now[0])
    assert seen.first_time("a")
    assert not seen.first_time("a")
    now[0] = 59.0
    assert not seen.first_time("a")
    now[0] = 61.0
    assert seen.first_time("a")
    for name in "bcd":
        assert seen.first_time(name)
    assert seen.first_time("a")  # pushed out by capacity, oldest first
    assert not seen.first_time("d")


def test_a_request_is_known_by_what_slack_keeps_across_retries() -> None:
    assert identity({"event_id": "Ev1", "trigger_id": "t"}, "x") == "event_id:Ev1"
    assert identity({"trigger_id": "123.456"}, "x") == "trigger_id:123.456"
    assert identity({"type": "view_closed"}, "a") == identity({}, "a")
    assert identity({}, "a") != identity({}, "b")


def test_socket_mode_retries_are_acted_on_once(fake_slack: FakeSlack, tmp_path: Path) -> None:
    """Socket Mode redelivers an envelope not acknowledged in time; Bolt passes its
    retry_attempt on as X-Slack-Retry-Num, and the same guard drops the repeat."""
    from concurrent.futures import ThreadPoolExecutor

    from slack_bolt.request import BoltRequest

    from bot.aws.session import AwsAccess
    from bot.slack.app import build_app
    from bot.slack.services import Services, web_client
    from bot.store import Store
    from tests.fakes.fixtures import slack_settings

    settings = slack_settings(
        fake_slack,
        str(tmp_path / "socket.db"),
        slack_signing_secret=None,
        slack_app_token="xapp-1-x",
    )
    store = Store(settings.db_path)
    services = Services(
        settings=settings, store=store, access=AwsAccess(), client=web_client(settings)
    )
    executor = ThreadPoolExecutor(max_workers=2)
    app = build_app(services, executor=executor)
    response_url = fake_slack.new_response_url()
    body = urlencode(
        {"command": "/ssm3", "text": "audit", "user_id": "U0ALICE01", "channel_id": CHANNEL,
         "response_url": response_url, "trigger_id": "4242.T0FAKETEAM"}
    )  # fmt: skip
    first = app.dispatch(BoltRequest(body=body, mode="socket_mode"))
    again = app.dispatch(
        BoltRequest(
            body=body,
            mode="socket_mode",
            headers={"x-slack-retry-num": "1", "x-slack-retry-reason": "timeout"},
        )
    )
    executor.shutdown(wait=True)
    assert (first.status, again.status, again.body) == (200, 200, "")
    assert len(responses(fake_slack, response_url)) == 1
    store.close()
