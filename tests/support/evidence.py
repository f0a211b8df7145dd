"""A month of the bot's life in virtual time, against the simulator, for the evidence report:
sweeps every six hours through November 2026 (Europe/Berlin), failures that start and end,
acknowledgements that expire, are lifted or end with their failure, a re-run confirmed
compliant, a day when one account-region cannot be swept and half a day when nothing is.

Everything the report should say is written down here as it is arranged (`Month`), so the
tests compare the report with the arrangement, never with itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app.acknowledgements import Acknowledgements
from bot.app.permissions import LocalOperator
from bot.app.reruns import Reruns, Started
from bot.aws.actions import AwsAssociationActions
from bot.core.slots import cron_trigger, next_fire
from bot.models import AssociationRef, Scope
from bot.report.period import Period
from bot.scheduling.runner import Runner
from bot.settings.config import Settings
from bot.sim.fleet import Fault, Fleet, generate_fleet
from bot.sim.server import SimServer
from bot.store import Store
from tests.support.fleet import fail
from tests.support.recording import RecordingPublisher
from tests.support.runners import make_runner
from tests.support.sim import Sim
from tests.support.virtual_time import FakeClock

BERLIN = ZoneInfo("Europe/Berlin")
SCHEDULE = "0 */6 * * *"  # 00, 06, 12, 18 in Berlin: the gap threshold is 12 hours
OPERATOR = "U0OPS00001"
CHANNEL = "C0EVIDENCE1"


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A time in Berlin in November 2026 (or `month`), in UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


START = local(30, 0, month=10)  # two days of October: the previous period has figures too
NOVEMBER = Period(local(1, 0), local(1, 0, month=12))
REPORT_SLOT = local(1, 9, month=12)  # SSM3_REPORT_SCHEDULE's default fire time


class FleetClock(FakeClock):
    """The runner's clock, which the simulator follows too (its runs, its credentials)."""

    def __init__(self, fleet: Fleet, now: datetime) -> None:
        self.fleet = fleet
        super().__init__(now)

    @property  # type: ignore[override]
    def now(self) -> datetime:
        return self._now

    @now.setter
    def now(self, value: datetime) -> None:
        self._now = value
        self.fleet.clock_offset = value - datetime.now(UTC)


@dataclass
class Failure:
    """A failure the month arranged in a clean account-region: when the bot must say it began
    (its streak's start), the sweep that first saw it and the sweep that saw it end."""

    association_id: str
    instance_id: str
    kind: str
    started_at: datetime
    seen_at: datetime
    ended_at: datetime

    @property
    def resolve_seconds(self) -> int:
        return int((self.ended_at - self.started_at).total_seconds())


@dataclass
class Month:
    path: Path
    settings: Settings
    fleet: Fleet
    runner: Runner
    publisher: RecordingPublisher
    sweeps: list[datetime]  # when each sweep ran
    skipped: list[datetime]  # scheduled sweeps that did not run (the bot was down)
    failures: dict[str, Failure]
    baseline: list[str]  # associations failing since before the month, never fixed
    baseline_instances: int  # the instances they make NON_COMPLIANT
    unswept: Scope  # the account-region that could not be swept for a day
    unswept_reads: list[datetime]  # its sweeps that failed
    acked: dict[str, tuple[datetime, datetime | None, str, datetime]]  # id: from, until, how, ended
    rerun: tuple[str, datetime, datetime] = ("", START, START)  # association, at, checked at
    events: list[tuple[datetime, Callable[[], None]]] = field(default_factory=list)

    @property
    def store(self) -> Store:
        return self.runner.store

    def active_at(self, moment: datetime) -> list[Failure]:
        return [f for f in self.failures.values() if f.seen_at <= moment < f.ended_at]


