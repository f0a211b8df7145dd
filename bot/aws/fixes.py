"""The changes a diagnosis's fix makes in AWS, each only after a person's click (the fix use
case, bot/app/fixes.py, reaches them through `AwsFixes`; nothing calls them on its own):

- `update_parameter`: UpdateAssociation changing one parameter. AWS resets every optional
  member a request leaves out and replaces Parameters whole, so the association is read again
  and every member sent back as it is, with the one parameter changed and the
  AssociationVersion the diagnosis read: an edit made since is refused (`ConcurrentEdit`),
  here when the version read now differs, or by AWS (InvalidAssociationVersion) when the edit
  lands between the two calls. An update runs the association at once unless it is set to
  run only at its cron interval (`ParameterUpdated.ran`).
- `update_agent`: AWS-UpdateSSMAgent by SendCommand on exactly the instances given (50 a
  call); `command_outcome` reads how each ended (ListCommandInvocations).
- `troubleshoot`: AWS's runbook AWSSupport-TroubleshootManagedInstance for one instance
  (StartAutomationExecution); `automation_outcome` reads its status, failed steps and outputs.
- `rerun`: StartAssociationsOnce.

AWS refusing a call is a `FixFailed` naming the policy file in iam/ that grants it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.errors import AWS_ERRORS, describe_error, error_code, is_denied, policy_for
from bot.aws.session import AwsAccess
from bot.core.fix_texts import TROUBLESHOOT_RUNBOOK, UPDATE_AGENT_DOCUMENT
from bot.models import AssociationKey
from bot.models.fixes import (
    AutomationOutcome,
    AutomationStarted,
    CommandOutcome,
    CommandStarted,
    ConcurrentEdit,
    FixFailed,
    InvocationSeen,
    ParameterUpdated,
)
from bot.util.clock import aware

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

__all__ = [
    "AutomationOutcome",
    "AutomationStarted",
    "AwsFixes",
    "CommandOutcome",
    "CommandStarted",
    "ConcurrentEdit",
    "FixFailed",
    "ParameterUpdated",
]

INSTANCES_A_COMMAND = 50  # SendCommand: InstanceIds holds at most 50
T = TypeVar("T")


@cache
def _update_members() -> frozenset[str]:
    """What UpdateAssociation takes, from botocore's model (every one is sent back)."""
    model = botocore.session.get_session().get_service_model("ssm")
    shape = model.operation_model("UpdateAssociation").input_shape
    return frozenset(shape.members) if shape is not None else frozenset()


def _failed(action: str, exc: ClientError | BotoCoreError) -> FixFailed:
    return FixFailed(action, describe_error(exc), is_denied(exc), policy_for(action))


def update_parameter(
    ssm: SSMClient,
    key: AssociationKey,
    *,
    name: str,
    value: str | Sequence[str] | None,
    expected_version: str,
) -> ParameterUpdated | ConcurrentEdit | FixFailed:
    """Change one parameter (None removes it), everything else sent back as it is."""
    try:
        read = ssm.describe_association(AssociationId=key.association_id)
    except AWS_ERRORS as exc:
        return _failed("ssm:DescribeAssociation", exc)
    description: Mapping[str, Any] = read["AssociationDescription"]
    found = description.get("AssociationVersion")
    if found != expected_version:
        return ConcurrentEdit(key, expected_version, found)
    parameters = {k: list(v) for k, v in (description.get("Parameters") or {}).items()}
    before = tuple(parameters.get(name) or ()) or None
    if value is None:
        parameters.pop(name, None)
    else:
        parameters[name] = [value] if isinstance(value, str) else list(value)
    request = {
        k: v
        for k, v in description.items()
        if k in _update_members() and k not in {"AssociationVersion", "Parameters"}
    }
    request.update(
        AssociationId=key.association_id,
        AssociationVersion=expected_version,
        Parameters=parameters,
    )
    try:
        updated = ssm.update_association(**request)["AssociationDescription"]
    except ClientError as exc:
        if error_code(exc) == "InvalidAssociationVersion":
            return ConcurrentEdit(key, expected_version, None)
        return _failed("ssm:UpdateAssociation", exc)
    except BotoCoreError as exc:
        return _failed("ssm:UpdateAssociation", exc)
    after = tuple((updated.get("Parameters") or {}).get(name) or ()) or None
    return ParameterUpdated(
        key,
        name,
        before,
        after,
        updated.get("AssociationVersion"),
        ran=not updated.get("ApplyOnlyAtCronInterval", False),
    )


def rerun(ssm: SSMClient, key: AssociationKey) -> FixFailed | None:
    """StartAssociationsOnce (None: started)."""
    try:
        ssm.start_associations_once(AssociationIds=[key.association_id])
    except AWS_ERRORS as exc:
        return _failed("ssm:StartAssociationsOnce", exc)
    return None


# -- the SSM Agent ---------------------------------------------------------------------------------


