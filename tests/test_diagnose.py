"""`ssm3bot diagnose` on a simulated fleet with one association failing for each cause: the
cause, evidence and fix per instance exactly as the contract spells them, the AWS calls a
diagnosis makes (counted in the simulator) within its budget, and the text form."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.sim.documents import SimCalendar
from bot.sim.fleet import (
    Fault,
    Fleet,
    SimAssociation,
    SimExecution,
    SimInstance,
    denied,
    generate_fleet,
)
from bot.sim.server import SimServer
from bot.sim.showcase import (
    ALARM,
    CALENDAR,
    OLD_AGENT,
    PLAYBOOKS,
    ROLE,
    SHOWCASE_CAUSES,
    Showcase,
    add_showcase,
)
from tests.support.sim import Sim

ACCOUNT = "111111111111"
REGION = "eu-west-1"
EVIDENCE_KEYS = {
    "unreachable": {"ping_status", "last_ping_at"},
    "agent_outdated": {"agent_version", "is_latest"},
    "permissions": {"action", "resource", "role"},
    "bad_parameter": {"parameter", "value", "allowed_values", "allowed_pattern"},
    "timed_out": {"timeout_seconds"},
    "stopped_by_alarm": {"alarms"},
    "calendar_closed": {"calendars", "next_open_at"},
    "missing_patches": {"missing", "by_severity", "examples"},
    "orphan": {"association_id"},
    "unknown": {"error"},
}
FIX_KIND = {
    "unreachable": "troubleshoot",
    "agent_outdated": "update_agent",
    "permissions": "iam_statement",
    "bad_parameter": "update_parameter",
    "timed_out": "update_parameter",  # the document declares executionTimeout
    "stopped_by_alarm": "manual",
    "calendar_closed": "manual",
    "missing_patches": "manual",
    "orphan": "manual",
    "unknown": "manual",
}
WRITES = {
    "UpdateAssociation",
    "StartAssociationsOnce",
    "SendCommand",
    "StartAutomationExecution",
    "PutComplianceItems",
}


def _point_at(sim: Sim, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder)
    for name, value in sim.env(SSM3_REGIONS=REGION, SSM3_DB_PATH=str(folder / "d.db")).items():
        monkeypatch.setenv(name, value)


def _showcase() -> tuple[Fleet, Showcase]:
    fleet = generate_fleet(seed=3, accounts=1, regions=(REGION,), associations=3, failing=1)
    return fleet, add_showcase(fleet, ACCOUNT, REGION)


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sim, Showcase, Path]]:
    """One simulator and one swept store for the tests that only read (a sweep each would
    cost a second a test)."""
    fleet, shown = _showcase()
    folder = tmp_path_factory.mktemp("diagnose")
    with SimServer(fleet) as server, pytest.MonkeyPatch.context() as patch:
        sim = Sim(fleet, server)
        _point_at(sim, folder, patch)
        assert main(["sweep"]) == 0
        yield sim, shown, folder
    assert fleet.violations == []


@pytest.fixture
def at_swept(
    swept: tuple[Sim, Showcase, Path], monkeypatch: pytest.MonkeyPatch
) -> tuple[Sim, Showcase]:
    sim, shown, folder = swept
    _point_at(sim, folder, monkeypatch)
    sim.fleet.reset_calls()
    return sim, shown


@pytest.fixture
def at_fleet(
    make_sim: Callable[..., Sim], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Sim, Showcase]:
    """A fleet of its own, swept once into a fresh store, for a test that changes AWS."""
    fleet, shown = _showcase()
    sim = make_sim(fleet)
    _point_at(sim, tmp_path, monkeypatch)
    assert main(["sweep"]) == 0
    return sim, shown


def _diagnose(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(["diagnose", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def _assert_contract(document: dict[str, Any]) -> None:
    assert set(document) == {"association", "instances", "causes", "warnings"}
    assert set(document["association"]) == {
        "account_id", "region", "association_id", "association_name", "document_name",
        "document_version", "failure_kind", "dispatch_role",
    }  # fmt: skip
    for item in [*document["instances"], *document["causes"]]:
        assert set(item["evidence"]) == EVIDENCE_KEYS[item["cause"]]
        assert set(item["fix"]) == {"kind", "text"}
        assert item["fix"]["kind"] == FIX_KIND[item["cause"]]
        assert item["fix"]["text"]
        assert "\n" not in item["fix"]["text"]
    grouped = [i for group in document["causes"] for i in group["instances"]]
    assert sorted(grouped) == sorted(i["instance_id"] for i in document["instances"])


@pytest.mark.parametrize("cause", SHOWCASE_CAUSES)
def test_diagnose_json_names_the_cause_evidence_and_fix_per_instance(
    cause: str, at_swept: tuple[Sim, Showcase], capsys: pytest.CaptureFixture[str]
) -> None:
    _sim, shown = at_swept
    association_id = shown.associations[cause]  # type: ignore[index]
    code, document = _diagnose(capsys, association_id)
    assert code == 0
    _assert_contract(document)
    failing = set(shown.instances[cause])  # type: ignore[index]
    assert {i["instance_id"] for i in document["instances"]} == failing
    assert {i["cause"] for i in document["instances"]} == {cause}
    (group,) = document["causes"]
    assert set(group["instances"]) == failing
    assert document["association"]["association_id"] == association_id
    assert document["association"]["account_id"] == ACCOUNT
    assert EXPECTED[cause](group["evidence"], document)


def _unreachable(e: dict[str, Any], d: dict[str, Any]) -> bool:
    return e["ping_status"] == "ConnectionLost" and e["last_ping_at"].endswith("Z")


def _agent(e: dict[str, Any], d: dict[str, Any]) -> bool:
    return e == {"agent_version": OLD_AGENT, "is_latest": False}


def _permissions(e: dict[str, Any], d: dict[str, Any]) -> bool:
    statement = '{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "' + PLAYBOOKS + '"}'
    fix = d["causes"][0]["fix"]["text"]
    return e == {"action": "s3:GetObject", "resource": PLAYBOOKS, "role": ROLE} and (
        statement in fix and ROLE in fix
    )


def _bad_parameter(e: dict[str, Any], d: dict[str, Any]) -> bool:
    return (
        e
        == {
            "parameter": "Operation",
            "value": "latestt",
            "allowed_values": ["Scan", "Install"],
            "allowed_pattern": None,
        }
        and d["association"]["document_version"] == "1"
    )


def _timed_out(e: dict[str, Any], d: dict[str, Any]) -> bool:
    return e == {"timeout_seconds": 600}


def _alarm(e: dict[str, Any], d: dict[str, Any]) -> bool:
    return e == {"alarms": [ALARM]}


def _calendar(e: dict[str, Any], d: dict[str, Any]) -> bool:
    return e["calendars"] == [CALENDAR] and e["next_open_at"].endswith("Z")


def _patches(e: dict[str, Any], d: dict[str, Any]) -> bool:
    # three instances missing 2, 3 and 4 of the scan's patches (Critical, High, Medium, High)
    return (
        e["missing"] == 9
        and e["by_severity"] == {"Critical": 3, "High": 4, "Medium": 2}
        and 1 <= len(e["examples"]) <= 5
        and d["association"]["failure_kind"] == "reported"
    )


def _orphan(e: dict[str, Any], d: dict[str, Any]) -> bool:
    return e == {"association_id": d["association"]["association_id"]}


def _unknown(e: dict[str, Any], d: dict[str, Any]) -> bool:
    return "command exited" in e["error"] and any(
        "AssociationDispatchAssumeRole" in w for w in d["warnings"]
    )


EXPECTED: dict[str, Callable[[dict[str, Any], dict[str, Any]], bool]] = {
    "unreachable": _unreachable,
    "agent_outdated": _agent,
    "permissions": _permissions,
    "bad_parameter": _bad_parameter,
    "timed_out": _timed_out,
    "stopped_by_alarm": _alarm,
    "calendar_closed": _calendar,
    "missing_patches": _patches,
    "orphan": _orphan,
    "unknown": _unknown,
}


def test_only_an_association_without_a_dispatch_role_is_warned_about_it(
    at_swept: tuple[Sim, Showcase], capsys: pytest.CaptureFixture[str]
) -> None:
    _, shown = at_swept
    for cause in ("permissions", "unknown"):
        _, document = _diagnose(capsys, shown.associations[cause])  # type: ignore[index]
        warned = any("AssociationDispatchAssumeRole" in w for w in document["warnings"])
        assert warned is (cause == "unknown")
        expected = None if cause == "unknown" else document["association"]["dispatch_role"]
        assert document["association"]["dispatch_role"] == expected


@pytest.mark.parametrize("cause", SHOWCASE_CAUSES)
def test_a_diagnosis_makes_only_the_calls_its_budget_allows(
    cause: str, at_swept: tuple[Sim, Showcase], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, shown = at_swept
    sim.fleet.reset_calls()
    code, document = _diagnose(capsys, shown.associations[cause])  # type: ignore[index]
    assert code == 0
    calls = {c.operation: n for c, n in sim.fleet.calls.items() if c.service == "ssm"}
    assert not WRITES & set(calls), "a diagnosis changes nothing"
    assert calls.pop("DescribeAssociation") == 1
    instances = len(document["instances"])
    if cause == "orphan":
        assert calls == {}  # the association is gone: nothing else to read
        return
    assert calls.pop("DescribeAssociationExecutions") == 1
    assert calls.pop("DescribeAssociationExecutionTargets", 0) <= 2  # one page per status
    assert calls.pop("GetDocument") == 1
    assert calls.pop("DescribeInstanceInformation") == math.ceil(instances / 50)
    assert calls.pop("GetCommandInvocation", 0) <= 5 * len(document["causes"])
    assert calls.pop("GetCalendarState", 0) == (1 if cause == "calendar_closed" else 0)
    if cause == "missing_patches":
        assert calls.pop("ListResourceComplianceSummaries") == math.ceil(instances / 20)
        assert calls.pop("ListComplianceItems") <= 5
    assert calls == {}


def test_stderr_is_read_on_five_instances_of_a_way_of_failing_the_rest_take_their_cause(
    make_sim: Callable[..., Sim], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    fleet = generate_fleet(seed=4, accounts=1, regions=(REGION,), associations=0, failing=0)
    scope = fleet.scope(ACCOUNT, REGION)
    ids = [f"i-{n:017x}" for n in range(120)]
    for instance_id in ids:
        scope.instances[instance_id] = SimInstance(instance_id, agent_version="3.3.1345.0")
    association = SimAssociation(
        "0b5a6c9e-1111-4222-8333-444455556666", "big-fleet", "AWS-RunShellScript",
        "rate(1 day)", tuple(ids), parameters={"commands": ["./deploy.sh"]},
    )  # fmt: skip
    scope.associations[association.association_id] = association
    refused = denied("aws:runShellScript", "ssm:GetParameter", None, style="go")
    association.executions.insert(
        0,
        SimExecution("6a0c8b7e-1111-4222-8333-444455556666", fleet.now(), tuple(ids),
                     dict.fromkeys(ids, refused), "9d4c2a1b-1111-4222-8333-444455556666"),
    )  # fmt: skip
    sim = make_sim(fleet)
    monkeypatch.chdir(tmp_path)
    for name, value in sim.env(SSM3_REGIONS=REGION, SSM3_DB_PATH=str(tmp_path / "d.db")).items():
        monkeypatch.setenv(name, value)
    assert main(["sweep"]) == 0
    fleet.reset_calls()
    code, document = _diagnose(capsys, association.association_id)
    assert code == 0
    assert fleet.call_count("GetCommandInvocation") == 5
    assert fleet.call_count("DescribeInstanceInformation") == 3  # 120 instances, 50 a call
    (group,) = document["causes"]
    assert (group["cause"], len(group["instances"])) == ("permissions", 120)
    assert group["evidence"] == {"action": "ssm:GetParameter", "resource": None, "role": ROLE}
    assert '"Resource": "*"' in group["fix"]["text"]
    assert any("Step output read on 5 instances; 115 more" in w for w in document["warnings"])


def test_the_text_form_groups_instances_by_cause_with_evidence_and_fix(
    at_swept: tuple[Sim, Showcase], capsys: pytest.CaptureFixture[str]
) -> None:
    _, shown = at_swept
    capsys.readouterr()
    assert main(["diagnose", shown.associations["permissions"]]) == 0
    text = capsys.readouterr().out
    assert (
        f"4 instances: the instance role `{ROLE}` may not `s3:GetObject` on `{PLAYBOOKS}`" in text
    )
    assert "fix (iam_statement): Add this statement to the role app-instance-role" in text
    for instance_id in shown.instances["permissions"]:
        assert instance_id in text


def test_unknown_associations_exit_2_and_aws_errors_exit_1_with_one_line(
    at_fleet: tuple[Sim, Showcase], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, shown = at_fleet
    nowhere = "01234567-89ab-4cde-8f01-23456789abcd"
    capsys.readouterr()
    assert main(["diagnose", nowhere]) == 2
    assert "is not in the store; run `ssm3bot sweep` first" in capsys.readouterr().err
    assert main(["diagnose", nowhere, "--account", ACCOUNT, "--region", REGION]) == 2
    assert f"{nowhere} does not exist in {ACCOUNT} {REGION}" in capsys.readouterr().err
    sim.fleet.inject(
        Fault("AccessDeniedException", "not authorized", operation="DescribeAssociation")
    )
    capsys.readouterr()
    assert main(["diagnose", shown.associations["permissions"]]) == 1
    err = capsys.readouterr().err
    assert "AccessDeniedException" in err
    assert "iam/ssm3-readonly.json" in err
    assert len(err.strip().splitlines()) == 1


def test_a_read_it_may_not_make_is_a_warning_and_the_rest_is_still_diagnosed(
    at_fleet: tuple[Sim, Showcase], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, shown = at_fleet
    sim.fleet.inject(Fault("AccessDeniedException", "not authorized", operation="GetDocument"))
    code, document = _diagnose(capsys, shown.associations["unreachable"])
    assert code == 0
    assert {i["cause"] for i in document["instances"]} == {"unreachable"}
    assert any(
        "GetDocument" in w and "grant ssm:GetDocument (iam/ssm3-readonly.json)" in w
        for w in document["warnings"]
    )


def test_the_associations_own_document_version_is_checked(
    at_fleet: tuple[Sim, Showcase], capsys: pytest.CaptureFixture[str]
) -> None:
    """Pinned to version 1 while $DEFAULT moved on: version 1's allowed values are what count."""
    sim, shown = at_fleet
    document = sim.fleet.documents["AWS-RunPatchBaseline"]
    newer = json.loads(json.dumps(document.content(1)))
    newer["parameters"]["Operation"]["allowedValues"] = ["Scan", "Install", "latestt"]
    document.add_version(newer, make_default=True)
    _, association = sim.fleet.find_association(shown.associations["bad_parameter"])
    association.document_version = "1"
    _, pinned = _diagnose(capsys, association.association_id)
    assert pinned["association"]["document_version"] == "1"
    assert pinned["causes"][0]["cause"] == "bad_parameter"
    association.document_version = "$DEFAULT"  # version 2 accepts `latestt`
    _, moved = _diagnose(capsys, association.association_id)
    assert moved["association"]["document_version"] == "2"
    assert "bad_parameter" not in {g["cause"] for g in moved["causes"]}


def test_a_closed_calendar_is_warned_about_even_when_another_cause_explains_the_failure(
    at_fleet: tuple[Sim, Showcase], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, shown = at_fleet
    scope = sim.fleet.scope(ACCOUNT, REGION)
    _, association = sim.fleet.find_association(shown.associations["permissions"])
    scope.calendars["quarter-end"] = SimCalendar("quarter-end", "CLOSED")
    association.calendar_names = ("quarter-end",)
    _, document = _diagnose(capsys, association.association_id)
    assert {g["cause"] for g in document["causes"]} == {"permissions"}
    assert any("quarter-end is CLOSED" in w for w in document["warnings"])
