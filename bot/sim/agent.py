"""What a step prints on stderr when AWS refuses one of its calls, as the instance's own role.

The two forms met in StandardErrorContent: the AWS CLI in a script (`cli`) and an SDK inside
the agent or a tool (`go`, the Go SDK's `Code: Message\n\tstatus code: …`). Both carry IAM's
message: who (the instance's role, as an assumed-role session named after the instance), the
action, the resource when the service names one, and why ("because no identity-based policy
allows …", or "with an explicit deny in a service control policy").
"""

from __future__ import annotations

import hashlib

from bot.sim.fleet import Failure, SimInstance


def stderr_of(failure: Failure, account_id: str, instance: SimInstance | None) -> str:
    """The step's stderr for `failure` on `instance` (its own text when it is no refusal)."""
    action = failure.denied_action
    if not action:
        return failure.stderr
    role = instance.role_name if instance else "app-instance-role"
    instance_id = instance.instance_id if instance else "i-00000000000000000"
    service, _, operation = action.partition(":")
    code = "AccessDenied" if service == "s3" else "AccessDeniedException"
    who = f"User: arn:aws:sts::{account_id}:assumed-role/{role}/{instance_id}"
    resource = failure.denied_resource
    quoted = f'"{resource}"' if failure.denied_style == "cli" else resource
    on = f" on resource: {quoted}" if resource else ""
    why = (
        " with an explicit deny in a service control policy"
        if failure.denied_by == "scp"
        else f" because no identity-based policy allows the {action} action"
    )
    message = f"{who} is not authorized to perform: {action}{on}{why}"
    if failure.denied_style == "go":
        request = hashlib.sha256(f"{instance_id}{action}".encode()).hexdigest()[:32]
        request_id = "-".join(
            (request[:8], request[8:12], request[12:16], request[16:20], request[20:])
        )
        return f"{code}: {message}\n\tstatus code: 400, request id: {request_id}\nfailed to run commands: exit status 1"
    return (
        f"\nAn error occurred ({code}) when calling the {operation} operation: {message}\n"
        "failed to run commands: exit status 1"
    )
