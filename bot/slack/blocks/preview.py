"""Block Kit drawn as plain text, the way a person sees it in Slack: mentions as @names, dates
as their fallback, buttons in brackets. For the README's screens (docs/screens.py), so what
the documentation shows is what the code renders."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

WIDTH = 92
_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)>")
_GROUP = re.compile(r"<!subteam\^([A-Z0-9]+)>")
# Slack draws these: shown as what they look like, not as markup.
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")
_CODE = re.compile(r"`([^`\n]+)`")
EMOJI = {
    ":rotating_light:": "🚨",
    ":white_check_mark:": "✅",
    ":warning:": "⚠",
    ":alarm_clock:": "⏰",
    ":x:": "❌",
    ":large_green_circle:": "🟢",
    ":red_circle:": "🔴",
    ":shield:": "🛡",
    ":grey_question:": "❔",
}


def preview(blocks: Iterable[Mapping[str, Any]], names: Mapping[str, str] | None = None) -> str:
    """The blocks as text; `names` turns user and group IDs into the @names Slack would show."""
    lines: list[str] = []
    for block in blocks:
        lines += _block(block, names or {})
    return "\n".join(line.rstrip() for line in lines)


def _block(block: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        title = _text(block["text"], names)
        return [title, "═" * min(WIDTH, len(title))]
    if kind == "divider":
        return ["─" * WIDTH]
    if kind == "section":
        lines = _text(block.get("text"), names).splitlines() or [""]
        for field in block.get("fields") or []:
            lines.append(_text(field, names))
        accessory = block.get("accessory")
        if accessory:
            lines[0] = f"{lines[0]}  {_element(accessory, names)}"
        return lines
    if kind == "context":
        return ["  " + "  ".join(_element(e, names) for e in block.get("elements", []))]
    if kind == "actions":
        return ["  ".join(_element(e, names) for e in block.get("elements", []))]
    return []


def _element(element: Mapping[str, Any], names: Mapping[str, str]) -> str:
    kind = element.get("type")
    if kind == "button":
        return f"[ {_text(element['text'], names)} ]"
    if kind == "overflow":
        return "[ ⋯ ]"
    if kind in {"static_select", "users_select", "datepicker"}:
        return f"[ {_text(element.get('placeholder'), names) or 'choose'} ▾ ]"
    if kind in {"mrkdwn", "plain_text"}:
        return _text(element, names)
    return ""


def _text(obj: Mapping[str, Any] | None, names: Mapping[str, str]) -> str:
    if not obj:
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") != "mrkdwn":
        return text
    text = _DATE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _USER.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = _GROUP.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = _CODE.sub(
        lambda m: m.group(1), _ITALIC.sub(lambda m: m.group(1), _BOLD.sub(r"\1", text))
    )
    for code, glyph in EMOJI.items():
        text = text.replace(code, glyph)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
