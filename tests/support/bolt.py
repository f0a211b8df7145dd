"""The Slack app in this process: the same correctly signed requests as tests/fakes/
slack_harness.py sends over HTTP, dispatched straight into the Bolt app, its lazy listeners run
on the calling thread (so a request's work is done when it returns). Web API calls still go to
the fake Slack over loopback."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from slack_bolt.request import BoltRequest

from bot.slack.app import build_app
from bot.slack.services import Services, web_client
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import SIGNING_SECRET, SignedRequests

T = TypeVar("T")


class InlineExecutor(Executor):
    """Runs Bolt's lazy listeners on the calling thread."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class InProcessSlack(SignedRequests):
    """`command`, `click`, `submit_view` (SignedRequests) into a Bolt app built on `services`."""

    def __init__(self, services: Services, fake: FakeSlack) -> None:
        super().__init__(0, fake, SIGNING_SECRET)
        self.services = services
        self.app = build_app(services, executor=InlineExecutor())

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        response = self.app.dispatch(
            BoltRequest(
                body=body.decode(),
                headers={k.lower(): v for k, v in (headers or {}).items()},
            )
        )
        return response.status, response.body.encode()


def services_for(settings: Any, store: Any, access: Any) -> Services:
    return Services(settings=settings, store=store, access=access, client=web_client(settings))
