"""Bolt listeners, one concern a module; `register(app, flows)` wires them all (the flows, bot/slack/flows/, built once), behind the
guard that acts on each Slack request once (bot/slack/once.py)."""

from __future__ import annotations

from slack_bolt import App

from bot.slack import once
from bot.slack.flows import Flows
from bot.slack.listeners import actions, commands, events, views


def register(app: App, flows: Flows) -> None:
    app.use(once.middleware(once.SeenRequests()))
    commands.register(app, flows)
    actions.register(app, flows)
    views.register(app, flows)
    events.register(app, flows)
