"""The buttons: History, Re-run (Slack's confirm dialog already asked), Acknowledge (opens the
modal), Cancel on the slash command's re-run confirmation, a digest row's menu of the three,
and the Home tab's Sweep. Each is acked at once; the work runs in a lazy listener. A button's
value is parsed once, into the exact key its flow acts on.

Clicked on the Home tab, History, Re-run and Sweep first open a modal saying what is under
way (the click's trigger_id lasts 3 seconds); their answers then go into it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.models import AssociationKey
from bot.slack import blocks as kit
from bot.slack.flows import Flows
from bot.slack.replies import Origin, delete_original, open_working, tell

STALE = "This button is out of date; run `/ssm3 status`."

Body = dict[str, Any]
Listener = Callable[[Flows, Body, Body], None]


def ack_now(ack: Ack) -> None:
    ack()


def clicked(flows: Flows, body: Body, action: Body) -> tuple[Origin, AssociationKey | None]:
    """Where the click came from, and the association its button names (None: told stale)."""
    origin = Origin.from_action(body)
    key = kit.parse_key_value(action.get("value"))
    if key is None:
        tell(flows.services.client, origin, kit.notice(STALE))
    return origin, key


def history(flows: Flows, body: Body, action: Body) -> None:
    origin, key = clicked(flows, body, action)
    if key is not None:
        working = f"Reading the history of {kit.inert(key.association_id, 60)} from AWS…"
        flows.show_history(open_working(flows.services.client, origin, working), key)


def rerun(flows: Flows, body: Body, action: Body) -> None:
    origin, key = clicked(flows, body, action)
    if key is not None:
        origin = open_working(flows.services.client, origin, "Starting the re-run…")
        flows.reruns.start(origin, key)


def acknowledge(flows: Flows, body: Body, action: Body) -> None:
    origin, key = clicked(flows, body, action)
    if key is not None:
        flows.acks.open(origin, key)


def cancel(flows: Flows, body: Body, action: Body) -> None:
    delete_original(Origin.from_action(body))


def sweep(flows: Flows, body: Body, action: Body) -> None:
    origin = Origin.from_action(body)
    flows.sweeps.sweep(open_working(flows.services.client, origin, "Asking for a sweep…"))


def row(flows: Flows, body: Body, action: Body) -> None:
    """A digest row's menu: History at once, Re-run after its confirmation, Acknowledge's
    modal; the origin is the digest itself, so answers land where the buttons' would."""
    origin = Origin.from_action(body)
    chosen = kit.parse_row_value((action.get("selected_option") or {}).get("value"))
    if chosen is None:
        tell(flows.services.client, origin, kit.notice(STALE))
        return
    what, key = chosen
    if what == kit.ACTION_HISTORY:
        flows.show_history(origin, key)
    elif what == kit.ACTION_RERUN:
        flows.reruns.confirm(origin, key)
    else:
        flows.acks.open(origin, key)


LISTENERS: dict[str, Listener] = {
    kit.ACTION_HISTORY: history,
    kit.ACTION_RERUN: rerun,
    kit.ACTION_ACK: acknowledge,
    kit.ACTION_CANCEL: cancel,
    kit.ACTION_ROW: row,
    kit.ACTION_SWEEP: sweep,
}


def register(app: App, flows: Flows) -> None:
    for action_id, listener in LISTENERS.items():
        app.action(action_id)(ack=ack_now, lazy=[_bound(listener, flows)])


def _bound(listener: Listener, flows: Flows) -> Callable[[Body, Body], None]:
    """`listener` on these flows, with the arguments Bolt injects by name (body, action)."""
    return lambda body, action: listener(flows, body, action)
