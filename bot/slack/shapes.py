"""What each kind of request this app handles must look like, checked on the parsed body of a
signed request before Bolt sees it (bot/slack/guard.py): anything else is answered 400.

Bolt reads a request's team, user and channel from wherever Slack may put them (as strings or
objects, at the top or inside `event`, `message`, `authorizations`, …), and the listeners read
the fields of their kind; a field of the wrong type there raised deep inside Bolt or a listener
and came back as HTTP 500 with a traceback in the log. This module knows those fields and
their types: a body passes only when every one present has its type and its kind's required
fields are there. Fields nobody reads are not looked at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

# The request kinds the app handles (manifest.yaml: /ssm3, interactivity, app_home_opened).
KINDS = ("command", "ssl_check", "url_verification", "event_callback", "block_actions")
VIEW_KINDS = ("view_submission", "view_closed")
EVENTS = ("app_home_opened",)  # the only event subscribed
NESTED = ("event", "message", "previous_message", "item", "assistant_thread")  # Bolt recurses
MAX_DEPTH = 6  # of those keys inside one another; Slack nests at most two or three

_URL = re.compile(r"https?://[^\s/?#]+[^\s]*")  # where answers are posted: Slack's hooks
Problem = str | None
_Kind = type | tuple[type, ...]
_STRING = str
_OPTIONAL_STRING = (str, type(None))
_OBJECT = (dict, type(None))


def problem(body: Any) -> Problem:
    """Why `body` (Bolt's parse of a signed request) is not a request this app handles, or
    None when it is one."""
    if not isinstance(body, dict):
        return "the body is not a JSON object or a form"
    kind = kind_of(body)
    if kind is None:
        return "not a kind of request this app handles"
    return _context(body, 0) or _CHECKS[kind](body)


def kind_of(body: Mapping[str, Any]) -> str | None:
    if "ssl_check" in body:
        return "ssl_check"
    if "command" in body:
        return "command"
    kind = body.get("type")
    if kind in KINDS or kind in VIEW_KINDS:
        return str(kind)
    return None


# -- what Bolt reads from every request -------------------------------------------------------
_IDS: dict[str, _Kind] = {
    "type": _OPTIONAL_STRING,
    "team_id": _OPTIONAL_STRING,
    "enterprise_id": _OPTIONAL_STRING,
    "user_id": _OPTIONAL_STRING,
    "channel_id": _OPTIONAL_STRING,
    "thread_ts": _OPTIONAL_STRING,
    "response_url": _OPTIONAL_STRING,
    "trigger_id": _OPTIONAL_STRING,
    "function_execution_id": _OPTIONAL_STRING,
    "bot_access_token": _OPTIONAL_STRING,
    "context_team_id": _OPTIONAL_STRING,
    "context_enterprise_id": _OPTIONAL_STRING,
    "function_data": _OBJECT,
    "view": _OBJECT,
    "response_urls": (list, type(None)),
    "authorizations": (list, type(None)),
}
# A string ID, or an object whose `id` (and these fields) are strings.
_ID_OR_OBJECT: dict[str, tuple[str, ...]] = {
    "team": ("id", "enterprise_id", "domain"),
    "enterprise": ("id",),
    "user": ("id", "team_id", "username", "name"),
    "channel": ("id", "name"),
}


def _context(body: Mapping[str, Any], depth: int) -> Problem:
    """The fields Bolt's context reads (bot IDs, team, user, channel), here and in the objects
    it looks inside."""
    return next(_context_problems(body, depth), None)


def _context_problems(body: Mapping[str, Any], depth: int) -> Iterator[str]:
    if depth > MAX_DEPTH:
        yield "nested too deep"
    for name, kind in _IDS.items():
        if name in body and not isinstance(body[name], kind):
            yield f"{name} has the wrong type"
    if isinstance(body.get("response_url"), str) and not _URL.fullmatch(body["response_url"]):
        yield "response_url is not a URL"
    for name, fields in _ID_OR_OBJECT.items():
        value = body.get(name)
        if isinstance(value, dict):
            wrong = _wrong_fields(value, dict.fromkeys(fields, _OPTIONAL_STRING))
            if wrong:
                yield f"{name}.{wrong} has the wrong type"
        elif value is not None and not isinstance(value, str):
            yield f"{name} has the wrong type"
    yield from _lists_of_objects(body)
    view = body.get("view") or {}
    wrong = _wrong_fields(
        view, dict.fromkeys(("app_installed_team_id", "team_id"), _OPTIONAL_STRING)
    )
    if wrong:
        yield f"view.{wrong} has the wrong type"
    for name in NESTED:
        if name in body and not isinstance(body[name], dict):
            yield f"{name} is not an object"
        elif name in body:
            yield from (f"{name}: {p}" for p in _context_problems(body[name], depth + 1))


def _lists_of_objects(body: Mapping[str, Any]) -> Iterator[str]:
    for name in ("authorizations", "response_urls"):
        if any(not isinstance(item, dict) for item in body.get(name) or ()):
            yield f"{name} holds something other than objects"
    for item in body.get("authorizations") or ():
        wrong = _wrong_fields(item, dict.fromkeys(("team_id", "enterprise_id"), _OPTIONAL_STRING))
        if wrong:
            yield f"authorizations.{wrong} has the wrong type"


def _wrong_fields(value: Mapping[str, Any], fields: Mapping[str, _Kind]) -> str | None:
    """The first of `fields` present in `value` with another type."""
    for name, kind in fields.items():
        if name in value and not isinstance(value[name], kind):
            return name
    return None


def _required(body: Mapping[str, Any], fields: Mapping[str, _Kind]) -> Problem:
    for name, kind in fields.items():
        if not isinstance(body.get(name), kind):
            return f"{name} is missing or has the wrong type"
    return None


# -- each kind ----------------------------------------------------------------------------------
_COMMAND_FIELDS = ("text", "user_name", "team_domain", "channel_name", "api_app_id", "token")


def _command(body: Mapping[str, Any]) -> Problem:
    """/ssm3 (a form: every value a string; as JSON, they must be strings too)."""
    return _required(
        body, {"command": _STRING, "user_id": _STRING, "team_id": _STRING}
    ) or _field_problem(body, dict.fromkeys(_COMMAND_FIELDS, _OPTIONAL_STRING))


def _ssl_check(body: Mapping[str, Any]) -> Problem:
    return _field_problem(body, {"ssl_check": _STRING, "token": _OPTIONAL_STRING})


def _url_verification(body: Mapping[str, Any]) -> Problem:
    return _required(body, {"challenge": _STRING})


def _event_callback(body: Mapping[str, Any]) -> Problem:
    event = body.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return "event is missing or has no type"
    if event["type"] not in EVENTS:
        return f"event {event['type'][:40]!r} is not one this app subscribes to"
    return _required(event, {"user": _STRING}) or _field_problem(event, {"tab": _OPTIONAL_STRING})


def _block_actions(body: Mapping[str, Any]) -> Problem:
    found = _interaction(body)
    if found:
        return found
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        return "actions is missing or empty"
    for action in actions:
        if not isinstance(action, dict):
            return "an action is not an object"
        found = _required(action, {"action_id": _STRING}) or _field_problem(
            action,
            {"block_id": _OPTIONAL_STRING, "value": _OPTIONAL_STRING, "selected_option": _OBJECT},
        )
        if found:
            return f"action: {found}"
        option = action.get("selected_option") or {}
        if "value" in option and not isinstance(option["value"], str):
            return "action: selected_option.value is not a string"
    container = body.get("container") or {}
    return _field_problem(
        container,
        {
            "channel_id": _OPTIONAL_STRING,
            "message_ts": _OPTIONAL_STRING,
            "view_id": _OPTIONAL_STRING,
            "is_ephemeral": (bool, type(None)),
        },
    ) or _field_problem(body.get("message") or {}, {"ts": _OPTIONAL_STRING})


def _view(body: Mapping[str, Any]) -> Problem:
    return next(_view_problems(body), None)


def _view_problems(body: Mapping[str, Any]) -> Iterator[str]:
    found = _interaction(body)
    if found:
        yield found
    view = body.get("view")
    if not isinstance(view, dict):
        yield "view is missing"
        return
    found = _required(view, {"callback_id": _STRING}) or _field_problem(
        view,
        {"private_metadata": _OPTIONAL_STRING, "state": _OBJECT, "type": _OPTIONAL_STRING},
    )
    if found:
        yield f"view: {found}"
    values = (view.get("state") or {}).get("values", {})
    if not isinstance(values, dict):
        yield "view.state.values is not an object"
        return
    for block in values.values():
        if not isinstance(block, dict) or any(not isinstance(e, dict) for e in block.values()):
            yield "view.state.values holds something other than objects"
            return
        for element in block.values():
            found = _field_problem(
                element,
                {
                    "value": _OPTIONAL_STRING,
                    "selected_date": _OPTIONAL_STRING,
                    "selected_option": _OBJECT,
                },
            )
            option = element.get("selected_option") or {}
            if found:
                yield f"view.state: {found}"
            elif "value" in option and not isinstance(option["value"], str):
                yield "view.state: selected_option.value is not a string"


def _interaction(body: Mapping[str, Any]) -> Problem:
    """What every click and form submission carries: who (an object with a string ID)."""
    user = body.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return "user is missing or has no id"
    return _field_problem(body, {"container": _OBJECT, "message": _OBJECT})


def _field_problem(value: Mapping[str, Any], fields: Mapping[str, _Kind]) -> Problem:
    wrong = _wrong_fields(value, fields)
    return None if wrong is None else f"{wrong} has the wrong type"


_CHECKS = {
    "command": _command,
    "ssl_check": _ssl_check,
    "url_verification": _url_verification,
    "event_callback": _event_callback,
    "block_actions": _block_actions,
    "view_submission": _view,
    "view_closed": _view,
}
