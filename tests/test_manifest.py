"""manifest.yaml creates the app the code needs: /ssm3, interactivity, Socket Mode, and exactly
the bot scopes that the Web API methods called in bot/ require."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from slack_sdk import WebClient

from tests.fakes.fixtures import MANIFEST, manifest_scopes
from tests.fakes.slack_api import INBOUND_SCOPES, METHOD_SCOPES

ROOT = Path(__file__).resolve().parents[1]
# slack_sdk helpers that call several Web API methods.
COMPOSITE = {"files_upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}


def methods_called_in_code() -> set[str]:
    """Every WebClient method called anywhere in bot/, as Web API method names."""
    client_methods = {name for name in dir(WebClient) if not name.startswith("_")}
    found: set[str] = {"auth.test"}  # Bolt verifies the token with it
    for path in (ROOT / "bot").rglob("*.py"):
        for name in re.findall(r"\.([a-z]+_[A-Za-z_0-9]+)\(", path.read_text(encoding="utf-8")):
            if name in client_methods and name not in {"api_call"}:
                found.update(COMPOSITE.get(name, (name.replace("_", "."),)))
    return found


def test_manifest_scopes_are_exactly_what_the_code_calls() -> None:
    called = methods_called_in_code()
    assert {"chat.postMessage", "chat.update", "views.open", "usergroups.users.list"} <= called
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"add these methods and their scopes to METHOD_SCOPES: {unknown}"
    needed = {METHOD_SCOPES[m] for m in called if METHOD_SCOPES[m]} | INBOUND_SCOPES
    assert manifest_scopes() == needed


def test_manifest_declares_the_slack_surface() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    features = manifest["features"]
    assert features["bot_user"]["display_name"]
    [command] = features["slash_commands"]
    assert command["command"] == "/ssm3"
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "user" not in manifest["oauth_config"]["scopes"]
    # The Home tab, and the event that publishes it (over the socket, or the Events API).
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]


def test_every_event_the_app_listens_to_is_subscribed() -> None:
    from bot.slack.listeners import events

    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {events.EVENT}
