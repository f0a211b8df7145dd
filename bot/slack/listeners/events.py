"""Events API events: `app_home_opened` publishes that person's Home tab (views.publish).

Acked at once (Slack wants its HTTP 200 within 3 seconds and sends the event again without it);
the tab is built from the store and published after the ack. Opening the Messages or About
tab sends the same event with another `tab`: those get nothing.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.slack.operations import Operations

EVENT = "app_home_opened"


def register(app: App, operations: Operations) -> None:
    def ack_now(ack: Ack) -> None:
        ack()

    def publish(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            operations.home_opened(str(event.get("user") or ""))

    app.event(EVENT)(ack=ack_now, lazy=[publish])
