"""Slack checks: the bot token (auth.test), the scopes it was granted (auth.test's
`x-oauth-scopes` header), membership of SSM3_CHANNEL (conversations.info), and whatever
`serve` needs to connect (the app-level token, or the signing secret in HTTP mode).

Calls go through `ask`, which turns every outcome into an `Answer`; the `judge_*` functions
are pure and turn answers into checklist lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.doctor.checks import Check
from bot.settings.config import Settings

SECTION = "Slack"
TIMEOUT_S = 5

# The bot scopes the app needs, and why; manifest.yaml declares exactly these
# (tests/test_doctor.py keeps the two equal).
REQUIRED_SCOPES: dict[str, str] = {
    "commands": "receive /ssm3",
    "chat:write": "post and update the digest, alerts and replies",
    "files:write": "attach the full list as a CSV to a long digest",
    "usergroups:read": "resolve user groups in SSM3_OPERATORS and SSM3_VIEWERS",
    "users:read": "refuse guests and other workspaces' people (users.info)",
    "channels:read": "let doctor check that the bot is in SSM3_CHANNEL",
}
MANIFEST_FIX = (
    "add them under OAuth & Permissions -> Bot Token Scopes (or create the app again from "
    "manifest.yaml), then reinstall the app to the workspace"
)


@dataclass(frozen=True)
class Answer:
    """What one Web API call came back with; `unreachable` when there was no HTTP answer."""

    ok: bool
    data: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, Any] = field(default_factory=dict)
    unreachable: str | None = None

    @property
    def error(self) -> str:
        return str(self.data.get("error") or self.unreachable or "unknown_error")

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name:
                return str(value[0] if isinstance(value, list) and value else value)
        return None


def ask(call: Callable[[], Any]) -> Answer:
    """Run one WebClient call; Slack's refusals and network failures become answers too."""
    try:
        response = call()
    except SlackApiError as exc:
        return Answer(False, dict(exc.response.data or {}), dict(exc.response.headers or {}))
    except (SlackClientError, OSError) as exc:
        return Answer(False, unreachable=f"{type(exc).__name__}: {exc}")
    return Answer(True, dict(response.data), dict(response.headers or {}))


def web_client(settings: Settings, token: str) -> WebClient:
    """Short timeout, one retry of a dropped connection: doctor must not hang on Slack."""
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=TIMEOUT_S,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
    )


def slack_checks(settings: Settings) -> list[Check]:
    checks = [judge_serve_mode(settings, _open_socket(settings))]
    if not settings.slack_bot_token:
        checks.append(
            Check(
                SECTION,
                "fail",
                "SLACK_BOT_TOKEN is not set",
                "create the app from manifest.yaml, install it to the workspace and set "
                "SLACK_BOT_TOKEN to its Bot User OAuth Token (xoxb-…)",
            )
        )
        return checks
    client = web_client(settings, settings.slack_bot_token)
    auth = ask(client.auth_test)
    checks.append(judge_auth(auth, settings.slack_api_url))
    if not auth.ok:
        return checks
    checks.extend(judge_scopes(_granted(auth)))
    bot = str(auth.data.get("user") or "ssm3-bot")
    if not settings.channels:
        checks.append(
            Check(
                SECTION,
                "fail",
                "SSM3_CHANNEL is not set",
                "set it to the digest channel's ID (C…, at the bottom of the channel's details), "
                f"then /invite @{bot} there",
            )
        )
        return checks
    # SSM3_CHANNEL and every route's channel: the bot must be able to post in each.
    for found in settings.channels:
        channel = found.id
        checks.append(
            judge_channel(
                channel,
                bot,
                ask(_channel_info(client, channel)),
                settings.slack_api_url,
            )
        )
    return checks


def _channel_info(client: WebClient, channel: str) -> Callable[[], Any]:
    return lambda: client.conversations_info(channel=channel)


def _open_socket(settings: Settings) -> Answer | None:
    """apps.connections.open with the app-level token, as Socket Mode does on start-up."""
    if not settings.slack_app_token:
        return None
    client = web_client(settings, settings.slack_app_token)
    token = settings.slack_app_token
    return ask(lambda: client.apps_connections_open(app_token=token))


def _granted(auth: Answer) -> set[str] | None:
    header = auth.header("x-oauth-scopes")
    if header is None:
        return None
    return {scope.strip() for scope in header.split(",") if scope.strip()}


# -- judging --------------------------------------------------------------------------------------


