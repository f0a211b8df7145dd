"""Shared fixtures: a simulated AWS fleet served over loopback, a store, and AwsAccess on them.
Fixtures only: what tests share as code lives in tests/support/ and tests/fakes/ (Sim is
tests/support/sim.py's), never imported from here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings.config import Settings
from bot.sim.fleet import Fleet, generate_fleet
from bot.sim.server import SimServer
from bot.store import Store
from tests.support.sim import Sim
from tests.support.synced import Synced, synced_factory


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Sim]]:
    """Start simulators on demand; each is stopped, and checked for shape violations, at teardown."""
    started: list[Sim] = []

    def start(fleet: Fleet | None = None, **generate: Any) -> Sim:
        server = SimServer(fleet or generate_fleet(**generate)).start()
        sim = Sim(server.fleet, server)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.server.stop()
    for sim in started:
        assert sim.fleet.violations == [], "the simulator sent responses outside botocore's shapes"


@pytest.fixture
def sim(make_sim: Callable[..., Sim]) -> Sim:
    """Two accounts x two regions, a dozen associations a scope, three failing in each."""
    return make_sim(seed=11, accounts=2, regions=("eu-west-1", "us-east-1"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "ssm3.db")
    yield db
    db.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        regions=("eu-west-1", "us-east-1"), db_path=str(tmp_path / "ssm3.db"), concurrency=4
    )


# Slack: the fake Web API and the app served over loopback (tests/fakes/fixtures.py).
from tests.fakes.fixtures import fake_slack, make_app, make_harness  # noqa: E402, F401

# SQS: moto's server on loopback, one per session, a fresh queue per test (tests/support/sqs.py).
from tests.support.sqs import events_queue, moto_sqs  # noqa: E402, F401

# The end-to-end set: real processes (the console script, `serve`, the simulator's own process,
# Docker's linter). Slack behaviour (make_harness) runs in process, through the app's own WSGI
# application, so it belongs to the layered suite. `pytest -m "not e2e"` runs the layers
# without the end-to-end set; `make test` runs everything.
E2E_MODULES = {
    "test_cli",
    "test_cli_edges",
    "test_docker",
    "test_events_serve",
    "test_secrets",
    "test_serve_logging",
    "test_serve_socket_mode",
    "test_sigterm",
    "test_sim_process",
    "test_slack_serve",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-shift",
        type=int,
        default=0,
        metavar="DAYS",
        help="run with the clock moved DAYS ahead (negative: back), subprocesses included",
    )


def pytest_configure(config: pytest.Config) -> None:
    days = int(config.getoption("--clock-shift"))
    if days:
        from tests.support import clock_shift

        clock_shift.start(days)


def pytest_report_header(config: pytest.Config) -> str | None:
    days = int(config.getoption("--clock-shift"))
    return f"clock shifted {days:+d} days (time-machine, subprocesses too)" if days else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if module in E2E_MODULES:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def make_synced(
    make_sim: Callable[..., Sim], request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., Synced]]:
    """A simulated estate and the Bolt app with SSM3_SECURITYHUB=sync (tests/support/synced.py),
    swept once; the stores are closed at teardown."""
    yield from synced_factory(make_sim, request.getfixturevalue("fake_slack"), tmp_path)
