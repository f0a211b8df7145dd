"""One cause per instance, from first-class data, in a fixed precedence (the first that holds):

1. orphan — the association no longer exists (its NON_COMPLIANT items stay behind);
2. unreachable — the node is not Online (ConnectionLost, Inactive), is not a registered node,
   or the run could not be delivered to it (Undeliverable, DeliveryTimedOut);
3. stopped_by_alarm — the run that failed on it names TriggeredAlarms;
4. bad_parameter — the association's Parameters break what its document version declares
   (a value outside allowedValues, not matching allowedPattern, a required one missing, one
   not declared);
5. timed_out — its target TimedOut;
6. agent_outdated — the step's stderr says the agent cannot run the document;
7. permissions — the step's stderr names a call AWS refused;
8. missing_patches — a reported failure of a patch document on an instance whose Patch items
   are NON_COMPLIANT;
9. calendar_closed — one of the association's change calendars is CLOSED, so it cannot run
   again to clear the failure;
10. unknown — none of the above: the step's first error line.

A reachable, unalarmed run's failure needs the step's stderr (6, 7, 10), one GetCommandInvocation
an instance: `plan_reads` picks at most `STDERR_SAMPLE` instances of each way of failing (same
target status, agent and role); the others that failed the same way take the cause the ones
read agree on (`inferred`), and a warning says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.core import fix_texts
from bot.core.diagnosis import (
    CauseGroup,
    CauseName,
    Diagnosis,
    Evidence,
    Fix,
    InstanceDiagnosis,
    JsonValue,
    TargetFacts,
)
from bot.core.diagnosis_groups import group
from bot.core.parameters import parameter_problems, timeout_seconds
from bot.core.stderr import agent_too_old, denied_call, first_error_line
from bot.util.clock import iso

STDERR_SAMPLE = 5  # GetCommandInvocation: at most this many instances per way of failing
PATCH_DOCUMENTS = ("AWS-RunPatchBaseline", "AWS-RunPatchBaselineAssociation")
_NOT_ONLINE = frozenset({"ConnectionLost", "Inactive"})
_UNDELIVERED = frozenset({"undeliverable", "deliverytimedout"})


@dataclass(frozen=True)
class Found:
    cause: CauseName
    evidence: Mapping[str, JsonValue]
    fix: Fix


@dataclass(frozen=True)
class ReadPlan:
    """The reads a diagnosis needs once the first-class facts are in."""

    stderr: tuple[tuple[str, str], ...] = ()  # (instance ID, command ID)
    patches: tuple[str, ...] = ()  # instances whose Patch items to read


# -- per instance ----------------------------------------------------------------------------------


def _unreachable(evidence: Evidence, instance_id: str) -> Found | None:
    if evidence.agents_error is not None:
        agent = None
        known = False
    else:
        agent = evidence.agents.get(instance_id)
        known = True
    target = evidence.targets.get(instance_id)
    undelivered = target is not None and (target.detailed_status or "").lower() in _UNDELIVERED
    not_online = known and (agent is None or agent.ping_status in _NOT_ONLINE)
    if not (not_online or undelivered):
        return None
    found = {
        "ping_status": agent.ping_status if agent else None,
        "last_ping_at": iso(agent.last_ping_at) if agent else None,
    }
    online_now = agent is not None and agent.ping_status == "Online"
    return Found("unreachable", found, fix_texts.troubleshoot([instance_id], online_now=online_now))


def first_class(evidence: Evidence, instance_id: str) -> Found | None:
    """The cause the facts read first name for an instance (1-5), or None."""
    association = evidence.association
    if not evidence.exists:
        return Found(
            "orphan",
            {"association_id": association.key.association_id},
            fix_texts.delete_item(association.key.association_id, [instance_id]),
        )
    reached = _unreachable(evidence, instance_id)
    if reached is not None:
        return reached
    target = evidence.targets.get(instance_id)
    return _run_cause(evidence, instance_id, target) if target is not None else None


def _run_cause(evidence: Evidence, instance_id: str, target: TargetFacts) -> Found | None:
    """3-5: what the failed run and the association say, without the step's output."""
    association = evidence.association
    run = evidence.run
    if run is not None and run.triggered_alarms:
        alarms = list(run.triggered_alarms)
        return Found("stopped_by_alarm", {"alarms": alarms}, fix_texts.alarm(alarms, [instance_id]))
    problems = parameter_problems(evidence)
    if problems:
        name, value, declared = problems[0]
        return Found(
            "bad_parameter",
            {
                "parameter": name,
                "value": value,
                "allowed_values": list(declared.allowed_values)
                if declared and declared.allowed_values
                else None,
                "allowed_pattern": declared.allowed_pattern if declared else None,
            },
            fix_texts.update_parameter(
                name,
                value,
                declared,
                association_version=association.association_version,
                instance_ids=[instance_id],
                document=association.document_name,
                document_version=evidence.document.version if evidence.document else "?",
            ),
        )
    if target.status == "TimedOut":
        seconds, declared = timeout_seconds(evidence)
        return Found(
            "timed_out",
            {"timeout_seconds": seconds},
            fix_texts.raise_timeout(
                seconds,
                declared,
                association_version=association.association_version,
                instance_ids=[instance_id],
            ),
        )
    return None


