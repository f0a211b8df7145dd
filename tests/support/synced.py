"""A simulated estate wired to the Bolt app in this process with SSM3_SECURITYHUB=sync (the
`make_synced` fixture in tests/conftest.py), and helpers the Security Hub sync tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.render.audit import audit_json
from bot.sim.fleet import Fleet
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from bot.util.clock import utcnow
from tests.fakes.fixtures import OPERATOR, slack_settings
from tests.fakes.slack_api import FakeSlack
from tests.support.bolt import InProcessSlack, services_for
from tests.support.findings import REGION
from tests.support.sim import Sim
from tests.support.slack import body_text, responses
from tests.support.virtual_time import FakeClock

SYNC = "securityhub_sync"


@dataclass
class Synced:
    sim: Sim
    store: Store
    slack: InProcessSlack
    clock: FakeClock

    @property
    def fleet(self) -> Fleet:
        return self.sim.fleet

    def command(self, text: str, user: str = OPERATOR) -> str:
        """A slash command; the text of everything answered at its response_url."""
        reply = self.slack.command(text, user=user)
        assert reply.status == 200
        answers = responses(self.slack.fake, reply.response_url)
        return "\n".join(body_text(a.get("blocks")) for a in answers)

    def sweep(self) -> None:
        services = self.slack.services
        run_sweep(
            settings=services.settings, access=services.access, store=self.store, now=self.clock
        )

    def audit(self, outcome: str | None = None) -> list[dict[str, Any]]:
        rows = audit_json(list(reversed(self.store.audit.entries())))
        return [r for r in rows if r["action"] == SYNC and outcome in (None, r["outcome"])]


def synced_factory(
    make_sim: Callable[..., Sim], fake_slack: FakeSlack, tmp_path: Path
) -> Iterator[Callable[..., Synced]]:
    stores: list[Store] = []

    def start(fleet: Fleet, **changes: Any) -> Synced:
        sim = make_sim(fleet)
        settings = slack_settings(
            fake_slack,
            str(tmp_path / f"sync{len(stores)}.db"),
            regions=(REGION,),
            **{"securityhub": "sync", **changes},
        )
        store = Store(settings.db_path)
        stores.append(store)
        clock = FakeClock(utcnow())
        services = services_for(settings, store, sim.access())
        services.clock = clock
        synced = Synced(sim, store, InProcessSlack(services, fake_slack), clock)
        synced.sweep()
        return synced

    yield start
    for store in stores:
        store.close()


def runs(s: Synced, association_id: str) -> Callable[..., None]:
    """New runs of the association, a minute apart: passing, or failing as its latest did."""
    _, association = s.fleet.find_association(association_id)
    assert association.latest is not None
    failures = dict(association.latest.failures)
    minutes = iter(range(1, 100))

    def run(*, passed: bool) -> None:
        at = utcnow() + timedelta(minutes=next(minutes))
        s.fleet.run_association(association_id, failures={} if passed else failures, at=at)

    return run