def judge_serve_mode(settings: Settings, socket: Answer | None) -> Check:
    if socket is None:
        if settings.slack_signing_secret:
            return Check(
                SECTION,
                "pass",
                f"serve will use HTTP mode on port {settings.http_port} (signing secret set; "
                "Slack must reach https://YOUR-HOST/slack/events)",
            )
        return Check(
            SECTION,
            "fail",
            "neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET is set, so serve cannot start",
            "set SLACK_APP_TOKEN to an app-level token with connections:write (Socket Mode, no "
            "public URL needed), or SLACK_SIGNING_SECRET for HTTP mode",
        )
    if socket.ok:
        return Check(SECTION, "pass", "Socket Mode: the app-level token opens a connection")
    if socket.unreachable:
        return _unreachable(socket, settings.slack_api_url)
    fixes = {
        "invalid_auth": "copy the app-level token (xapp-…) again from Basic Information -> "
        "App-Level Tokens",
        "missing_scope": "create an app-level token with the connections:write scope",
        "not_allowed_token_type": "SLACK_APP_TOKEN must be the app-level token (xapp-…)",
    }
    return Check(
        SECTION,
        "fail",
        f"Slack refused SLACK_APP_TOKEN for Socket Mode ({socket.error})",
        fixes.get(
            socket.error,
            "turn Socket Mode on under Settings -> Socket Mode, and check the app-level token",
        ),
    )


def judge_auth(auth: Answer, api_url: str) -> Check:
    if auth.ok:
        team, user = auth.data.get("team") or "?", auth.data.get("user") or "?"
        return Check(SECTION, "pass", f"Slack token valid (bot @{user} in workspace {team})")
    if auth.unreachable:
        return _unreachable(auth, api_url)
    return Check(
        SECTION,
        "fail",
        f"Slack rejected SLACK_BOT_TOKEN ({auth.error})",
        "copy the Bot User OAuth Token (xoxb-…) again from OAuth & Permissions; if the app "
        "was uninstalled or the token revoked, reinstall the app first",
    )


def judge_scopes(granted: set[str] | None) -> list[Check]:
    if granted is None:
        return [
            Check(
                SECTION,
                "warn",
                "Slack did not say which scopes the token has (no x-oauth-scopes header)",
                "compare OAuth & Permissions -> Bot Token Scopes with manifest.yaml",
            )
        ]
    missing = sorted(set(REQUIRED_SCOPES) - granted)
    extra = sorted(granted - set(REQUIRED_SCOPES))
    checks = []
    if missing:
        needs = "; ".join(f"{scope} ({REQUIRED_SCOPES[scope]})" for scope in missing)
        checks.append(Check(SECTION, "fail", f"the bot token lacks scopes: {needs}", MANIFEST_FIX))
    else:
        checks.append(
            Check(SECTION, "pass", f"the bot token has the {len(REQUIRED_SCOPES)} scopes it needs")
        )
    if extra:
        checks.append(
            Check(
                SECTION,
                "warn",
                f"the bot token has scopes ssm3-bot never uses: {', '.join(extra)}",
                "remove them under OAuth & Permissions and reinstall (least privilege)",
            )
        )
    return checks


def judge_channel(channel: str, bot: str, info: Answer, api_url: str = "") -> Check:
    if info.ok:
        return _judge_membership(channel, bot, info.data.get("channel") or {})
    if info.unreachable:
        return _unreachable(info, api_url)
    if info.error == "channel_not_found":
        return Check(
            SECTION,
            "fail",
            f"Slack knows no channel {channel} that the bot can see",
            "check that SSM3_CHANNEL is the channel's ID (C…, at the bottom of its details), "
            f"not its name; for a private channel, /invite @{bot} there first",
        )
    if info.error == "missing_scope" and info.data.get("needed") == "groups:read":
        return Check(
            SECTION,
            "warn",
            f"{channel} is private: the bot's membership cannot be checked without groups:read",
            "post a digest once to be sure: ssm3bot sweep --post",
        )
    return Check(
        SECTION,
        "fail",
        f"cannot check the bot's membership of {channel} (conversations.info: {info.error})",
        MANIFEST_FIX if info.error == "missing_scope" else "check SSM3_CHANNEL",
    )


def _judge_membership(channel: str, bot: str, details: Mapping[str, Any]) -> Check:
    label = f"#{details['name']} ({channel})" if details.get("name") else channel
    if details.get("is_archived"):
        return Check(
            SECTION,
            "fail",
            f"{label} is archived",
            "unarchive it, or set SSM3_CHANNEL to another channel",
        )
    if details.get("is_member"):
        return Check(SECTION, "pass", f"the bot is a member of {label}")
    return Check(
        SECTION, "fail", f"the bot is not in {label}", f"invite it with /invite @{bot} there"
    )


def _unreachable(answer: Answer, api_url: str) -> Check:
    where = f" at {api_url}" if api_url else ""
    return Check(
        SECTION,
        "fail",
        f"cannot reach Slack{where} ({answer.unreachable})",
        "check network access to slack.com (proxy, firewall) and SSM3_SLACK_API_URL",
    )