def _from_output(evidence: Evidence, instance_id: str, stderr: str | None) -> Found | None:
    """6 and 7: what the step's stderr names."""
    if agent_too_old(stderr):
        agent = evidence.agents.get(instance_id)
        return Found(
            "agent_outdated",
            {
                "agent_version": agent.agent_version if agent else None,
                "is_latest": agent.is_latest if agent else None,
            },
            fix_texts.update_agent([instance_id]),
        )
    denied = denied_call(stderr)
    if denied is not None:
        agent = evidence.agents.get(instance_id)
        role = (agent.iam_role if agent else None) or denied.role
        return Found(
            "permissions",
            {"action": denied.action, "resource": denied.resource, "role": role},
            fix_texts.iam_statement(denied, role, [instance_id]),
        )
    return None


def _last_resort(evidence: Evidence, instance_id: str, error: str) -> Found:
    """8-10, for an instance nothing above explains."""
    association = evidence.association
    patches = evidence.patches.get(instance_id)
    if (
        instance_id not in evidence.targets
        and association.document_name.startswith(PATCH_DOCUMENTS)
        and patches is not None
        and patches.missing > 0
    ):
        return Found(
            "missing_patches",
            {
                "missing": patches.missing,
                "by_severity": dict(patches.by_severity),
                "examples": list(patches.examples[:5]),
            },
            fix_texts.install_patches([instance_id]),
        )
    calendar = evidence.calendar
    if calendar is not None and calendar.is_closed:
        return Found(
            "calendar_closed",
            {"calendars": list(calendar.closed), "next_open_at": iso(calendar.next_open_at)},
            fix_texts.calendar(calendar.closed, calendar.next_open_at, [instance_id]),
        )
    return Found(
        "unknown",
        {"error": error},
        fix_texts.read_the_output(association.key.association_id, [instance_id]),
    )


def _needs_output(evidence: Evidence, instance_id: str) -> bool:
    target = evidence.targets.get(instance_id)
    return target is not None and first_class(evidence, instance_id) is None


def signature(evidence: Evidence, instance_id: str) -> tuple[Any, ...]:
    """How an instance failed, as far as the facts without its stderr tell."""
    target = evidence.targets[instance_id]
    agent = evidence.agents.get(instance_id)
    return (
        target.status,
        target.detailed_status,
        agent.is_latest if agent else None,
        agent.agent_version if agent else None,
        agent.iam_role if agent else None,
    )


def plan_reads(evidence: Evidence) -> ReadPlan:
    """Whose stderr to read (at most STDERR_SAMPLE per signature), and whose Patch items."""
    seen: dict[tuple[Any, ...], int] = {}
    stderr: list[tuple[str, str]] = []
    for instance_id in evidence.instances:
        if not _needs_output(evidence, instance_id):
            continue
        command_id = evidence.targets[instance_id].command_id
        key = signature(evidence, instance_id)
        if command_id and seen.get(key, 0) < STDERR_SAMPLE:
            seen[key] = seen.get(key, 0) + 1
            stderr.append((instance_id, command_id))
    patches: tuple[str, ...] = ()
    if evidence.exists and evidence.association.document_name.startswith(PATCH_DOCUMENTS):
        patches = tuple(
            i
            for i in evidence.instances
            if i not in evidence.targets and first_class(evidence, i) is None
        )
    return ReadPlan(tuple(stderr), patches)


def diagnose(
    evidence: Evidence, *, now: datetime, aws_calls: Mapping[str, int] | None = None
) -> Diagnosis:
    """The diagnosis of everything read: one cause per instance, grouped, with warnings."""
    findings: dict[str, tuple[Found, bool]] = {}
    unread: list[str] = []
    for instance_id in evidence.instances:
        found = first_class(evidence, instance_id)
        if found is None and instance_id in evidence.targets:
            output = evidence.outputs.get(instance_id)
            if output is None:
                unread.append(instance_id)
                continue
            found = _from_output(evidence, instance_id, output.stderr) or _last_resort(
                evidence,
                instance_id,
                _error_line(evidence, instance_id, output.stderr, output.error),
            )
        elif found is None:
            found = _last_resort(evidence, instance_id, _reported_error(evidence))
        findings[instance_id] = (found, False)
    inferred = _infer(evidence, unread, findings)
    instances = tuple(
        InstanceDiagnosis(i, f.cause, f.evidence, f.fix, inferred=was)
        for i in evidence.instances
        for f, was in [findings[i]]
    )
    association = evidence.association
    return Diagnosis(
        key=association.key,
        association_name=association.name,
        document_name=association.document_name,
        document_version=evidence.document.version
        if evidence.document
        else association.document_version,
        failure_kind=association.failure_kind,
        dispatch_role=association.dispatch_role,
        instances=instances,
        causes=group(instances),
        warnings=tuple(_warnings(evidence, instances, inferred)),
        read_at=now,
        aws_calls=dict(aws_calls or {}),
    )


