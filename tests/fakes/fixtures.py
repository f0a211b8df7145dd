"""Slack fixtures: the fake Web API (whose calls are checked against manifest.yaml's scopes at
teardown), and the app on a swept simulator: served over loopback HTTP (`make_harness`, an
end-to-end test) or dispatched in this process (`make_app`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings.config import Settings
from bot.slack.services import Services, web_client
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from bot.util.clock import utcnow
from tests.fakes.slack_api import INBOUND_SCOPES, METHOD_SCOPES, FakeSlack
from tests.fakes.slack_harness import CHANNEL, SIGNING_SECRET, InProcessSlack, SlackHarness

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yaml"
OPERATOR = "U0OPERATOR"
GROUP = "S0OPSTEAM1"
GROUPIE = "U0GROUPIE1"


def manifest_scopes() -> set[str]:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return set(manifest["oauth_config"]["scopes"]["bot"])


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack(usergroups={GROUP: [GROUPIE, "U0SOMEONE1"]}) as fake:
        yield fake
    unknown = fake.methods_called() - set(METHOD_SCOPES) - {"upload", "response_url"}
    assert not unknown, f"the app called Web API methods the fake does not know: {unknown}"
    needed = {METHOD_SCOPES[m] for m in fake.methods_called() if METHOD_SCOPES.get(m)}
    missing = needed - manifest_scopes()
    assert not missing, f"manifest.yaml lacks scopes the app used: {missing}"


def slack_settings(fake: FakeSlack, db_path: str, **changes: Any) -> Settings:
    base = Settings(
        slack_bot_token=fake.token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
        channel=CHANNEL,
        regions=("eu-west-1", "us-east-1"),
        db_path=db_path,
        concurrency=4,
        operators=(OPERATOR, GROUP),
        rerun_cooldown_s=300,
    )
    return base.with_changes(**changes)


@pytest.fixture
def make_harness(
    sim: Any, fake_slack: FakeSlack, tmp_path: Path
) -> Iterator[Callable[..., SlackHarness]]:
    """Start the app on a store already swept from `sim` (requests go into its WSGI app in
    process; `over_http=True`: behind waitress on a loopback port); settings may be changed."""
    started: list[tuple[SlackHarness, Store]] = []

    def start(
        *,
        sweep: bool = True,
        aws: Any = None,
        over_http: bool = False,
        clock: Callable[[], datetime] = utcnow,
        **changes: Any,
    ) -> SlackHarness:
        """`aws`: another simulator than the `sim` fixture's; `clock`: the app's."""
        settings = slack_settings(fake_slack, str(tmp_path / f"slack{len(started)}.db"), **changes)
        store = Store(settings.db_path)
        access = (aws or sim).access()
        if sweep:
            run_sweep(settings=settings, access=access, store=store, trigger="test")
        harness = SlackHarness(
            settings=settings,
            store=store,
            access=access,
            fake=fake_slack,
            over_http=over_http,
            clock=clock,
        )
        started.append((harness, store))
        return harness.start()

    yield start
    for harness, store in started:
        harness.stop()
        store.close()


@pytest.fixture
def make_app(
    sim: Any, fake_slack: FakeSlack, tmp_path: Path
) -> Iterator[Callable[..., InProcessSlack]]:
    """The app in this process (signed requests through app.dispatch, lazy listeners inline) on
    a store already swept from `sim`; settings may be changed."""
    started: list[tuple[InProcessSlack, Store]] = []

    def start(
        *,
        sweep: bool = True,
        aws: Any = None,
        clock: Callable[[], datetime] = utcnow,
        **changes: Any,
    ) -> InProcessSlack:
        """`clock`: the app's."""
        settings = slack_settings(fake_slack, str(tmp_path / f"app{len(started)}.db"), **changes)
        store = Store(settings.db_path)
        access = (aws or sim).access()
        if sweep:
            run_sweep(settings=settings, access=access, store=store, trigger="test")
        services = Services(
            settings=settings,
            store=store,
            access=access,
            client=web_client(settings),
            followup_delay_s=0.05,
            clock=clock,
        )
        app = InProcessSlack(
            settings=settings, store=store, access=access, fake=fake_slack, services=services
        )
        started.append((app, store))
        return app

    yield start
    for app, store in started:
        app.stop()
        store.close()


__all__ = ["INBOUND_SCOPES", "fake_slack", "make_app", "make_harness"]
