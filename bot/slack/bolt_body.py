"""Bolt's HTTP body parser, mended: `slack_bolt.request.internals.parse_body` takes any form
body that contains the text "payload" anywhere for an interactive payload — a slash command
whose text says "payload", a channel named payload-ops, a user named payload — finds no
`payload` field and returns {}: the command is lost (Bolt answers 404, Slack shows the person
"dispatch_failed"). Here the form's own `payload` field decides. Installed by `build_app` for
every BoltRequest (the guard's, Bolt's lazy listeners' copies, tests' dispatches)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.request import request as bolt_request


def parse_body(body: str, content_type: str | None) -> dict[str, Any]:
    """Bolt's rules (JSON when the type says so or the body is an object), except that a form
    is an interactive payload only when it has a `payload` field."""
    if not body:
        return {}
    if content_type == "application/json" or body.startswith("{"):
        parsed: dict[str, Any] = json.loads(body)
        return parsed
    form = dict(parse_qsl(body, keep_blank_values=True))
    if "payload" in form:
        payload: dict[str, Any] = json.loads(form["payload"])
        return payload
    return form


def install() -> None:
    """Make every BoltRequest parse with `parse_body` (idempotent)."""
    bolt_request.parse_body = parse_body  # type: ignore[attr-defined]