def _error_line(evidence: Evidence, instance_id: str, stderr: str | None, error: str | None) -> str:
    if error:
        return f"its step output could not be read: {error}"
    target = evidence.targets[instance_id]
    line = first_error_line(stderr)
    return line or f"the run ended {target.detailed_status or target.status} with no error output"


def _reported_error(evidence: Evidence) -> str:
    association = evidence.association
    if association.sync_compliance == "MANUAL":
        return (
            "reported NON_COMPLIANT by its document (SyncCompliance MANUAL) while its latest run "
            "succeeded on it"
        )
    return "NON_COMPLIANT though its latest run did not fail on it (a stale or separately reported item)"


def _infer(
    evidence: Evidence, unread: Sequence[str], findings: dict[str, tuple[Found, bool]]
) -> dict[tuple[Any, ...], int]:
    """Instances whose stderr was not read take what those read with the same signature
    agree on; where they disagree (or none was read), they are unknown. Returns how many were
    inferred per signature."""
    read: dict[tuple[Any, ...], list[Found]] = {}
    for instance_id, (found, _) in findings.items():
        if instance_id in evidence.outputs and instance_id in evidence.targets:
            read.setdefault(signature(evidence, instance_id), []).append(found)
    counted: dict[tuple[Any, ...], int] = {}
    for instance_id in unread:
        key = signature(evidence, instance_id)
        samples = read.get(key, [])
        shapes = {(f.cause, json.dumps(f.evidence, sort_keys=True)) for f in samples}
        if len(shapes) == 1:
            model = samples[0]
            fix = replace(model.fix, instance_ids=(instance_id,))
            findings[instance_id] = (Found(model.cause, model.evidence, fix), True)
            counted[key] = counted.get(key, 0) + 1
        else:
            why = (
                f"its step output was not read (at most {STDERR_SAMPLE} are read for each way of "
                "failing, and those read differ)"
                if samples
                else "its step output was not read"
            )
            findings[instance_id] = (_last_resort(evidence, instance_id, why), False)
    return counted


# -- warnings ---------------------------------------------------------------------------


def _warnings(
    evidence: Evidence,
    instances: Sequence[InstanceDiagnosis],
    inferred: Mapping[tuple[Any, ...], int],
) -> list[str]:
    association = evidence.association
    found: list[str] = list(evidence.notes)
    if evidence.exists and not association.dispatch_role:
        found.append(
            "It has no AssociationDispatchAssumeRole: State Manager dispatches it with its "
            "service-linked role, whose support is being phased out; give it a role of its own."
        )
    calendar = evidence.calendar
    if calendar is not None and calendar.is_closed:
        found.append(
            f"Change calendar {', '.join(calendar.closed)} is CLOSED until "
            f"{iso(calendar.next_open_at) or 'further notice'}: a re-run waits until it opens."
        )
    problems = parameter_problems(evidence)
    if len(problems) > 1:
        others = ", ".join(name for name, _, _ in problems[1:])
        found.append(f"Other parameters its document refuses as well: {others}.")
    if evidence.run_in_progress_since is not None:
        found.append(
            f"A run started at {iso(evidence.run_in_progress_since)} is still InProgress: this "
            "diagnoses the run before it."
        )
    total = sum(inferred.values())
    if total:
        read = sum(1 for i in instances if i.instance_id in evidence.outputs)
        found.append(
            f"Step output read on {read} instances; {total} more that failed the same way (same "
            "status, agent and role) are taken to fail for the same cause."
        )
    if not instances and evidence.exists:
        found.append(
            "Nothing to diagnose: its latest run failed on no instance and, as last swept, it "
            "makes none NON_COMPLIANT."
        )
    return found


def summary_line(diagnosis: Diagnosis, describe: Callable[[CauseGroup], str]) -> str:
    """The short form every surface can show: each cause group in a few words, most first."""
    parts = [describe(g) for g in sorted(diagnosis.causes, key=lambda g: -len(g.instances))]
    return "; ".join(parts) if parts else "nothing failing"
