"""The diagnosis rules on their own (no AWS): reading stderr, the parameters against the
document, the precedence of causes, which stderr to read, inference, grouping and wording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.diagnosis import (
    AgentFacts,
    AssociationFacts,
    CalendarFacts,
    DeclaredParameter,
    DocumentFacts,
    Evidence,
    RunFacts,
    StepOutput,
    TargetFacts,
)
from bot.core.diagnosis_rules import STDERR_SAMPLE, diagnose, plan_reads
from bot.core.diagnosis_words import headline, short
from bot.core.parameters import parameter_problems
from bot.core.stderr import agent_too_old, denied_call, first_error_line
from bot.models import AssociationKey

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = AssociationKey("111111111111", "eu-west-1", "8c1f2d3e-1111-4222-8333-444455556666")
CLI = (
    "An error occurred (AccessDenied) when calling the GetObject operation: User: "
    "arn:aws:sts::111111111111:assumed-role/app-instance-role/i-0abc is not authorized to "
    'perform: s3:GetObject on resource: "arn:aws:s3:::bucket/key.yml" because no '
    "identity-based policy allows the s3:GetObject action\nfailed to run commands: exit status 1"
)
GO = (
    "AccessDeniedException: User: arn:aws:sts::111111111111:assumed-role/ops/i-0abc is not "
    "authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:eu-west-1:111111111111:"
    "parameter/db with an explicit deny in a service control policy\n\tstatus code: 400"
)


# -- stderr ----------------------------------------------------------------------------------------


def test_a_refusal_is_read_from_the_clis_and_the_sdks_words() -> None:
    cli = denied_call(CLI)
    assert cli is not None
    assert (cli.action, cli.resource, cli.role, cli.explicit_deny) == (
        "s3:GetObject",
        "arn:aws:s3:::bucket/key.yml",
        "app-instance-role",
        None,
    )
    go = denied_call(GO)
    assert go is not None
    assert (go.action, go.role, go.explicit_deny) == (
        "ssm:GetParameter",
        "ops",
        "service control policy",
    )
    assert go.resource == "arn:aws:ssm:eu-west-1:111111111111:parameter/db"


@pytest.mark.parametrize(
    ("stderr", "action", "resource", "role"),
    [
        (
            "User: arn:aws:iam::111111111111:user/deploy is not authorized to perform: "
            "kms:Decrypt because no identity-based policy allows the kms:Decrypt action",
            "kms:Decrypt",
            None,
            None,
        ),
        (
            "An error occurred (AccessDenied) when calling the GetObject operation: Access "
            "Denied (fetching arn:aws:s3:::old-bucket/x)",
            "s3:GetObject",
            "arn:aws:s3:::old-bucket/x",
            None,
        ),
    ],
)
def test_refusals_without_every_detail(
    stderr: str, action: str, resource: str | None, role: str | None
) -> None:
    found = denied_call(stderr)
    assert found is not None
    assert (found.action, found.role) == (action, role)
    assert found.resource == resource


def test_no_refusal_no_agent_complaint_and_the_first_line_that_says_something() -> None:
    text = "\nfailed to run commands: exit status 1\nyum: cannot find a valid baseurl\n"
    assert denied_call(text) is None
    assert not agent_too_old(text)
    assert first_error_line(text) == "yum: cannot find a valid baseurl"
    assert first_error_line("failed to run commands: exit status 2") is None
    assert agent_too_old(
        "Plugin with name aws:runDocument is not supported by this version of ssm agent, please "
        "update to latest version. Step name: x"
    )


# -- the parameters --------------------------------------------------------------------------------

DECLARED = {
    "Operation": DeclaredParameter(
        "Operation", allowed_values=("Scan", "Install"), default="Scan", has_default=True
    ),
    "executionTimeout": DeclaredParameter(
        "executionTimeout", allowed_pattern="[1-9][0-9]{0,4}", default="3600", has_default=True
    ),
    "commands": DeclaredParameter("commands", type="StringList"),
}


def _evidence(parameters: dict[str, tuple[str, ...]], **kw: Any) -> Evidence:
    association = AssociationFacts(
        key=KEY,
        name="x",
        document_name=kw.pop("document", "AWS-RunShellScript"),
        document_version="$DEFAULT",
        association_version="3",
        parameters=parameters,
        sync_compliance=kw.pop("sync", "AUTO"),
        dispatch_role="arn:aws:iam::111111111111:role/d",
    )
    return Evidence(
        association=association,
        instances=kw.pop("instances", ()),
        document=DocumentFacts("AWS-RunShellScript", "4", DECLARED),
        **kw,
    )


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"commands": ("x",), "Operation": ("Scan",)}, []),
        ({"commands": ("x",), "Operation": ("latestt",)}, [("Operation", "latestt")]),
        ({"commands": ("x",), "executionTimeout": ("0",)}, [("executionTimeout", "0")]),
        ({"Operation": ("Scan",)}, [("commands", None)]),  # required, no default
        ({"commands": ("x",), "Typo": ("1",)}, [("Typo", "1")]),  # not declared
        ({"commands": ("x",), "Operation": ("{{ssm:/op}}",)}, []),  # resolved at run time
    ],
)
def test_parameters_against_what_the_document_declares(
    parameters: dict[str, tuple[str, ...]], expected: list[tuple[str, str | None]]
) -> None:
    found = parameter_problems(_evidence(parameters))
    assert [(name, value) for name, value, _ in found] == expected


# -- precedence ------------------------------------------------------------------------------------


def _agent(instance_id: str, ping: str = "Online", latest: bool = True) -> AgentFacts:
    return AgentFacts(instance_id, ping, NOW - timedelta(hours=1), "3.3.1.0", latest, None)


def _target(instance_id: str, status: str = "Failed", detail: str = "Failed") -> TargetFacts:
    return TargetFacts(instance_id, status, detail, "cmd-1")


def _case(**kw: Any) -> Evidence:
    ids = ("i-1",)
    defaults: dict[str, Any] = {
        "instances": ids,
        "targets": {"i-1": _target("i-1")},
        "agents": {"i-1": _agent("i-1")},
        "run": RunFacts("e-1", "Failed", NOW),
    }
    defaults.update(kw)
    parameters = defaults.pop("parameters", {"commands": ("x",)})
    return _evidence(parameters, **defaults)


def _cause(evidence: Evidence) -> str:
    (instance,) = diagnose(evidence, now=NOW).instances
    return instance.cause


def test_the_first_cause_that_holds_wins() -> None:
    bad = {"commands": ("x",), "Operation": ("latestt",)}
    lost = {"i-1": _agent("i-1", ping="ConnectionLost")}
    timed = {"i-1": _target("i-1", "TimedOut", "TimedOut")}
    alarm = RunFacts("e-1", "Failed", NOW, ("web-5xx",))
    closed = CalendarFacts(("freeze",), ("freeze",), NOW + timedelta(days=1))
    denied = {"i-1": StepOutput("i-1", CLI)}
    silent = {"i-1": StepOutput("i-1", "exit status 3")}
    assert _cause(_case(parameters=bad, agents=lost)) == "unreachable"
    assert _cause(_case(agents={})) == "unreachable"  # not a registered node
    assert _cause(_case(parameters=bad, run=alarm, targets=timed)) == "stopped_by_alarm"
    assert _cause(_case(parameters=bad, targets=timed)) == "bad_parameter"
    assert _cause(_case(targets=timed, outputs=denied)) == "timed_out"
    assert _cause(_case(outputs=denied, calendar=closed)) == "permissions"
    assert _cause(_case(outputs=silent, calendar=closed)) == "calendar_closed"
    assert _cause(_case(outputs=silent)) == "unknown"
    assert _cause(_case(agents_error="AccessDenied", outputs=denied)) == "permissions"


def test_at_most_five_stderr_reads_per_way_of_failing_and_the_rest_inferred() -> None:
    ids = tuple(f"i-{n}" for n in range(12))
    old = {i: _agent(i, latest=False) for i in ids[:4]}
    evidence = _case(
        instances=ids,
        targets={i: _target(i) for i in ids},
        agents={**{i: _agent(i) for i in ids}, **old},
    )
    plan = plan_reads(evidence)
    read = [i for i, _ in plan.stderr]
    assert read == [*ids[:4], *ids[4:9]]  # 4 with an old agent, 5 of the 8 others
    assert len(read) <= 2 * STDERR_SAMPLE
    outputs = {i: StepOutput(i, CLI) for i in read}
    done = diagnose(
        _case(
            instances=ids,
            targets={i: _target(i) for i in ids},
            agents={**{i: _agent(i) for i in ids}, **old},
            outputs=outputs,
        ),
        now=NOW,
    )
    inferred = [i.instance_id for i in done.instances if i.inferred]
    assert inferred == list(ids[9:])
    assert {i.cause for i in done.instances} == {"permissions"}


def test_when_the_stderr_read_disagrees_the_unread_are_unknown() -> None:
    ids = tuple(f"i-{n}" for n in range(7))
    outputs = {
        "i-0": StepOutput("i-0", CLI),
        "i-1": StepOutput("i-1", GO),
        **{i: StepOutput(i, CLI) for i in ids[2:5]},
    }
    done = diagnose(
        _case(
            instances=ids,
            targets={i: _target(i) for i in ids},
            agents={i: _agent(i) for i in ids},
            outputs=outputs,
        ),
        now=NOW,
    )
    unread = [i for i in done.instances if i.instance_id in ids[5:]]
    assert {i.cause for i in unread} == {"unknown"}
    assert "those read differ" in unread[0].evidence["error"]


# -- groups and words ------------------------------------------------------------------------------


def test_groups_summarise_what_differs_between_instances_failing_alike() -> None:
    ids = ("i-1", "i-2")
    agents = {
        "i-1": AgentFacts("i-1", "ConnectionLost", NOW - timedelta(hours=5), "3.3", True, None),
        "i-2": AgentFacts("i-2", "ConnectionLost", NOW - timedelta(hours=2), "3.3", True, None),
    }
    done = diagnose(
        _case(instances=ids, targets={i: _target(i) for i in ids}, agents=agents), now=NOW
    )
    (group,) = done.causes
    assert group.instances == ids
    assert group.evidence == {
        "ping_status": "ConnectionLost",
        "last_ping_at": "2026-03-02T07:00:00Z",
    }
    assert group.fix.instance_ids == ids
    assert headline(group).startswith("2 instances: not reachable by Systems Manager")


def test_the_headline_and_short_form_say_who_may_not_do_what_on_what() -> None:
    done = diagnose(_case(outputs={"i-1": StepOutput("i-1", CLI)}), now=NOW)
    (group,) = done.causes
    assert headline(group) == (
        "1 instance: the instance role `app-instance-role` may not `s3:GetObject` on "
        "`arn:aws:s3:::bucket/key.yml`"
    )
    assert short(done) == "missing permission s3:GetObject (1)"
    assert group.fix.statement is not None
    assert group.fix.statement.as_policy() == {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::bucket/key.yml",
    }


def test_an_explicit_deny_says_an_allow_will_not_help() -> None:
    done = diagnose(_case(outputs={"i-1": StepOutput("i-1", GO)}), now=NOW)
    (group,) = done.causes
    assert group.fix.kind == "iam_statement"
    assert "explicit deny in a service control policy" in group.fix.text
    assert "will not help" in group.fix.text


def test_a_bad_parameter_fix_carries_what_the_modal_and_the_update_need() -> None:
    done = diagnose(_case(parameters={"commands": ("x",), "Operation": ("latestt",)}), now=NOW)
    fix = done.causes[0].fix
    assert (fix.kind, fix.parameter, fix.value, fix.allowed_values) == (
        "update_parameter",
        "Operation",
        "latestt",
        ("Scan", "Install"),
    )
    assert fix.association_version == "3"
    assert fix.applicable


def test_a_hostile_stderr_never_reaches_the_terminal_as_control_characters() -> None:
    from bot.render.diagnosis import render_diagnosis

    hostile = "\x1b]0;pwned\x07 \x1b[31mRED\x9b2J rm -rf"
    done = diagnose(_case(outputs={"i-1": StepOutput("i-1", hostile)}), now=NOW)
    assert done.instances[0].cause == "unknown"
    text = render_diagnosis(done)
    assert not any(ch in text for ch in "\x1b\x07\x9b"), repr(text)
    assert "pwned" in text
