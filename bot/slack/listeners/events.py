"""Events API events: `app_home_opened` publishes that person's Home tab (views.publish).

Acked at once (Slack wants its HTTP 200 within 3 seconds and sends the event again without it);
the tab is built from the store and published after the ack. Opening the Messages or About
tab sends the same event with another `tab`: those get nothing.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.app.membership import teams_named
from bot.slack.flows import Flows

EVENT = "app_home_opened"


def ack_now(ack: Ack) -> None:
    ack()


def home_opened(flows: Flows, body: dict[str, Any], event: dict[str, Any]) -> None:
    if event.get("tab", "home") == "home":
        teams = teams_named(body.get("team_id"), event.get("user_team"))
        flows.home.opened(str(event.get("user") or ""), teams)


def register(app: App, flows: Flows) -> None:
    app.event(EVENT)(ack=ack_now, lazy=[lambda body, event: home_opened(flows, body, event)])
