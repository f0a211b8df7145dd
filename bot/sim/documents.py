"""SSM documents and change calendars as the simulator knows them: what GetDocument,
DescribeDocument and GetCalendarState answer, and the parameter checks AWS makes when an
association is created or updated.

A document has numbered versions, each with its content (schemaVersion, parameters with
`type`, `default`, `allowedValues`, `allowedPattern`, and steps); `$DEFAULT` is the version the
owner chose, `$LATEST` the newest. AWS-owned documents (`catalogue()`) are the fleet's, seen by
every account; an account's own documents and calendars live in its scope. The parameters declared
here follow the real documents' (names, allowed values and patterns); their steps are
abbreviated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import yaml

DocumentFormat = Literal["JSON", "YAML", "TEXT"]
CalendarState = Literal["OPEN", "CLOSED"]

# What the real documents declare for a run's time limit (AWS-RunShellScript's pattern).
EXECUTION_TIMEOUT_PATTERN = (
    "([1-9][0-9]{0,4})|(1[0-6][0-9]{4})|(17[0-1][0-9]{3})|(172[0-7][0-9]{2})|(172800)"
)
_EPOCH = datetime(2018, 1, 1, tzinfo=UTC)


@dataclass
class SimDocument:
    """One SSM document: its versions' contents (version N is `versions[N - 1]`)."""

    name: str
    document_type: str
    versions: list[dict[str, Any]]
    default_version: int = 1
    document_format: DocumentFormat = "JSON"
    owner: str = "Amazon"
    created_at: datetime = _EPOCH
    platforms: tuple[str, ...] = ("Linux", "Windows", "MacOS")

    def resolve(self, version: str | None) -> int | None:
        """The numbered version `$DEFAULT`, `$LATEST` or a number names (None: no such one)."""
        if version in (None, "", "$DEFAULT"):
            return self.default_version
        if version == "$LATEST":
            return len(self.versions)
        if version is not None and version.isdigit() and 1 <= int(version) <= len(self.versions):
            return int(version)
        return None

    def content(self, number: int) -> dict[str, Any]:
        return self.versions[number - 1]

    def declared(self, number: int) -> dict[str, dict[str, Any]]:
        parameters: dict[str, dict[str, Any]] = self.content(number).get("parameters") or {}
        return parameters

    def add_version(self, content: dict[str, Any], *, make_default: bool = False) -> int:
        self.versions.append(content)
        if make_default:
            self.default_version = len(self.versions)
        return len(self.versions)

    def render(self, number: int, document_format: str | None) -> tuple[str, str]:
        """(Content, DocumentFormat): AWS converts JSON and YAML into each other on request."""
        wanted = document_format or self.document_format
        content = self.content(number)
        if self.document_type == "ChangeCalendar" or wanted == "TEXT":
            return str(content.get("text", "")), "TEXT"
        if wanted == "YAML":
            return yaml.safe_dump(content, sort_keys=False), "YAML"
        return json.dumps(content, indent=2), "JSON"


@dataclass
class SimCalendar:
    """A change calendar (a ChangeCalendar document): its state now and when that changes."""

    name: str
    state: CalendarState = "OPEN"
    next_transition: datetime | None = None


class InvalidParameters(ValueError):
    """What CreateAssociation, UpdateAssociation and SendCommand refuse as InvalidParameters."""


def check_parameters(
    declared: Mapping[str, Mapping[str, Any]], given: Mapping[str, Sequence[str]]
) -> None:
    """Raise InvalidParameters as AWS does for values the document does not accept: a name it
    does not declare, a required one missing, a value outside `allowedValues` or not matching
    `allowedPattern`. `{{ssm:...}}` references are resolved at run time, so not checked here."""
    for name in given:
        if name not in declared:
            raise InvalidParameters(f"Parameter {name} is not defined in the document.")
    for name, spec in declared.items():
        values = list(given.get(name) or [])
        if not values:
            if "default" not in spec:
                raise InvalidParameters(f"Parameter {name} is required and has no default.")
            continue
        if spec.get("type", "String") == "String" and len(values) != 1:
            raise InvalidParameters(f"Parameter {name} takes one value, got {len(values)}.")
        for value in values:
            if "{{" in value:
                continue
            allowed = spec.get("allowedValues")
            if allowed and value not in allowed:
                raise InvalidParameters(
                    f"Parameter {name} value {value!r} is not one of the allowed values "
                    f"{', '.join(allowed)}."
                )
            pattern = spec.get("allowedPattern")
            if pattern and not re.fullmatch(pattern, value):
                raise InvalidParameters(
                    f"Parameter {name} value {value!r} does not match the pattern {pattern}."
                )


