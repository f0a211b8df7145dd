"""The fixes' AWS adapters and the confirm-COMPLIANT watch's reads, against the simulator:
a diagnosis's fix data drives the change, one parameter changes and nothing else, a concurrent
edit is refused with no write, a refusal names the IAM file that grants the action, and the
watch says compliant only after the new run finished and the items turned COMPLIANT."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.app.diagnoses import Diagnoses
from bot.aws import fixes
from bot.aws.evidence import AwsEvidence
from bot.aws.watch import association_items, first_run_after
from bot.core.diagnosis import Diagnosis
from bot.core.watch import outcome
from bot.models import AssociationKey, AssociationRef
from bot.sim.fleet import LATEST_AGENT_VERSION, Fault, SimInstance, generate_fleet
from bot.sim.showcase import Showcase, add_showcase
from bot.util.clock import utcnow
from tests.support.sim import Sim

ACCOUNT = "111111111111"
REGION = "eu-west-1"
KEPT = (
    "Name",
    "AssociationName",
    "ScheduleExpression",
    "Targets",
    "DocumentVersion",
    "CalendarNames",
    "AssociationDispatchAssumeRole",
    "SyncCompliance",
    "ComplianceSeverity",
    "ApplyOnlyAtCronInterval",
)


@pytest.fixture
def shown(make_sim: Callable[..., Sim]) -> tuple[Sim, Showcase]:
    fleet = generate_fleet(seed=3, accounts=1, regions=(REGION,), associations=1, failing=0)
    return make_sim(fleet), add_showcase(fleet, ACCOUNT, REGION)


def _ssm(sim: Sim) -> Any:
    return sim.access().ssm(AssociationKey(ACCOUNT, REGION, "x").scope)


def _key(shown: Showcase, cause: str) -> AssociationKey:
    return AssociationKey(ACCOUNT, REGION, shown.associations[cause])  # type: ignore[index]


def _diagnosis(sim: Sim, key: AssociationKey) -> Diagnosis:
    found = Diagnoses(
        store=None, evidence=AwsEvidence(sim.access(), clock=utcnow), clock=utcnow
    ).diagnose(AssociationRef(key.association_id, key.account_id, key.region))
    assert isinstance(found, Diagnosis), found
    return found


def test_the_diagnosis_fix_changes_that_one_parameter_and_the_run_then_succeeds(
    shown: tuple[Sim, Showcase],
) -> None:
    sim, showcase = shown
    key = _key(showcase, "bad_parameter")
    fix = _diagnosis(sim, key).causes[0].fix
    assert (fix.parameter, fix.value, fix.association_version) == ("Operation", "latestt", "1")
    assert fix.allowed_values is not None
    ssm = _ssm(sim)
    before = ssm.describe_association(AssociationId=key.association_id)["AssociationDescription"]
    updated = fixes.update_parameter(
        ssm,
        key,
        name=fix.parameter,
        value=fix.allowed_values[1],
        expected_version=fix.association_version,
    )
    assert isinstance(updated, fixes.ParameterUpdated), updated
    assert updated.detail == "Operation: latestt → Install"
    assert (updated.association_version, updated.ran) == ("2", True)
    after = ssm.describe_association(AssociationId=key.association_id)["AssociationDescription"]
    assert after["Parameters"] == {"Operation": ["Install"], "RebootOption": ["NoReboot"]}
    assert {k: after.get(k) for k in KEPT} == {k: before.get(k) for k in KEPT}
    _, association = sim.fleet.find_association(key.association_id)
    assert association.latest is not None
    assert association.latest.failures == {}  # the update ran it, and the run succeeded


def test_an_edit_made_since_the_diagnosis_is_refused_and_nothing_is_written(
    shown: tuple[Sim, Showcase],
) -> None:
    sim, showcase = shown
    key = _key(showcase, "bad_parameter")
    fix = _diagnosis(sim, key).causes[0].fix
    ssm = _ssm(sim)
    ssm.update_association(  # a colleague's edit in the console
        AssociationId=key.association_id,
        Name="AWS-RunPatchBaseline",
        Parameters={"Operation": ["Scan"]},
        ScheduleExpression="rate(1 day)",
    )
    sim.fleet.reset_calls()
    refused = fixes.update_parameter(
        ssm, key, name="Operation", value="Install", expected_version=str(fix.association_version)
    )
    assert isinstance(refused, fixes.ConcurrentEdit)
    assert "changed since it was diagnosed (version 1 read, version 2 now)" in refused.message
    assert sim.fleet.call_count("UpdateAssociation") == 0


def test_an_edit_landing_between_the_read_and_the_write_is_refused_by_aws(
    shown: tuple[Sim, Showcase],
) -> None:
    sim, showcase = shown
    key = _key(showcase, "bad_parameter")
    ssm = _ssm(sim)
    _, association = sim.fleet.find_association(key.association_id)

    def someone_else_edits(**_: Any) -> None:
        association.version += 1

    ssm.meta.events.register("before-call.ssm.UpdateAssociation", someone_else_edits)
    raced = fixes.update_parameter(ssm, key, name="Operation", value="Scan", expected_version="1")
    assert isinstance(raced, fixes.ConcurrentEdit)
    assert sim.fleet.error_codes("UpdateAssociation") == {"InvalidAssociationVersion": 1}
    assert association.parameters["Operation"] == ["latestt"]


@pytest.mark.parametrize(
    ("operation", "apply"),
    [
        (
            "UpdateAssociation",
            lambda ssm, s: fixes.update_parameter(
                ssm, _key(s, "bad_parameter"), name="Operation", value="Scan", expected_version="1"
            ),
        ),
        ("SendCommand", lambda ssm, s: fixes.update_agent(ssm, s.instances["agent_outdated"])),
        (
            "StartAutomationExecution",
            lambda ssm, s: fixes.troubleshoot(ssm, s.instances["unreachable"][0]),
        ),
    ],
)
def test_a_fix_aws_refuses_names_the_iam_file_that_grants_it(
    shown: tuple[Sim, Showcase], operation: str, apply: Callable[[Any, Showcase], Any]
) -> None:
    sim, showcase = shown
    sim.fleet.inject(Fault("AccessDeniedException", "not authorized", operation=operation))
    refused = apply(_ssm(sim), showcase)
    assert isinstance(refused, fixes.FixFailed)
    assert refused.denied
    assert refused.message.startswith(f"AWS refused ssm:{operation}: attach iam/ssm3-fixes.json")


def test_the_agent_is_updated_on_exactly_the_instances_given_50_a_command(
    shown: tuple[Sim, Showcase],
) -> None:
    sim, showcase = shown
    sim.fleet.command_seconds = 60
    scope = sim.fleet.scope(ACCOUNT, REGION)
    extra = [f"i-{n:017x}" for n in range(55)]
    for instance_id in extra:
        scope.instances[instance_id] = SimInstance(instance_id, agent_version="3.0.1.0")
    given = [*showcase.instances["agent_outdated"][:2], *extra]
    ssm = _ssm(sim)
    started = fixes.update_agent(ssm, given)
    assert isinstance(started, fixes.CommandStarted)
    assert len(started.command_ids) == 2
    running = fixes.command_outcome(ssm, started.command_ids[0])
    assert isinstance(running, fixes.CommandOutcome)
    assert not running.finished
    sim.fleet.clock_offset += timedelta(minutes=2)
    done = [fixes.command_outcome(ssm, c) for c in started.command_ids]
    assert all(isinstance(d, fixes.CommandOutcome) and d.finished for d in done)
    succeeded = {i for d in done if isinstance(d, fixes.CommandOutcome) for i in d.succeeded}
    assert succeeded == set(given)
    untouched = showcase.instances["agent_outdated"][2]
    assert scope.instances[untouched].agent_version != LATEST_AGENT_VERSION


def test_the_troubleshooting_runbook_says_why_an_instance_is_unreachable(
    shown: tuple[Sim, Showcase],
) -> None:
    sim, showcase = shown
    ssm = _ssm(sim)
    started = fixes.troubleshoot(ssm, showcase.instances["unreachable"][0])
    assert isinstance(started, fixes.AutomationStarted)
    found = fixes.automation_outcome(ssm, started.execution_id)
    assert isinstance(found, fixes.AutomationOutcome)
    assert (found.finished, found.status) == (True, "Failed")
    assert "The instance is stopped" in found.summary


# -- the watch -------------------------------------------------------------------------------------


def test_the_watch_says_compliant_only_once_the_new_run_finished_and_the_items_turned(
    shown: tuple[Sim, Showcase],
) -> None:
    sim, showcase = shown
    sim.fleet.run_seconds = 900
    key = _key(showcase, "bad_parameter")
    failing = showcase.instances["bad_parameter"]
    ssm = _ssm(sim)
    acted_at = sim.fleet.now()
    fixes.update_parameter(ssm, key, name="Operation", value="Scan", expected_version="1")

    def verdict(deadline_passed: bool = False) -> str | None:
        run = first_run_after(ssm, key, acted_at)
        items = (
            association_items(ssm, key.association_id, failing) if run and run.finished else None
        )
        return outcome(run=run, items=items, deadline_passed=deadline_passed)

    assert verdict() is None  # InProgress: look again later, never compliant yet
    items = association_items(ssm, key.association_id, failing)
    assert {i.status for i in items.values()} == {"NON_COMPLIANT"}
    assert verdict(deadline_passed=True) == "pending"
    sim.fleet.clock_offset += timedelta(minutes=16)
    assert verdict() == "compliant"


def test_a_rerun_of_a_manual_patch_scan_ends_still_failing(shown: tuple[Sim, Showcase]) -> None:
    sim, showcase = shown
    key = _key(showcase, "missing_patches")
    ssm = _ssm(sim)
    acted_at = sim.fleet.now()
    assert fixes.rerun(ssm, key) is None
    run = first_run_after(ssm, key, acted_at)
    assert run is not None
    assert run.finished
    items = association_items(ssm, key.association_id, showcase.instances["missing_patches"])
    assert outcome(run=run, items=items, deadline_passed=False) == "still_failing"


def test_a_run_a_closed_calendar_holds_ends_pending(shown: tuple[Sim, Showcase]) -> None:
    sim, showcase = shown
    key = _key(showcase, "calendar_closed")
    ssm = _ssm(sim)
    acted_at = sim.fleet.now()
    assert fixes.rerun(ssm, key) is None
    run = first_run_after(ssm, key, acted_at)
    assert run is None
    assert outcome(run=run, items=None, deadline_passed=True) == "pending"
    assert outcome(run=None, items=None, deadline_passed=False, read_failed=True) == "unknown"
