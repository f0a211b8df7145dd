"""Reading SSM3_ROUTES_FILE: YAML routes to team channels, checked whole at start-up.

Every problem is one RoutesError (config.py makes it a ConfigError on SSM3_ROUTES_FILE) naming the file, the route (1-based) and the key or value, or
the line of a YAML syntax error, so `serve` and `sweep` stop with one line and exit 2.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.core.ids import ACCOUNT_ID, CHANNEL_ID, REGION, SLACK_USER_OR_GROUP
from bot.core.routing import Route


class RoutesError(ValueError):
    """One problem in the routes file: where (file, route, key) and what."""


KEYS = ("channel", "accounts", "regions", "documents", "mention")
MENTION = SLACK_USER_OR_GROUP
# What SSM document names may contain (DocumentName's pattern), plus the glob characters.
_DOCUMENT_CHARS = re.compile(r"[a-zA-Z0-9_\-.:/*?\[\]!]{1,128}")
MAX_ROUTES = 200


def load_routes(path_text: str) -> tuple[Route, ...]:
    path = Path(path_text)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RoutesError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RoutesError(f"{where}: cannot be read ({exc})") from None
    return parse_routes(text, where)


def parse_routes(text: str, where: str) -> tuple[Route, ...]:
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise RoutesError(f"{where}{line}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise RoutesError(f"{where}: YAML syntax error: {exc}") from None
    if not isinstance(document, dict) or set(document) != {"routes"}:
        raise RoutesError(f"{where}: expected one top-level key, routes: [a list]")
    items = document["routes"]
    if not isinstance(items, list) or not items:
        raise RoutesError(f"{where}: routes must be a non-empty list")
    if len(items) > MAX_ROUTES:
        raise RoutesError(f"{where}: {len(items)} routes; at most {MAX_ROUTES}")
    return tuple(_route(item, f"{where}: route {n}") for n, item in enumerate(items, start=1))


def _route(item: Any, where: str) -> Route:
    if not isinstance(item, dict):
        raise RoutesError(f"{where}: expected keys ({', '.join(KEYS)}), not a value")
    for key in item:
        if key not in KEYS:
            raise RoutesError(f"{where}: unknown key {str(key)!r} (known: {', '.join(KEYS)})")
    if "channel" not in item:
        raise RoutesError(f"{where}: channel: required (a channel ID like C0123456789)")
    channel = item["channel"]
    if not isinstance(channel, str) or not CHANNEL_ID.fullmatch(channel):
        raise RoutesError(f"{where}: channel: {channel!r} is not a channel ID (like C0123456789)")
    accounts = _strings(item, "accounts", where)
    for account in accounts:
        if not ACCOUNT_ID.fullmatch(account):
            raise RoutesError(f"{where}: accounts: {account!r} is not a 12-digit ID")
    regions = _strings(item, "regions", where)
    for region in regions:
        if not REGION.fullmatch(region):
            raise RoutesError(f"{where}: regions: {region!r} is not an AWS region")
    documents = _strings(item, "documents", where)
    for glob in documents:
        if not _valid_glob(glob):
            raise RoutesError(f"{where}: documents: {glob!r} is not a document-name glob")
    mention = item.get("mention")
    if mention is not None and (not isinstance(mention, str) or not MENTION.fullmatch(mention)):
        raise RoutesError(
            f"{where}: mention: {mention!r} is not a user-group ID (S…) or user ID (U…)",
        )
    return Route(
        channel=channel,
        accounts=frozenset(accounts),
        regions=frozenset(regions),
        documents=documents,
        mention=mention,
    )


def _strings(item: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = item.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise RoutesError(f"{where}: {key}: expected a list of strings")
    for entry in value:
        if isinstance(entry, int) and not isinstance(entry, bool):
            raise RoutesError(
                f'{where}: {key}: {entry} must be quoted ("{entry}"): YAML reads bare numbers '
                "as numbers and drops leading zeros",
            )
        if not isinstance(entry, str):
            raise RoutesError(f"{where}: {key}: {entry!r} is not a string")
    return tuple(dict.fromkeys(value))


def _valid_glob(glob: str) -> bool:
    """A glob fnmatch reads as the user meant: document-name characters and closed brackets."""
    if not _DOCUMENT_CHARS.fullmatch(glob):
        return False
    depth = 0
    for char in glob:
        if char == "[":
            if depth:
                return False
            depth = 1
        elif char == "]" and depth:
            depth = 0
    return depth == 0
