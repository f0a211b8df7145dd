"""Bolt listeners, one concern a module; `register(app, operations)` wires them all, behind the
guard that acts on each Slack request once (bot/slack/once.py)."""

from __future__ import annotations

from slack_bolt import App

from bot.slack import once
from bot.slack.listeners import actions, commands, events, views
from bot.slack.operations import Operations


def register(app: App, operations: Operations) -> None:
    app.use(once.middleware(once.SeenRequests()))
    commands.register(app, operations)
    actions.register(app, operations)
    views.register(app, operations)
    events.register(app, operations)
