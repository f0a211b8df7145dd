"""Slash-command text of any shape always gets a reply and never an exception: fuzzed with
hypothesis through the real path (signature check, Bolt, the ack, the lazy listener, the store,
the simulator as AWS, the fake Web API judging every answer against Slack's limits).

Two runs: many examples dispatched straight into the Bolt app as signed requests (the lazy half
on the calling thread, so each example is complete when it returns), and fewer as signed HTTP
requests into the app served by waitress, exactly as Slack sends them."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_bolt.request import BoltRequest

from bot.slack.app import build_app
from bot.slack.parsing import _ALIASES, ParseError, parse_command
from bot.slack.services import Services, web_client
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from tests.fakes.block_kit import check_message
from tests.fakes.fixtures import GROUPIE, OPERATOR, slack_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import (
    CHANNEL,
    SIGNING_SECRET,
    TEAM,
    InlineExecutor,
    SlackHarness,
    sign,
)
from tests.support.sim import Sim
from tests.support.slack import responses

USERS = (OPERATOR, GROUPIE, "U0NOBODY01")


class Problems(logging.Handler):
    """Every warning or error logged anywhere (the app, Bolt, slack_sdk) while fuzzing."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        found = [f"{r.name}: {r.getMessage()}" for r in self.records]
        self.records.clear()
        return found


@contextmanager
def problems_logged() -> Iterator[Problems]:
    handler = Problems()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def command_texts(ids: list[str]) -> st.SearchStrategy[str]:
    """Text a person might type, paste or fat-finger after `/ssm3`, and text nobody would."""
    arns = [
        f"arn:aws:ssm:{region}:{account}:association/{aid}"
        for aid in ids[:2]
        for account, region in (("111111111111", "eu-west-1"), ("999999999999", "us-east-1"))
    ]
    vocabulary = [
        *_ALIASES,
        *ids,
        *(i.upper() for i in ids),
        *arns,
        "3f1c2d3e-1111-4222-8333-444455556666",
        "for", "7d", "12h", "3", "days", "0d", "9999w", "-1d", "1h", "90d", "91d",
        "111111111111", "999999999999", "eu-west-1", "mars-north-9", "i-0123456789abcdef0",
        "<!channel>", "<@U0BOSS1>", "<http://evil|x>", "`", "&", "*", "_", "~", ">", "<",
        "\u00a0", "é", "🙂", "\u202e", "\x00", "\n", "\t", "'", '"', "arn:aws:ssm:", "=cmd",
    ]  # fmt: skip
    text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
    word = st.one_of(st.sampled_from(vocabulary), text)
    typed = st.lists(word, max_size=12).map(" ".join)
    command = st.sampled_from(sorted(_ALIASES)).map(lambda c: c.upper() if len(c) % 2 else c)
    target = st.sampled_from([*ids, *arns, "3f1c2d3e-1111-4222-8333-444455556666"])
    formed = st.builds(
        lambda c, t, rest: " ".join([c, t, *rest]), command, target, st.lists(word, max_size=6)
    )
    anything = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
    oversize = st.builds(lambda w, n: " ".join([w] * n), word, st.integers(200, 2500))
    return st.one_of(command, formed, formed, typed, anything, oversize)


EVERY_COMMAND = {"Help", "Status", "History", "Rerun", "Ack", "Unack", "Sweep", "Audit"}


def kind_of(text: str) -> str:
    try:
        return type(parse_command(text)).__name__
    except ParseError:
        return "ParseError"


def well_formed(ids: list[str]) -> list[str]:
    return [
        "",
        "status",
        f"status {ids[0]}",
        "status 111111111111",
        f"history {ids[0]}",
        f"rerun {ids[1]}",
        f"ack {ids[2]} for 2d OPS-1",
        f"ack {ids[2]}",
        f"unack {ids[2]}",
        "sweep",
        "audit",
        "help",
        "frobnicate",
    ]


def command_body(text: str, user: str, response_url: str, trigger_id: str) -> str:
    return urlencode(
        {
            "token": "verification-token-unused",
            "team_id": TEAM,
            "channel_id": CHANNEL,
            "user_id": user,
            "command": "/ssm3",
            "text": text,
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def replied(fake: FakeSlack, ack: Any, response_url: str, trigger_id: str) -> bool:
    """The person saw an answer: in the ack itself, at the response_url, or a form opened."""
    if ack:
        return True
    return bool(responses(fake, response_url)) or any(
        c.params.get("trigger_id") == trigger_id for c in fake.calls_to("views.open")
    )


def test_any_command_text_dispatched_into_the_app_gets_a_reply(
    sim: Sim, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    settings_ = slack_settings(fake_slack, str(tmp_path / "fuzz.db"))
    store = Store(settings_.db_path)
    access = sim.access()
    run_sweep(settings=settings_, access=access, store=store, trigger="test")
    ids = [t.key.association_id for t in store.associations.tracked()][:4]
    services = Services(
        settings=settings_, store=store, access=access, client=web_client(settings_)
    )
    app = build_app(services, executor=InlineExecutor())

    examples: list[str] = []

    def check(text: str, user: str) -> None:
        examples.append(text)
        calls_before = len(fake_slack.calls)
        response_url = fake_slack.new_response_url()
        trigger_id = f"{uuid.uuid4().int % 10**12}.{TEAM}"
        body = command_body(text, user, response_url, trigger_id)
        ts = str(int(time.time()))
        request = BoltRequest(
            body=body,
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "x-slack-request-timestamp": ts,
                "x-slack-signature": sign(SIGNING_SECRET, ts, body.encode()),
            },
        )
        response = app.dispatch(request)
        assert response.status == 200, response.body
        ack = json.loads(response.body) if response.body else None
        if ack:
            assert check_message(ack.get("text"), ack.get("blocks")) == (None, [])
        assert replied(fake_slack, ack, response_url, trigger_id), text
        refused = [(c.method, c.error) for c in fake_slack.calls[calls_before:] if not c.ok]
        assert refused == [], (text, refused)
        assert problems.take() == [], text

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(text=command_texts(ids), user=st.sampled_from(USERS))
    def one(text: str, user: str) -> None:
        check(text, user)

    with problems_logged() as problems:
        # Every command well formed, by each kind of user, then whatever hypothesis makes up.
        for text in well_formed(ids):
            for user in USERS:
                check(text, user)
        assert {kind_of(text) for text in examples} == {*EVERY_COMMAND, "ParseError"}
        one()
    assert len(examples) >= 150
    services.close()
    store.close()


def test_any_command_text_sent_over_http_gets_a_reply(
    make_harness: Callable[..., SlackHarness], fake_slack: FakeSlack
) -> None:
    h = make_harness()
    ids = [t.key.association_id for t in h.services.store.associations.tracked()][:4]

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(text=command_texts(ids), user=st.sampled_from(USERS))
    def one(text: str, user: str) -> None:
        reply = h.command(text, user=user)
        assert reply.status == 200
        ack = reply.json()
        if ack:
            assert check_message(ack.get("text"), ack.get("blocks")) == (None, [])
        url = str(reply.response_url)
        trigger = dict(parse_qsl(reply.sent.decode()))["trigger_id"]
        fake_slack.wait_for(lambda: replied(fake_slack, ack, url, trigger))

    with problems_logged() as problems:
        one()
        h.executor.shutdown(wait=True)  # every lazy half has finished
        assert problems.take() == []
    assert [(c.method, c.error) for c in fake_slack.calls if not c.ok] == []
