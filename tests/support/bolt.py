"""The Slack app in this process on services a test built itself (tests/fakes/slack_harness.py's
InProcessSlack: signed requests through `app.dispatch`, lazy listeners inline, so a request's
work is done when it returns). Web API calls still go to the fake Slack over loopback."""

from __future__ import annotations

from typing import Any

from bot.slack.services import Services, web_client
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import InProcessSlack as _InProcessSlack


class InProcessSlack(_InProcessSlack):
    """`command`, `click`, `submit_view` into a Bolt app built on `services`."""

    def __init__(self, services: Services, fake: FakeSlack) -> None:
        super().__init__(
            settings=services.settings,
            store=services.store,
            access=services.access,
            fake=fake,
            services=services,
        )


def services_for(settings: Any, store: Any, access: Any) -> Services:
    return Services(settings=settings, store=store, access=access, client=web_client(settings))