def first_violation(
    declared: Mapping[str, Mapping[str, Any]], given: Mapping[str, Sequence[str]]
) -> str | None:
    """The parameter whose value `check_parameters` refuses, or None when all are accepted."""
    try:
        check_parameters(declared, given)
    except InvalidParameters as exc:
        match = re.match(r"Parameter (\S+)", str(exc))
        return match.group(1) if match else None
    return None


# -- the AWS-owned documents the simulated estate uses ----------------------------------------------


def _command(
    description: str, parameters: dict[str, Any], *, schema: str = "2.2"
) -> dict[str, Any]:
    return {
        "schemaVersion": schema,
        "description": description,
        "parameters": parameters,
        "mainSteps": [
            {"action": "aws:runShellScript", "name": "runCommand", "inputs": {"runCommand": []}}
        ],
    }


def _string(
    description: str,
    *,
    default: str | None = None,
    allowed: Sequence[str] | None = None,
    pattern: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "String", "description": description}
    if default is not None:
        spec["default"] = default
    if allowed:
        spec["allowedValues"] = list(allowed)
    if pattern:
        spec["allowedPattern"] = pattern
    return spec


def _timeout() -> dict[str, Any]:
    return _string(
        "(Optional) The time in seconds for a command to be completed before it is considered "
        "to have failed. Default is 3600 (1 hour). Maximum is 172800 (48 hours).",
        default="3600",
        pattern=EXECUTION_TIMEOUT_PATTERN,
    )


def _script(description: str) -> dict[str, Any]:
    return _command(
        description,
        {
            "commands": {
                "type": "StringList",
                "description": "(Required) Specify a shell script or a command to run.",
            },
            "workingDirectory": _string(
                "(Optional) The path to the working directory on your instance.", default=""
            ),
            "executionTimeout": _timeout(),
        },
    )


_UUID = "[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}"


def _patch(description: str, *, association: bool = False) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "Operation": _string(
            "(Required) The update or configuration to perform on the instance.",
            default="Scan",
            allowed=("Scan", "Install"),
        ),
        "SnapshotId": _string(
            "(Optional) The snapshot ID to use to retrieve a patch baseline snapshot.",
            default="",
            pattern=f"(^$)|^{_UUID}$",
        ),
        "RebootOption": _string(
            "(Optional) Reboot behavior after a patch Install operation.",
            default="RebootIfNeeded",
            allowed=("RebootIfNeeded", "NoReboot"),
        ),
    }
    if association:
        parameters["AssociationId"] = _string("(Optional) The association ID.", default="")
    return _command(description, parameters)


