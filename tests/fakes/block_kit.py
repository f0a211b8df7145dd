"""Slack's Block Kit limits, checked the way Slack's API checks them (independently of slack_sdk).

Sources: Slack's Block Kit reference (blocks, block elements, composition objects, surfaces).
A message holds at most 50 blocks, a modal or Home tab 100; a section's text at most 3000
characters, each of its (at most 10) fields 2000; a header 150 (plain_text only); a button's
text 75, its action_id 255, its value 2000, its url 3000; an actions block 25 elements; a
context block 10; a select 100 options, each option's text 75 and value 150; a confirmation
dialog's title 100, text 300, buttons 30; a modal's title, submit and close 24 characters,
its private_metadata 3000. A Home tab view (`views.publish`) is `type: home` with at most
100 blocks, private_metadata 3000, callback_id 255, no title, submit or close, and at most
250 kB in all (`view_too_large`). Slack also refuses a message whose blocks carry too much text in
total (`msg_blocks_too_long`, observed from about 12,000 characters of text); the fake
applies 12,000.

`check_message` / `check_view` return Slack-style error lines ("[ERROR] … [json-pointer:…]");
an empty list means Slack would accept it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

MESSAGE_BLOCKS = 50
SURFACE_BLOCKS = 100
MESSAGE_TEXT_TOTAL = 12_000
MESSAGE_TOP_TEXT = 40_000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

_BLOCK_TYPES = {
    "section",
    "header",
    "divider",
    "actions",
    "context",
    "input",
    "image",
    "rich_text",
    "markdown",
}


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.text_chars = 0

    def fail(self, problem: str, pointer: str) -> None:
        self.errors.append(f"[ERROR] {problem} [json-pointer:{pointer}]")

    def length(self, value: Any, limit: int, pointer: str, *, required: bool = False) -> None:
        if value is None:
            if required:
                self.fail("missing required field", pointer)
            return
        if not isinstance(value, str):
            self.fail("must be a string", pointer)
        elif len(value) > limit:
            self.fail(f"must be less than {limit + 1} characters", pointer)
        elif required and not value:
            self.fail("must be more than 0 characters", pointer)

    def text(
        self,
        obj: Any,
        pointer: str,
        limit: int,
        *,
        plain_only: bool = False,
        required: bool = True,
    ) -> None:
        if obj is None:
            if required:
                self.fail("missing required field", pointer)
            return
        if not isinstance(obj, dict):
            self.fail("must be a text object", pointer)
            return
        kind = obj.get("type")
        if kind not in {"plain_text", "mrkdwn"}:
            self.fail("must be plain_text or mrkdwn", f"{pointer}/type")
        elif plain_only and kind != "plain_text":
            self.fail("must be plain_text", f"{pointer}/type")
        if kind == "mrkdwn" and "emoji" in obj:
            self.fail("emoji is not allowed in mrkdwn", f"{pointer}/emoji")
        text = obj.get("text")
        self.length(text, limit, f"{pointer}/text", required=True)
        if isinstance(text, str):
            self.text_chars += len(text)

    def confirm(self, obj: Any, pointer: str) -> None:
        if obj is None:
            return
        self.text(obj.get("title"), f"{pointer}/title", 100, plain_only=True)
        self.text(obj.get("text"), f"{pointer}/text", 300)
        self.text(obj.get("confirm"), f"{pointer}/confirm", 30, plain_only=True)
        self.text(obj.get("deny"), f"{pointer}/deny", 30, plain_only=True)
        if obj.get("style") not in {None, "primary", "danger"}:
            self.fail("must be primary or danger", f"{pointer}/style")

    def option(self, obj: Any, pointer: str) -> None:
        if not isinstance(obj, dict):
            self.fail("must be an option object", pointer)
            return
        self.text(obj.get("text"), f"{pointer}/text", 75)
        self.length(obj.get("value"), 150, f"{pointer}/value", required=True)

    def element(self, obj: Any, pointer: str, action_ids: set[str]) -> None:  # noqa: PLR0912
        if not isinstance(obj, dict):
            self.fail("must be an element object", pointer)
            return
        kind = obj.get("type")
        action_id = obj.get("action_id")
        self.length(action_id, 255, f"{pointer}/action_id")
        if isinstance(action_id, str):
            if action_id in action_ids:
                self.fail("action_id must be unique within a block", f"{pointer}/action_id")
            action_ids.add(action_id)
        self.confirm(obj.get("confirm"), f"{pointer}/confirm")
        if kind == "button":
            self.text(obj.get("text"), f"{pointer}/text", 75, plain_only=True)
            self.length(obj.get("value"), 2000, f"{pointer}/value")
            self.length(obj.get("url"), 3000, f"{pointer}/url")
            if obj.get("style") not in {None, "primary", "danger"}:
                self.fail("must be primary or danger", f"{pointer}/style")
        elif kind in {"static_select", "radio_buttons", "checkboxes", "overflow"}:
            limit = {"static_select": 100, "radio_buttons": 10, "checkboxes": 10, "overflow": 5}[
                kind
            ]
            options = obj.get("options")
            if not isinstance(options, list) or not options:
                self.fail("must provide options", f"{pointer}/options")
                options = []
            if len(options) > limit:
                self.fail(f"must provide no more than {limit} items", f"{pointer}/options")
            for i, option in enumerate(options):
                self.option(option, f"{pointer}/options/{i}")
            initial = obj.get("initial_option")
            if initial is not None and initial not in options:
                self.fail("initial_option must match an option", f"{pointer}/initial_option")
            self.text(obj.get("placeholder"), f"{pointer}/placeholder", 150, required=False)
        elif kind == "plain_text_input":
            self.text(obj.get("placeholder"), f"{pointer}/placeholder", 150, required=False)
            for name in ("min_length", "max_length"):
                value = obj.get(name)
                if value is not None and not (isinstance(value, int) and 0 <= value <= 3000):
                    self.fail("must be between 0 and 3000", f"{pointer}/{name}")
        elif kind == "datepicker":
            initial = obj.get("initial_date")
            if initial is not None and not (isinstance(initial, str) and _DATE.match(initial)):
                self.fail("must be a date in the format YYYY-MM-DD", f"{pointer}/initial_date")
            self.text(obj.get("placeholder"), f"{pointer}/placeholder", 150, required=False)
        elif kind == "image":
            self.length(obj.get("image_url"), 3000, f"{pointer}/image_url")
            self.length(obj.get("alt_text"), 2000, f"{pointer}/alt_text", required=True)
        else:
            self.fail(f"unsupported element type {kind!r}", f"{pointer}/type")

    def block(self, block: Any, pointer: str, block_ids: set[str], surface: str) -> None:  # noqa: PLR0912
        if not isinstance(block, dict):
            self.fail("must be a block object", pointer)
            return
        kind = block.get("type")
        if kind not in _BLOCK_TYPES:
            self.fail(f"unsupported block type {kind!r}", f"{pointer}/type")
            return
        block_id = block.get("block_id")
        self.length(block_id, 255, f"{pointer}/block_id")
        if isinstance(block_id, str):
            if block_id in block_ids:
                self.fail("block_id must be unique", f"{pointer}/block_id")
            block_ids.add(block_id)
        action_ids: set[str] = set()
        if kind == "section":
            fields = block.get("fields")
            if block.get("text") is None and not fields:
                self.fail("must provide either text or fields", pointer)
            self.text(block.get("text"), f"{pointer}/text", 3000, required=False)
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    self.fail("must provide no more than 10 items", f"{pointer}/fields")
                else:
                    for i, field in enumerate(fields):
                        self.text(field, f"{pointer}/fields/{i}", 2000)
            if block.get("accessory") is not None:
                self.element(block["accessory"], f"{pointer}/accessory", action_ids)
        elif kind == "header":
            self.text(block.get("text"), f"{pointer}/text", 150, plain_only=True)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.fail("must provide elements", f"{pointer}/elements")
                return
            if len(elements) > 25:
                self.fail("must provide no more than 25 items", f"{pointer}/elements")
            for i, element in enumerate(elements):
                self.element(element, f"{pointer}/elements/{i}", action_ids)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.fail("must provide elements", f"{pointer}/elements")
                return
            if len(elements) > 10:
                self.fail("must provide no more than 10 items", f"{pointer}/elements")
            for i, element in enumerate(elements):
                if isinstance(element, dict) and element.get("type") == "image":
                    self.element(element, f"{pointer}/elements/{i}", action_ids)
                else:
                    self.text(element, f"{pointer}/elements/{i}", 3000)
        elif kind == "input":
            if surface == "message":
                self.fail("input blocks are not allowed in messages", f"{pointer}/type")
            self.text(block.get("label"), f"{pointer}/label", 2000, plain_only=True)
            self.text(block.get("hint"), f"{pointer}/hint", 2000, plain_only=True, required=False)
            if block.get("element") is None:
                self.fail("missing required field", f"{pointer}/element")
            else:
                self.element(block["element"], f"{pointer}/element", action_ids)
        elif kind == "markdown":
            self.length(block.get("text"), 12000, f"{pointer}/text", required=True)
            self.text_chars += len(str(block.get("text") or ""))

    def blocks(self, blocks: Any, pointer: str, limit: int, surface: str) -> None:
        if not isinstance(blocks, list):
            self.fail("must be an array", pointer)
            return
        if len(blocks) > limit:
            self.fail(f"must provide no more than {limit} items", pointer)
        block_ids: set[str] = set()
        for i, block in enumerate(blocks):
            self.block(block, f"{pointer}/{i}", block_ids, surface)


def check_message(text: Any, blocks: Any) -> tuple[str | None, list[str]]:  # noqa: PLR0911
    """(error code, details) for a chat.postMessage / chat.update / response_url payload."""
    if blocks in (None, "", []):
        if not text:
            return "no_text", []
        if len(str(text)) > MESSAGE_TOP_TEXT:
            return "msg_too_long", []
        return None, []
    checker = _Checker()
    checker.blocks(blocks, "/blocks", MESSAGE_BLOCKS, "message")
    if checker.errors:
        return "invalid_blocks", checker.errors
    if checker.text_chars > MESSAGE_TEXT_TOTAL:
        return "msg_blocks_too_long", []
    if text is not None and len(str(text)) > MESSAGE_TOP_TEXT:
        return "msg_too_long", []
    return None, []


def check_view(view: Any) -> list[str]:
    """Problems with a modal view for views.open / views.update (Slack: invalid_arguments)."""
    checker = _Checker()
    if not isinstance(view, dict):
        return ["[ERROR] must be a view object [json-pointer:/view]"]
    if view.get("type") != "modal":
        checker.fail("must be modal", "/view/type")
    checker.text(view.get("title"), "/view/title", 24, plain_only=True)
    checker.text(view.get("submit"), "/view/submit", 24, plain_only=True, required=False)
    checker.text(view.get("close"), "/view/close", 24, plain_only=True, required=False)
    checker.length(view.get("callback_id"), 255, "/view/callback_id")
    checker.length(view.get("private_metadata"), 3000, "/view/private_metadata")
    blocks = view.get("blocks")
    checker.blocks(blocks, "/view/blocks", SURFACE_BLOCKS, "modal")
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if has_input and view.get("submit") is None:
        checker.fail("a view with input blocks must have a submit button", "/view/submit")
    return checker.errors


HOME_VIEW_BYTES = 250_000
_HOME_FIELDS = {"type", "blocks", "private_metadata", "callback_id", "external_id"}


def check_home_view(view: Any) -> list[str]:
    """Problems with a Home tab view for views.publish (Slack: invalid_arguments)."""
    checker = _Checker()
    if not isinstance(view, dict):
        return ["[ERROR] must be a view object [json-pointer:/view]"]
    if view.get("type") != "home":
        checker.fail("must be home", "/view/type")
    for name in sorted(set(view) - _HOME_FIELDS):
        checker.fail(f"{name} is not allowed in a home view", f"/view/{name}")
    checker.length(view.get("callback_id"), 255, "/view/callback_id")
    checker.length(view.get("private_metadata"), 3000, "/view/private_metadata")
    if view.get("blocks") is None:
        checker.fail("missing required field", "/view/blocks")
    checker.blocks(view.get("blocks"), "/view/blocks", SURFACE_BLOCKS, "home")
    return checker.errors


def texts(blocks: Any) -> Iterator[tuple[str, str]]:
    """Every text object in a block tree as (type, text): for assertions on what users see."""
    if isinstance(blocks, dict):
        if blocks.get("type") in {"plain_text", "mrkdwn"} and isinstance(blocks.get("text"), str):
            yield blocks["type"], blocks["text"]
            return
        for value in blocks.values():
            yield from texts(value)
    elif isinstance(blocks, list):
        for item in blocks:
            yield from texts(item)
