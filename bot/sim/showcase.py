"""One failing association for each cause a diagnosis names, added to a simulated scope: what
`make demo`, the diagnosis tests and the benchmark run on.

Each is built the way AWS would come to show it (the instances' agents, roles and ping, the
association's parameters, calendars and alarms, the runs and their stderr, the compliance
items), never by writing the answer in: the diagnosis must find it.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.diagnosis import CAUSES, CauseName
from bot.sim.documents import SimCalendar, calendar_document
from bot.sim.fleet import (
    LATEST_AGENT_VERSION,
    MISSING_PATCHES,
    ComplianceStatus,
    Failure,
    Fleet,
    SimAssociation,
    SimExecution,
    SimInstance,
    SimScope,
    agent_outdated,
    bad_parameter,
    denied,
    failure_for,
    timed_out,
)

# One association for each cause, in the contract's order.
SHOWCASE_CAUSES: tuple[CauseName, ...] = CAUSES
ROLE = "app-instance-role"
PLAYBOOKS = "arn:aws:s3:::ansible-playbooks-prod/cis/site.yml"
ALARM = "web-5xx-high"
CALENDAR = "change-freeze"
OLD_AGENT = "2.3.1644.0"


@dataclass(frozen=True)
class Showcase:
    """Where the failing associations are: one ID per cause, and the instances each fails."""

    account_id: str
    region: str
    associations: dict[CauseName, str]
    instances: dict[CauseName, tuple[str, ...]]


def add_showcase(
    fleet: Fleet,
    account_id: str,
    region: str,
    *,
    seed: int = 22,
    now: datetime | None = None,
    size: int = 3,
) -> Showcase:
    """Add one association failing for each cause to the scope (`size` failing instances
    each; one more for permissions, one for unknown)."""
    builder = _Builder(fleet, account_id, region, random.Random(seed), now or fleet.now())
    for cause in SHOWCASE_CAUSES:
        getattr(builder, cause)(size)
    return Showcase(account_id, region, builder.associations, builder.failing)


class _Builder:
    def __init__(
        self, fleet: Fleet, account_id: str, region: str, rng: random.Random, when: datetime
    ) -> None:
        self.fleet, self.account_id, self.region = fleet, account_id, region
        self.rng, self.when = rng, when
        self.scope = fleet.scope(account_id, region)
        self.associations: dict[CauseName, str] = {}
        self.failing: dict[CauseName, tuple[str, ...]] = {}

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def instances(self, count: int, **kw: object) -> list[str]:
        made = []
        for _ in range(count):
            instance = SimInstance(
                instance_id="i-" + "".join(self.rng.choice("0123456789abcdef") for _ in range(17)),
                agent_version=LATEST_AGENT_VERSION,
                computer_name=f"ip-10-1-{self.rng.randrange(256)}-{self.rng.randrange(256)}",
                last_ping=self.when - timedelta(minutes=2),
                role_name=ROLE,
            )
            for key, value in kw.items():
                setattr(instance, key, value)
            self.scope.instances[instance.instance_id] = instance
            made.append(instance.instance_id)
        return made

    def association(
        self,
        cause: CauseName,
        name: str,
        document: str,
        targets: list[str],
        failing: list[str],
        **kw: object,
    ) -> SimAssociation:
        made = SimAssociation(
            association_id=self._id(),
            name=name,
            document=document,
            schedule="rate(1 day)",
            instance_ids=tuple(targets),
            target_value=name,
            created_at=self.when - timedelta(days=30),
            dispatch_role=f"arn:aws:iam::{self.account_id}:role/ssm-association-dispatch",
        )
        for key, value in kw.items():
            setattr(made, key, value)
        self.scope.associations[made.association_id] = made
        self.associations[cause] = made.association_id
        self.failing[cause] = tuple(failing)
        return made

    def ran(
        self,
        made: SimAssociation,
        failures: dict[str, Failure],
        alarms: tuple[str, ...] = (),
    ) -> None:
        for hours in (48, 24, 0):  # two earlier failing runs, then the latest
            made.executions.insert(
                0,
                SimExecution(
                    execution_id=self._id(),
                    created_at=self.when - timedelta(hours=hours, minutes=20),
                    instance_ids=made.instance_ids,
                    failures=dict(failures),
                    command_id=self._id(),
                    association_version=str(made.version),
                    triggered_alarms=alarms,
                ),
            )

    def unreachable(self, size: int) -> None:
        """Stopped instances (ConnectionLost for hours): the run was never delivered."""
        lost = self.instances(
            size, ping_status="ConnectionLost", last_ping=self.when - timedelta(hours=6)
        )
        made = self.association(
            "unreachable",
            "inventory-legacy",
            "AWS-GatherSoftwareInventory",
            [*lost, *self.instances(1)],
            lost,
        )
        self.ran(made, {i: failure_for("unreachable", made.document, self.rng) for i in lost})

    def agent_outdated(self, size: int) -> None:
        """An agent too old for schema 2.2."""
        old = self.instances(size, agent_version=OLD_AGENT)
        made = self.association(
            "agent_outdated",
            "disk-cleanup",
            "AWS-RunShellScript",
            [*old, *self.instances(1)],
            old,
            parameters={"commands": ["/usr/local/bin/cleanup --older-than 14d"]},
        )
        self.ran(made, dict.fromkeys(old, agent_outdated()))

    def permissions(self, size: int) -> None:
        """The instance role may not read the playbooks from S3."""
        refused = self.instances(size + 1)
        made = self.association(
            "permissions",
            "cis-hardening-prod",
            "AWS-ApplyAnsiblePlaybooks",
            [*refused, *self.instances(1)],
            refused,
            parameters={"SourceType": ["S3"], "Check": ["False"]},
        )
        self.ran(
            made, dict.fromkeys(refused, denied("aws:runShellScript", "s3:GetObject", PLAYBOOKS))
        )

    def bad_parameter(self, size: int) -> None:
        """`latestt` where the document allows Scan or Install."""
        patched = self.instances(size)
        made = self.association(
            "bad_parameter",
            "patch-scan-web",
            "AWS-RunPatchBaseline",
            patched,
            patched,
            parameters={"Operation": ["latestt"], "RebootOption": ["NoReboot"]},
        )
        self.ran(made, dict.fromkeys(patched, bad_parameter(made.document, "Operation", "latestt")))

    def timed_out(self, size: int) -> None:
        """A 30-minute backup given 10 minutes."""
        slow = self.instances(size)
        made = self.association(
            "timed_out",
            "nightly-backup",
            "AWS-RunShellScript",
            [*slow, *self.instances(1)],
            slow,
            parameters={"commands": ["/opt/backup/run.sh"], "executionTimeout": ["600"]},
            step_seconds=1800,
        )
        self.ran(made, dict.fromkeys(slow, timed_out(made.document)))

    def stopped_by_alarm(self, size: int) -> None:
        """A rollout stopped by the web tier's 5xx alarm."""
        self.scope.alarms[ALARM] = "ALARM"
        stopped = self.instances(size)
        made = self.association(
            "stopped_by_alarm",
            "agent-rollout-web",
            "AWS-ConfigureAWSPackage",
            stopped,
            stopped,
            parameters={"action": ["Install"], "name": ["AmazonCloudWatchAgent"]},
            alarm_names=(ALARM,),
        )
        stop = Failure(
            "stopped_by_alarm",
            "Cancelled",
            "",
            f"The association run was stopped: CloudWatch alarm {ALARM} is in ALARM.",
            "",
        )
        self.ran(made, dict.fromkeys(stopped, stop), alarms=(ALARM,))

    def calendar_closed(self, size: int) -> None:
        """A change freeze holds the re-run; the last run's step error says little."""
        frozen = self.instances(size)
        self.scope.documents[CALENDAR] = calendar_document(CALENDAR, owner=self.account_id)
        opens = (self.when + timedelta(days=3)).replace(microsecond=0)
        self.scope.calendars[CALENDAR] = SimCalendar(CALENDAR, "CLOSED", next_transition=opens)
        made = self.association(
            "calendar_closed",
            "patch-install-sunday",
            "AWS-RunPatchBaseline",
            frozen,
            frozen,
            parameters={"Operation": ["Install"]},
            calendar_names=(CALENDAR,),
        )
        self.ran(made, {i: failure_for("script_error", made.document, self.rng) for i in frozen})

    def missing_patches(self, size: int) -> None:
        """Quick Setup's scan (MANUAL) reports what each instance misses."""
        unpatched = self.instances(size)
        made = self.association(
            "missing_patches",
            "patch-scan-quicksetup",
            "AWS-RunPatchBaselineAssociation",
            [*unpatched, *self.instances(1)],
            unpatched,
            sync_compliance="MANUAL",
            parameters={"Operation": ["Scan"]},
        )
        self.ran(made, {})
        statuses: dict[str, ComplianceStatus] = {
            i: "NON_COMPLIANT" if i in unpatched else "COMPLIANT" for i in made.instance_ids
        }
        self.fleet.report_compliance(made.association_id, statuses)
        for index, instance_id in enumerate(unpatched):
            missing = MISSING_PATCHES[: 2 + index % 3]
            self.fleet.put_patches(self.account_id, self.region, instance_id, missing, at=self.when)

    def orphan(self, size: int) -> None:
        """An association deleted with its NON_COMPLIANT items left behind."""
        left = self.instances(size)
        made = self.association(
            "orphan",
            "old-hardening",
            "AWS-RunShellScript",
            left,
            left,
            parameters={"commands": ["/opt/harden.sh"]},
        )
        self.ran(made, {i: failure_for("script_error", made.document, self.rng) for i in left})
        self.fleet.delete_association(made.association_id, keep_compliance=True)

    def unknown(self, size: int) -> None:
        """A script that exits 127, with nothing first-class to say why (and no dispatch role)."""
        broken = self.instances(1)
        made = self.association(
            "unknown",
            "log-rotation-batch",
            "AWS-RunShellScript",
            [*broken, *self.instances(2)],
            broken,
            parameters={"commands": ["logrotate -f /etc/logrotate.d/app"]},
            dispatch_role=None,
        )
        self.ran(made, {i: failure_for("script_error", made.document, self.rng) for i in broken})


def scope_of(fleet: Fleet, showcase: Showcase) -> SimScope:
    return fleet.scope(showcase.account_id, showcase.region)
