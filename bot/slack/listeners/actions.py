"""The buttons: History, Re-run (Slack's confirm dialog already asked), Acknowledge (opens the
modal), Cancel on the slash command's re-run confirmation, a digest row's menu of the three,
and the Home tab's Sweep. Each is acked at once; the work runs in a lazy listener.

Clicked on the Home tab, History, Re-run and Sweep first open a modal saying what is under
way (the click's trigger_id lasts 3 seconds); their answers then go into it."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.slack import blocks as kit
from bot.slack import parsing
from bot.slack.operations import Operations
from bot.slack.replies import Origin, delete_original, open_working, tell

STALE = "This button is out of date; run `/ssm3 status`."


def register(app: App, operations: Operations) -> None:
    def ack_now(ack: Ack) -> None:
        ack()

    def target(
        body: dict[str, Any], action: dict[str, Any]
    ) -> tuple[Origin, parsing.AssociationRef | None]:
        origin = Origin.from_action(body)
        key = kit.parse_key_value(action.get("value"))
        if key is None:
            tell(operations.client, origin, kit.notice(STALE))
            return origin, None
        return origin, parsing.AssociationRef(key.association_id, key.account_id, key.region)

    def history(body: dict[str, Any], action: dict[str, Any]) -> None:
        origin, ref = target(body, action)
        if ref is not None:
            working = f"Reading the history of {kit.inert(ref.association_id, 60)} from AWS…"
            operations.history(open_working(operations.client, origin, working), ref)

    def rerun(body: dict[str, Any], action: dict[str, Any]) -> None:
        origin, ref = target(body, action)
        key = kit.parse_key_value(action.get("value"))
        if ref is not None and key is not None:
            origin = open_working(operations.client, origin, "Starting the re-run…")
            operations.rerun(origin, key)

    def acknowledge(body: dict[str, Any], action: dict[str, Any]) -> None:
        origin, ref = target(body, action)
        if ref is not None:
            operations.open_ack(origin, ref)

    def cancel(body: dict[str, Any]) -> None:
        delete_original(Origin.from_action(body))

    def sweep(body: dict[str, Any]) -> None:
        origin = open_working(operations.client, Origin.from_action(body), "Asking for a sweep…")
        operations.sweep(origin)

    def row(body: dict[str, Any], action: dict[str, Any]) -> None:
        """A digest row's menu: History at once, Re-run after its confirmation, Acknowledge's
        modal; the origin is the digest itself, so answers land where the buttons' would."""
        origin = Origin.from_action(body)
        chosen = kit.parse_row_value((action.get("selected_option") or {}).get("value"))
        if chosen is None:
            tell(operations.client, origin, kit.notice(STALE))
            return
        what, key = chosen
        ref = parsing.AssociationRef(key.association_id, key.account_id, key.region)
        if what == kit.ACTION_HISTORY:
            operations.history(origin, ref)
        elif what == kit.ACTION_RERUN:
            operations.confirm_rerun(origin, ref)
        else:
            operations.open_ack(origin, ref)

    app.action(kit.ACTION_HISTORY)(ack=ack_now, lazy=[history])
    app.action(kit.ACTION_RERUN)(ack=ack_now, lazy=[rerun])
    app.action(kit.ACTION_ACK)(ack=ack_now, lazy=[acknowledge])
    app.action(kit.ACTION_CANCEL)(ack=ack_now, lazy=[cancel])
    app.action(kit.ACTION_ROW)(ack=ack_now, lazy=[row])
    app.action(kit.ACTION_SWEEP)(ack=ack_now, lazy=[sweep])
