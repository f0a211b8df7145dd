"""Posting the digest: any fleet size fits Slack's limits (checked by the fake Web API), the full
list goes into the thread as a CSV that matches the store, AWS text renders inert, and
rate limits and server errors are retried rather than dropped."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import SectionBlock

from bot.app.digests import build_digest
from bot.core.digest import DigestView
from bot.models import DigestMessage, InstanceKey, SecurityHubCheck
from bot.render.spreadsheet import FAILING_COLUMNS, INSTANCE_COLUMNS, failing_row
from bot.scheduling.runner import Runner
from bot.settings.config import Settings
from bot.slack.blocks import DIGEST_SHOWN, digest_message
from bot.slack.delivery import Delivery
from bot.slack.services import web_client
from bot.store import Store
from bot.util.clock import iso
from tests.fakes.block_kit import texts
from tests.fakes.estate import store_estate
from tests.fakes.slack_api import FakeSlack
from tests.support.slack import digest_runner, post_by_hand

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
CHANNEL = "C0DIGEST01"
HOSTILE = "<!channel> *pwned* <http://evil|click>"


def client_for(fake: FakeSlack) -> WebClient:
    return web_client(Settings(slack_bot_token=fake.token, slack_api_url=fake.api_url))


def delivery(fake: FakeSlack, store: Store) -> Delivery:
    return Delivery(client=client_for(fake), clock=lambda: NOW)


def runner(fake: FakeSlack, store: Store) -> Runner:
    return digest_runner(client_for(fake), store, clock=lambda: NOW)


def posted(fake: FakeSlack, store: Store) -> DigestMessage:
    return post_by_hand(runner(fake, store))


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


@pytest.mark.parametrize("failing", [0, 1, 49, 50, 51, 5000])
def test_digest_of_any_size_is_accepted_by_slack(
    failing: int, fake_slack: FakeSlack, store: Store
) -> None:
    store_estate(store, failing=failing, healthy=3, now=NOW)
    post = posted(fake_slack, store)

    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.ok, call.error
    message = fake_slack.message(CHANNEL, post.ts)
    assert len(message.blocks or []) <= 50
    assert store.digests.latest(CHANNEL) == post
    body = "\n".join(text for _, text in texts(message.blocks))
    if failing == 0:
        assert "all 3 associations compliant" in body
        assert fake_slack.files == {}
        return
    assert f"*{failing}* failing" in body
    shown = sum(1 for b in message.blocks or [] if str(b.get("block_id", "")).startswith("row."))
    assert 1 <= shown <= DIGEST_SHOWN
    if shown < failing:
        assert f"…and *{failing - shown}* more failing" in body
        [uploaded] = fake_slack.files.values()
        assert uploaded.thread_ts == post.ts
        assert uploaded.channel == CHANNEL
        assert uploaded.content is not None
        rows = csv_rows(uploaded.content)
        assert len(rows) == failing
    else:
        assert fake_slack.files == {}


def test_the_5000_csv_rows_match_the_store(fake_slack: FakeSlack, store: Store) -> None:
    keys = store_estate(store, failing=5000, now=NOW)
    store.acks.acknowledge(
        keys[7], by="U0ALICE01", reason="OPS-1 =cmd", until=NOW + timedelta(days=3), now=NOW
    )
    post = posted(fake_slack, store)

    [uploaded] = fake_slack.files.values()
    assert uploaded.thread_ts == post.ts
    assert uploaded.content is not None
    rows = csv_rows(uploaded.content)
    assert list(rows[0]) == list(FAILING_COLUMNS)
    tracked = {
        t.key.association_id: t for t in store.associations.tracked(failing_only=True, now=NOW)
    }
    assert len(rows) == len(tracked) == 5000
    for row in rows:
        expected = failing_row(tracked[row["association_id"]])
        assert list(row.values()) == ["" if v is None else str(v) for v in expected]
    acked = next(r for r in rows if r["association_id"] == keys[7].association_id)
    assert acked["acknowledged_by"] == "U0ALICE01"
    assert acked["acknowledged_until"] == iso(NOW + timedelta(days=3))
    assert acked["acknowledged_reason"] == "OPS-1 =cmd"  # not at the start, so left alone
    # the unacknowledged come first, in the digest's order; the acknowledged one last
    assert rows[-1]["association_id"] == keys[7].association_id


def test_hostile_association_name_renders_inert(fake_slack: FakeSlack, store: Store) -> None:
    store_estate(store, failing=1, now=NOW, name=lambda i: HOSTILE)
    post = posted(fake_slack, store)

    message = fake_slack.message(CHANNEL, post.ts)
    section = message.blocks[3]  # type: ignore[index]
    assert section["text"]["type"] == "mrkdwn"
    first_line = section["text"]["text"].splitlines()[0]
    assert (
        first_line
        == "*`&lt;!channel&gt; *pwned* &lt;http://evil|click&gt;`* · `AWS-RunShellScript`"
    )
    for kind, text in texts(message.blocks):
        if kind == "plain_text":
            continue  # Slack shows plain_text literally: no mentions, links or formatting
        assert "<!channel>" not in text
        assert "<http" not in text
        if "pwned" in text:
            # the name sits inside a code span, where Slack applies no bold
            assert re.search(r"`[^`]*\*pwned\*[^`]*`", text)
    # the row's buttons show AWS text only as plain text (the re-run dialog names it)
    buttons = message.blocks[4]  # type: ignore[index]
    assert buttons["type"] == "actions"
    for element in buttons["elements"]:
        assert element["text"]["type"] == "plain_text"
        for part in (element.get("confirm") or {}).values():
            assert part["type"] == "plain_text"
    assert "pwned" not in (message.text or "")


def test_fake_slack_rejects_an_over_limit_message(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    with pytest.raises(SlackApiError) as too_many:
        client.chat_postMessage(channel=CHANNEL, text="t", blocks=[section] * 51)
    assert too_many.value.response["error"] == "invalid_blocks"
    long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    with pytest.raises(SlackApiError) as too_long:
        client.chat_postMessage(channel=CHANNEL, text="t", blocks=[long_section])
    assert "must be less than 3001 characters" in str(too_long.value.response["response_metadata"])
    heavy = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}}
    with pytest.raises(SlackApiError) as total:
        client.chat_postMessage(channel=CHANNEL, text="t", blocks=[heavy] * 5)
    assert total.value.response["error"] == "msg_blocks_too_long"
    button = {"type": "button", "text": {"type": "plain_text", "text": "b" * 76}, "action_id": "a"}
    with pytest.raises(SlackApiError):
        client.chat_postMessage(
            channel=CHANNEL, text="t", blocks=[{"type": "actions", "elements": [button]}]
        )
    assert client.chat_postMessage(channel=CHANNEL, text="t", blocks=[section] * 50)["ok"]


def test_a_digest_built_without_limits_would_be_rejected(
    fake_slack: FakeSlack, store: Store
) -> None:
    """The limit tests can fail: the same builder with its caps lifted is refused."""
    store_estate(store, failing=60, now=NOW)
    message = digest_message(DigestView(build_digest(store, NOW)), shown=60)
    unlimited = [block.to_dict() for block in message.blocks]
    assert len(unlimited) <= 50  # the budget still holds when asked for more...
    from bot.slack import blocks as kit

    # ...and without the budget (every association with its buttons) Slack would refuse it.
    items = build_digest(store, NOW).failing
    raw = [
        b.to_dict()
        for item in items
        for b in (
            SectionBlock(text=kit.md(kit.association_line(item, NOW))),
            kit.association_buttons(item),
        )
    ]
    with pytest.raises(SlackApiError):
        client_for(fake_slack).chat_postMessage(channel=CHANNEL, text="t", blocks=raw)


def test_refresh_edits_the_posted_message(fake_slack: FakeSlack, store: Store) -> None:
    keys = store_estate(store, failing=3, now=NOW)
    sender = runner(fake_slack, store)
    post = post_by_hand(sender)
    store.acks.acknowledge(keys[0], by="U0ALICE01", reason="known", until=None, now=NOW)
    assert sender.refresh_digest(also=[post])
    message = fake_slack.message(CHANNEL, str(post.ts))
    assert message.updates == 1
    body = "\n".join(text for _, text in texts(message.blocks))
    assert "*Acknowledged (1)*" in body
    assert "<@U0ALICE01>" in body


def test_rate_limits_and_server_errors_are_retried(fake_slack: FakeSlack, store: Store) -> None:
    store_estate(store, failing=2, now=NOW)
    fake_slack.fail("chat.postMessage", status=429, retry_after=0, times=2)
    fake_slack.fail("chat.update", status=503, times=1)
    sender = runner(fake_slack, store)
    assert sender.refresh_digest(also=[post_by_hand(sender)])
    posts = fake_slack.calls_to("chat.postMessage")
    assert [c.status for c in posts] == [429, 429, 200]
    assert [c.status for c in fake_slack.calls_to("chat.update")] == [503, 200]
    assert len(fake_slack.messages) == 1


def test_sweep_post_from_the_command_line(
    sim: object, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    from tests.support.processes import ssm3bot

    env = sim.env(  # type: ignore[attr-defined]
        SLACK_BOT_TOKEN=fake_slack.token,
        SSM3_SLACK_API_URL=fake_slack.api_url,
        SSM3_CHANNEL=CHANNEL,
        SSM3_REGIONS="eu-west-1,us-east-1",
        SSM3_DB_PATH=str(tmp_path / "cli.db"),
    )
    result = ssm3bot(["sweep", "--post"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.ok
    assert "digest posted to C0DIGEST01" in result.stderr
    store = Store(tmp_path / "cli.db")
    assert store.digests.latest(CHANNEL) is not None
    store.close()

    missing = ssm3bot(["sweep", "--post"], {**env, "SSM3_CHANNEL": ""}, tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        "ssm3bot: SSM3_CHANNEL: required for --post (a channel ID like C0123456789), "
        "or routes in SSM3_ROUTES_FILE"
    )


def test_orphans_and_security_hubs_disagreements_go_to_the_thread_as_csv(
    fake_slack: FakeSlack, store: Store
) -> None:
    """A digest that fits whole still gets the instances behind its orphan and Security Hub
    lines in its thread: those are what an auditor reconciles by hand."""
    store_estate(store, failing=2, now=NOW)
    sweep = store.sweeps.last()
    assert sweep is not None
    store.sweeps.save_security_hub_check(
        sweep.sweep_id,
        SecurityHubCheck(
            region="eu-west-1",
            checked_at=NOW,
            failed_instances=5,
            explained=4,
            unexplained=(InstanceKey("111111111111", "eu-west-1", "i-0aaaaaaaaaaaaaaa1"),),
            sweep_only=(InstanceKey("111111111111", "eu-west-1", "i-0bbbbbbbbbbbbbbb2"),),
        ),
    )
    post = posted(fake_slack, store)

    [uploaded] = fake_slack.files.values()
    assert uploaded.thread_ts == post.ts
    assert uploaded.content is not None
    rows = csv_rows(uploaded.content)
    assert list(rows[0]) == list(INSTANCE_COLUMNS)
    assert [(r["instance_id"], r["finding"]) for r in rows] == [
        ("i-0aaaaaaaaaaaaaaa1", "security_hub_only"),
        ("i-0bbbbbbbbbbbbbbb2", "sweep_only"),
    ]
    blocks = fake_slack.message(CHANNEL, post.ts).blocks
    assert blocks is not None
    assert "Security Hub fails *1* instance the sweep finds compliant" in str(blocks)


def test_no_instances_csv_when_security_hub_agrees(fake_slack: FakeSlack, store: Store) -> None:
    store_estate(store, failing=2, now=NOW)
    sweep = store.sweeps.last()
    assert sweep is not None
    store.sweeps.save_security_hub_check(
        sweep.sweep_id,
        SecurityHubCheck(region="eu-west-1", checked_at=NOW, failed_instances=4, explained=4),
    )
    posted(fake_slack, store)
    assert fake_slack.files == {}
