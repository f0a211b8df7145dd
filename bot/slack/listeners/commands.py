"""`/ssm3 …`: parse and acknowledge at once (help and mistakes are answered in the ack itself),
then do the work in a lazy listener, after Slack has its HTTP 200."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.slack import blocks as kit
from bot.slack import parsing
from bot.slack.operations import Operations
from bot.slack.replies import Origin

COMMAND = "/ssm3"


def _working(command: parsing.Command) -> str | None:
    """A first answer for the requests that take a moment. (A sweep says it has started only
    after the permission check, from the lazy listener.)"""
    if isinstance(command, parsing.History):
        return f"Reading the history of {kit.inert(command.ref.association_id, 60)} from AWS…"
    return None


def register(app: App, operations: Operations) -> None:
    def ack_command(ack: Ack, command: dict[str, Any]) -> None:
        try:
            parsed = parsing.parse_command(command.get("text"))
        except parsing.ParseError as exc:
            message = kit.help_message(str(exc))
            ack(text=message.text, blocks=message.blocks_json(), response_type="ephemeral")
            return
        if isinstance(parsed, parsing.Help):
            message = kit.help_message()
            ack(text=message.text, blocks=message.blocks_json(), response_type="ephemeral")
            return
        working = _working(parsed)
        if working:
            ack(text=working, response_type="ephemeral")
        else:
            ack()

    def run_command(command: dict[str, Any]) -> None:
        try:
            parsed = parsing.parse_command(command.get("text"))
        except parsing.ParseError:
            return  # answered in the ack
        dispatch(operations, Origin.from_command(command), parsed)

    app.command(COMMAND)(ack=ack_command, lazy=[run_command])


def dispatch(operations: Operations, origin: Origin, command: parsing.Command) -> None:
    now = operations.now()
    match command:
        case parsing.Status():
            operations.status(origin, command)
        case parsing.History(ref=ref):
            operations.history(origin, ref)
        case parsing.Rerun(ref=ref):
            operations.confirm_rerun(origin, ref)
        case parsing.Ack(ref=ref, duration=duration, reason=reason):
            if reason is None:
                operations.open_ack(origin, ref, duration=duration)
            else:
                until = now + (duration or parsing.DEFAULT_ACK)
                operations.acknowledge(origin, ref, reason=reason, until=until)
        case parsing.Unack(ref=ref):
            operations.unacknowledge(origin, ref)
        case parsing.Sweep():
            operations.sweep(origin)
        case parsing.Audit():
            operations.audit(origin)
        case parsing.Help():
            pass