def live_a_month(tmp_path: Path) -> tuple[Month, SimServer]:
    fleet = generate_fleet(
        seed=5,
        accounts=2,
        regions=("eu-west-1", "us-east-1"),
        associations=6,
        failing=2,
        failing_every=4,  # only the first account-region has failures of its own
        history=3,
        now=START - timedelta(hours=1),
    )
    server = SimServer(fleet).start()
    sim = Sim(fleet, server)
    clock = FleetClock(fleet, START)
    first = fleet.caller_account
    second = next(a for a in fleet.accounts if a != first)
    noisy, clean = fleet.scope(first, "eu-west-1"), fleet.scope(first, "us-east-1")
    settings = Settings(
        regions=("eu-west-1", "us-east-1"),
        accounts=(first, second),
        db_path=str(tmp_path / "month.db"),
        channel=CHANNEL,
        timezone="Europe/Berlin",
        sweep_schedule=SCHEDULE,
        concurrency=4,
    )
    publisher = RecordingPublisher()
    access = sim.access(clock=clock)
    runner = make_runner(
        settings=settings,
        store=Store(settings.db_path),
        access=access,
        publisher=publisher,
        clock=clock,
    )
    baseline = [
        a.association_id for a in noisy.associations.values() if a.latest and a.latest.failures
    ]
    baseline_instances = len(
        {i for a in noisy.associations.values() if a.latest for i in a.latest.failures}
    )
    victims = iter(a for a in clean.associations.values() if a.status == "Success")
    a, b, c, d, e = (next(victims) for _ in range(5))
    e.sync_compliance = "MANUAL"  # its document reports compliance: a `reported` failure
    fleet.report_compliance(e.association_id, dict.fromkeys(e.instance_ids, "COMPLIANT"), at=START)
    b.fix_on_rerun = True
    failures = {
        "A": Failure(
            a.association_id,
            a.instance_ids[0],
            "execution",
            local(3, 10),
            local(3, 12),
            local(5, 12),
        ),
        "B": Failure(
            b.association_id,
            b.instance_ids[0],
            "execution",
            local(10, 2),
            local(10, 6),
            local(10, 12),
        ),
        "C": Failure(
            c.association_id,
            c.instance_ids[0],
            "execution",
            local(12, 3),
            local(12, 6),
            local(20, 6),
        ),
        "D": Failure(
            d.association_id,
            d.instance_ids[0],
            "execution",
            local(15, 4),
            local(15, 6),
            local(16, 12),
        ),
        "E": Failure(
            e.association_id,
            e.instance_ids[0],
            "reported",
            local(21, 6),
            local(21, 6),
            local(23, 6),
        ),
    }
    acks = Acknowledgements(store=runner.store, permissions=LocalOperator(), clock=clock)
    reruns = Reruns(
        store=runner.store,
        permissions=LocalOperator(),
        actions=AwsAssociationActions(access),
        clock=clock,
        cooldown_s=300,
    )
    started: list[Started] = []

    def rerun_b() -> None:
        outcome = reruns.start(OPERATOR, AssociationRef(b.association_id))
        assert isinstance(outcome, Started), outcome
        started.append(outcome)

    def check_b() -> None:
        follow = reruns.follow_up(started[0].item, started[0].rerun)
        assert follow.outcome == "compliant", follow

    def ack(association_id: str, until: datetime, reason: str) -> Callable[[], None]:
        return lambda: _done(
            acks.acknowledge(OPERATOR, AssociationRef(association_id), reason=reason, until=until)
        )

    def run(association_id: str, ok: bool) -> Callable[[], None]:
        if ok:
            return lambda: fleet.run_association(association_id, failures={}, at=clock.now)
        return lambda: fail(fleet, association_id, at=clock.now)

    unswept = Scope(second, "us-east-1")
    fault = Fault(
        error_code="AccessDeniedException",
        message="not authorized to perform ssm:ListAssociations",
        operation="ListAssociations",
        account_id=unswept.account_id,
        region=unswept.region,
    )
    f = baseline[0]
    events: list[tuple[datetime, Callable[[], None]]] = [
        (local(3, 10), run(a.association_id, ok=False)),
        (local(5, 8), run(a.association_id, ok=True)),
        (local(6, 10), ack(f, local(30, 0), "known: the vendor's agent")),
        (local(8, 10), lambda: _done(acks.unacknowledge(OPERATOR, AssociationRef(f)))),
        (local(10, 2), run(b.association_id, ok=False)),
        (local(10, 9), rerun_b),
        (local(10, 9, 5), check_b),
        (local(12, 3), run(c.association_id, ok=False)),
        (local(12, 8), ack(c.association_id, local(14, 8), "waiting on a patched AMI")),
        (local(15, 4), run(d.association_id, ok=False)),
        (local(15, 7), ack(d.association_id, local(30, 0), "change CHG-7 tonight")),
        (local(16, 10), run(d.association_id, ok=True)),
        (local(17, 21), lambda: fleet.inject(fault)),
        (local(18, 21), fleet.clear_faults),
        (local(20, 1), run(c.association_id, ok=True)),
        (
            local(21, 3),
            lambda: fleet.report_compliance(
                e.association_id, {e.instance_ids[0]: "NON_COMPLIANT"}, at=clock.now
            ),
        ),
        (
            local(23, 3),
            lambda: fleet.report_compliance(
                e.association_id, {e.instance_ids[0]: "COMPLIANT"}, at=clock.now
            ),
        ),
    ]
    skipped = [local(25, 6), local(25, 12), local(25, 18)]
    month = Month(
        path=Path(settings.db_path),
        settings=settings,
        fleet=fleet,
        runner=runner,
        publisher=publisher,
        sweeps=[],
        skipped=skipped,
        failures=failures,
        baseline=baseline,
        baseline_instances=baseline_instances,
        unswept=unswept,
        unswept_reads=[local(18, h) for h in (0, 6, 12, 18)],
        acked={
            f: (local(6, 10), local(30, 0), "lifted", local(8, 10)),
            c.association_id: (local(12, 8), local(14, 8), "expired", local(14, 12)),
            d.association_id: (local(15, 7), local(30, 0), "resolved", local(16, 12)),
        },
        rerun=(b.association_id, local(10, 9), local(10, 9, 5)),
        events=events,
    )
    _drive(month, clock, until=local(1, 6, month=12))
    clock.now = REPORT_SLOT
    return month, server


def _drive(month: Month, clock: FleetClock, *, until: datetime) -> None:
    """Sweep at every fire time of the schedule up to `until`, doing each arranged thing at its
    moment in between; the expiry job runs before each sweep, as the minutely job would have."""
    trigger = cron_trigger(SCHEDULE, BERLIN)
    pending = sorted(month.events, key=lambda e: e[0])
    tick: datetime | None = clock.now
    while tick is not None and tick <= until:
        while pending and pending[0][0] <= tick:
            when, action = pending.pop(0)
            clock.now = when
            action()
        clock.now = tick
        if tick not in month.skipped:
            month.runner.expiry_job()
            month.fleet.refresh_findings()  # Security Hub keeps up with compliance
            summary = month.runner.sweep_job()
            assert summary is not None
            month.sweeps.append(tick)
        tick = next_fire(trigger, tick)
    assert not pending, "every arranged event happened"


def _done(outcome: object) -> None:
    from bot.app.outcomes import Refusal

    assert not isinstance(outcome, Refusal), outcome
