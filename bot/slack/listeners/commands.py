"""`/ssm3 …`: parse and acknowledge at once (help and mistakes are answered in the ack itself),
then do the work in a lazy listener, after Slack has its HTTP 200."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.slack import blocks as kit
from bot.slack import parsing
from bot.slack.flows import Flows
from bot.slack.replies import Origin

COMMAND = "/ssm3"


def _working(command: parsing.Command) -> str | None:
    """A first answer for the requests that take a moment. (A sweep says it has started only
    after the permission check, from the lazy listener.)"""
    if isinstance(command, parsing.History):
        return f"Reading the history of {kit.inert(command.ref.association_id, 60)} from AWS…"
    return None


def ack_command(ack: Ack, command: dict[str, Any]) -> None:
    """Parse at once: help and mistakes are answered in the ack itself."""
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


def run_command(flows: Flows, command: dict[str, Any]) -> None:
    try:
        parsed = parsing.parse_command(command.get("text"))
    except parsing.ParseError:
        return  # answered in the ack
    dispatch(flows, Origin.from_command(command), parsed)


def dispatch(flows: Flows, origin: Origin, command: parsing.Command) -> None:
    match command:
        case parsing.Status():
            flows.show_status(origin, command)
        case parsing.History(ref=ref):
            flows.show_history(origin, ref)
        case parsing.Rerun(ref=ref):
            flows.reruns.confirm(origin, ref)
        case parsing.Ack(ref=ref, duration=duration, reason=reason):
            if reason is None:
                flows.acks.open(origin, ref, duration=duration)
            else:
                until = flows.services.clock() + (duration or parsing.DEFAULT_ACK)
                flows.acks.acknowledge(origin, ref, reason=reason, until=until)
        case parsing.Unack(ref=ref):
            flows.acks.unacknowledge(origin, ref)
        case parsing.Sweep():
            flows.sweeps.sweep(origin)
        case parsing.Audit():
            flows.show_audit(origin)
        case parsing.Help():
            pass


def register(app: App, flows: Flows) -> None:
    app.command(COMMAND)(ack=ack_command, lazy=[lambda command: run_command(flows, command)])