def catalogue() -> dict[str, SimDocument]:
    """A fresh copy of the AWS-owned documents (each fleet keeps its own: tests add versions)."""
    documents = [
        SimDocument(
            "AWS-RunPatchBaseline",
            "Command",
            [_patch("Scans for or installs patches from a patch baseline.")],
        ),
        SimDocument(
            "AWS-RunPatchBaselineAssociation",
            "Command",
            [_patch("Scans for patches and reports compliance (Quick Setup).", association=True)],
        ),
        SimDocument(
            "AWS-GatherSoftwareInventory",
            "Policy",
            [
                {
                    "schemaVersion": "2.0",
                    "description": "Software Inventory Policy Document.",
                    "parameters": {
                        name: _string(
                            f"(Optional) Collect data for {name}.",
                            default="Enabled",
                            allowed=("Enabled", "Disabled"),
                        )
                        for name in ("applications", "awsComponents", "networkConfig", "services")
                    },
                    "mainSteps": [{"action": "aws:softwareInventory", "name": "collect"}],
                }
            ],
        ),
        SimDocument(
            "AWS-UpdateSSMAgent",
            "Command",
            [
                _command(
                    "Updates the Amazon SSM Agent to the specified version.",
                    {
                        "version": _string(
                            "(Optional) The version of the agent to install.", default=""
                        ),
                        "allowDowngrade": _string(
                            "(Optional) Allow the agent to be downgraded.",
                            default="false",
                            allowed=("true", "false"),
                        ),
                    },
                    schema="1.2",
                )
            ],
        ),
        SimDocument(
            "AmazonCloudWatch-ManageAgent",
            "Command",
            [
                _command(
                    "Send commands to the Amazon CloudWatch agent.",
                    {
                        "action": _string(
                            "The action the agent takes.",
                            default="configure",
                            allowed=(
                                "configure",
                                "configure (append)",
                                "configure (remove)",
                                "start",
                                "status",
                                "stop",
                            ),
                        ),
                        "mode": _string(
                            "The host type.", default="ec2", allowed=("ec2", "onPremise", "auto")
                        ),
                    },
                )
            ],
        ),
        SimDocument(
            "AWS-ConfigureAWSPackage",
            "Command",
            [
                _command(
                    "Install or uninstall a Distributor package.",
                    {
                        "action": _string(
                            "(Required) Specify whether or not to install or uninstall the "
                            "package.",
                            allowed=("Install", "Uninstall"),
                        ),
                        "name": _string(
                            "(Required) The package to install/uninstall.",
                            pattern="^arn:[a-z0-9][-.a-z0-9]{0,62}:[a-z0-9][-.a-z0-9]{0,62}:"
                            "([a-z0-9][-.a-z0-9]{0,62})?:([a-z0-9][-.a-z0-9]{0,62})?:"
                            "(package|document)\\/[a-zA-Z0-9/:.\\-_]{1,128}$|^[a-zA-Z0-9/:."
                            "\\-_]{1,128}$",
                        ),
                        "version": _string("(Optional) The version of the package.", default=""),
                    },
                )
            ],
        ),
        SimDocument(
            "AWS-ApplyAnsiblePlaybooks",
            "Command",
            [
                _command(
                    "Use this document to run Ansible playbooks.",
                    {
                        "SourceType": _string(
                            "(Optional) Specify the source type.",
                            default="S3",
                            allowed=("GitHub", "S3"),
                        ),
                        "Check": _string(
                            "(Optional) Run in check mode.",
                            default="False",
                            allowed=("True", "False"),
                        ),
                        "TimeoutSeconds": _string(
                            "(Optional) The time in seconds for a command to complete.",
                            default="3600",
                        ),
                    },
                )
            ],
        ),
        SimDocument(
            "AWS-RunShellScript",
            "Command",
            [_script("Run a shell script or specify the commands to run.")],
            platforms=("Linux", "MacOS"),
        ),
        SimDocument(
            "AWS-RunPowerShellScript",
            "Command",
            [_script("Run a PowerShell script or specify the paths to scripts to run.")],
            platforms=("Windows",),
        ),
        SimDocument(
            "AmazonInspector2-ConfigureInspectorSsmPlugin",
            "Command",
            [
                _command(
                    "Install or uninstall the Amazon Inspector SSM plugin.",
                    {
                        "Operation": _string(
                            "(Required) The operation.",
                            default="Install",
                            allowed=("Install", "Uninstall"),
                        )
                    },
                )
            ],
        ),
        SimDocument(
            "AWSSupport-TroubleshootManagedInstance",
            "Automation",
            [
                {
                    "schemaVersion": "0.3",
                    "description": "Troubleshoots why an EC2 instance is not a managed node: "
                    "network (VPC endpoints, security groups, NACLs), the instance profile, "
                    "and the agent.",
                    "assumeRole": "{{ AutomationAssumeRole }}",
                    "parameters": {
                        "InstanceId": _string(
                            "(Required) The ID of the instance that does not report as managed.",
                            pattern="^i-[a-z0-9]{8,17}$",
                        ),
                        "AutomationAssumeRole": _string(
                            "(Optional) The ARN of the role Automation assumes.", default=""
                        ),
                    },
                    "mainSteps": [{"name": "getInstanceProperties", "action": "aws:executeAwsApi"}],
                }
            ],
        ),
    ]
    return {document.name: document for document in documents}


def calendar_document(name: str, *, owner: str) -> SimDocument:
    """A change calendar as a ChangeCalendar document (its iCalendar text abbreviated)."""
    return SimDocument(
        name,
        "ChangeCalendar",
        [{"text": "BEGIN:VCALENDAR\nPRODID:-//AWS//Change Calendar 1.0//EN\nEND:VCALENDAR\n"}],
        document_format="TEXT",
        owner=owner,
    )