def update_agent(
    ssm: SSMClient, instance_ids: Sequence[str], *, comment: str = "ssm3-bot: update the SSM Agent"
) -> CommandStarted | FixFailed:
    """AWS-UpdateSSMAgent on exactly these instances (one command per 50)."""
    ids = list(dict.fromkeys(instance_ids))
    started: list[str] = []
    for start in range(0, len(ids), INSTANCES_A_COMMAND):
        try:
            sent = ssm.send_command(
                DocumentName=UPDATE_AGENT_DOCUMENT,
                InstanceIds=ids[start : start + INSTANCES_A_COMMAND],
                Comment=comment[:100],
            )
        except AWS_ERRORS as exc:
            return _failed("ssm:SendCommand", exc)
        started.append(sent["Command"]["CommandId"])
    return CommandStarted(tuple(started), tuple(ids))


def command_outcome(ssm: SSMClient, command_id: str) -> CommandOutcome | FixFailed:
    seen: list[InvocationSeen] = []
    try:
        pages = ssm.get_paginator("list_command_invocations").paginate(
            CommandId=command_id, PaginationConfig={"PageSize": 50}
        )
        for page in pages:
            seen += [
                InvocationSeen(i["InstanceId"], str(i.get("Status")), str(i.get("StatusDetails")))
                for i in page.get("CommandInvocations", [])
            ]
    except AWS_ERRORS as exc:
        return _failed("ssm:ListCommandInvocations", exc)
    return CommandOutcome(command_id, tuple(seen))


# -- the troubleshooting runbook -------------------------------------------------------------------


def troubleshoot(ssm: SSMClient, instance_id: str) -> AutomationStarted | FixFailed:
    try:
        started = ssm.start_automation_execution(
            DocumentName=TROUBLESHOOT_RUNBOOK, Parameters={"InstanceId": [instance_id]}
        )
    except AWS_ERRORS as exc:
        return _failed("ssm:StartAutomationExecution", exc)
    return AutomationStarted(started["AutomationExecutionId"], instance_id)


_RUNNING = frozenset(
    {"Pending", "InProgress", "Waiting", "Cancelling", "Scheduled", "RunbookInProgress"}
)


def automation_outcome(ssm: SSMClient, execution_id: str) -> AutomationOutcome | FixFailed:
    try:
        execution = ssm.get_automation_execution(AutomationExecutionId=execution_id)[
            "AutomationExecution"
        ]
    except AWS_ERRORS as exc:
        return _failed("ssm:GetAutomationExecution", exc)
    status = str(execution.get("AutomationExecutionStatus") or "Pending")
    failed = tuple(
        (str(step.get("StepName")), str(step.get("FailureMessage") or ""))
        for step in execution.get("StepExecutions") or []
        if step.get("StepStatus") in {"Failed", "TimedOut", "Cancelled"}
    )
    return AutomationOutcome(
        execution_id=execution_id,
        runbook=TROUBLESHOOT_RUNBOOK,
        status=status,
        finished=status not in _RUNNING,
        failure=execution.get("FailureMessage"),
        failed_steps=failed,
        outputs={k: tuple(v) for k, v in (execution.get("Outputs") or {}).items()},
        ended_at=aware(execution.get("ExecutionEndTime")),
    )


# -- the fix use case's port (bot/app/fixes.py) ---------------------------------------------------


class AwsFixes:
    """The fixes through the member role of the association's account, one SSM client a call;
    a role that cannot be assumed is a FixFailed too."""

    def __init__(self, access: AwsAccess) -> None:
        self.access = access

    @contextmanager
    def _ssm(self, key: AssociationKey) -> Iterator[SSMClient]:
        ssm = self.access.ssm(key.scope)
        try:
            yield ssm
        finally:
            ssm.close()

    def _call(self, key: AssociationKey, work: Callable[[SSMClient], T]) -> T | FixFailed:
        try:
            with self._ssm(key) as ssm:
                return work(ssm)
        except AWS_ERRORS as exc:  # the role could not be assumed
            return _failed("sts:AssumeRole", exc)

    def update_parameter(
        self, key: AssociationKey, *, name: str, value: str | None, expected_version: str
    ) -> ParameterUpdated | ConcurrentEdit | FixFailed:
        return self._call(
            key,
            lambda ssm: update_parameter(
                ssm, key, name=name, value=value, expected_version=expected_version
            ),
        )

    def rerun(self, key: AssociationKey) -> FixFailed | None:
        return self._call(key, lambda ssm: rerun(ssm, key))

    def update_agent(
        self, key: AssociationKey, instance_ids: Sequence[str]
    ) -> CommandStarted | FixFailed:
        return self._call(key, lambda ssm: update_agent(ssm, instance_ids))

    def command_outcome(self, key: AssociationKey, command_id: str) -> CommandOutcome | FixFailed:
        return self._call(key, lambda ssm: command_outcome(ssm, command_id))

    def troubleshoot(self, key: AssociationKey, instance_id: str) -> AutomationStarted | FixFailed:
        return self._call(key, lambda ssm: troubleshoot(ssm, instance_id))

    def automation_outcome(
        self, key: AssociationKey, execution_id: str
    ) -> AutomationOutcome | FixFailed:
        return self._call(key, lambda ssm: automation_outcome(ssm, execution_id))
