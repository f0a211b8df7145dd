"""`/ssm3 …` text -> a command, forgivingly: any case, extra spaces, an ARN or a bare ID.

Pure: no Slack, no AWS. Anything it cannot understand becomes a `ParseError` whose message
says what was wrong; the listener shows it above the help.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from bot.config import ACCOUNT_ID, REGION

MAX_ACK = timedelta(days=90)
MIN_ACK = timedelta(hours=1)
DEFAULT_ACK = timedelta(days=7)
MAX_REASON = 500

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ARN = re.compile(
    r"^arn:aws[a-z-]*:ssm:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):association/(?P<id>[0-9a-f-]{36})$"
)
_INSTANCE = re.compile(r"^m?i-[0-9a-f]{8,17}$")
_DURATION = re.compile(r"^(\d{1,4})\s*(h|hr|hrs|hour|hours|d|day|days|w|wk|wks|week|weeks)$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}

_ALIASES = {
    "status": "status",
    "st": "status",
    "list": "status",
    "history": "history",
    "hist": "history",
    "why": "history",
    "rerun": "rerun",
    "re-run": "rerun",
    "run": "rerun",
    "retry": "rerun",
    "ack": "ack",
    "acknowledge": "ack",
    "unack": "unack",
    "unacknowledge": "unack",
    "reopen": "unack",
    "sweep": "sweep",
    "refresh": "sweep",
    "audit": "audit",
    "log": "audit",
    "help": "help",
    "?": "help",
}


@dataclass(frozen=True)
class AssociationRef:
    """An association as the user named it; an ARN also says where it lives."""

    association_id: str
    account_id: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Status:
    kind: Literal["all", "account", "region", "association", "instance"] = "all"
    value: str | None = None
    ref: AssociationRef | None = None


@dataclass(frozen=True)
class History:
    ref: AssociationRef


@dataclass(frozen=True)
class Rerun:
    ref: AssociationRef


@dataclass(frozen=True)
class Ack:
    ref: AssociationRef
    duration: timedelta | None
    reason: str | None


@dataclass(frozen=True)
class Unack:
    ref: AssociationRef


@dataclass(frozen=True)
class Sweep:
    pass


@dataclass(frozen=True)
class Audit:
    pass


Command = Help | Status | History | Rerun | Ack | Unack | Sweep | Audit


class ParseError(ValueError):
    """What was wrong with the command text, in words for the user."""


def parse_command(text: str | None) -> Command:  # noqa: PLR0911  # one return per command
    words = _words(text)
    if not words:
        return Help()
    name = _ALIASES.get(words[0].lower())
    args = words[1:]
    if name is None:
        raise ParseError(f"I don't know the command {_show(words[0])}.")
    if name == "help":
        return Help()
    if name == "sweep":
        _no_more(args, "sweep")
        return Sweep()
    if name == "audit":
        _no_more(args, "audit")
        return Audit()
    if name == "status":
        return _status(args)
    if not args:
        raise ParseError(f"`{name}` needs an association ID, like `/ssm3 {name} 8c1f…`.")
    ref = parse_association(args[0])
    if name == "ack":
        duration, reason = _ack_rest(args[1:])
        return Ack(ref, duration, reason)
    _no_more(args[1:], name)
    if name == "history":
        return History(ref)
    if name == "rerun":
        return Rerun(ref)
    return Unack(ref)


def parse_association(word: str) -> AssociationRef:
    """A bare association ID (any case) or its ARN."""
    token = _unwrap(word)
    arn = _ARN.match(token.lower())
    if arn:
        return AssociationRef(arn["id"], arn["account"], arn["region"])
    if _UUID.match(token.lower()):
        return AssociationRef(token.lower())
    raise ParseError(
        f"{_show(word)} is not an association ID (like 8c1f2d3e-…) or an association ARN."
    )


def parse_duration(text: str) -> timedelta:
    """'12h', '7d', '2w', '3 days' -> a timedelta between MIN_ACK and MAX_ACK."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise ParseError(f"{_show(text)} is not a duration like 12h, 7d or 2w.")
    span = int(match[1]) * _UNITS[match[2][0]]
    if span < MIN_ACK:
        raise ParseError("An acknowledgement lasts at least 1 hour.")
    if span > MAX_ACK:
        raise ParseError(f"An acknowledgement lasts at most {MAX_ACK.days} days.")
    return span


def _status(args: list[str]) -> Status:
    if not args:
        return Status()
    _no_more(args[1:], "status")
    token = _unwrap(args[0])
    lowered = token.lower()
    if ACCOUNT_ID.match(lowered):
        return Status("account", lowered)
    if REGION.match(lowered):
        return Status("region", lowered)
    if _INSTANCE.match(lowered):
        return Status("instance", lowered)
    try:
        ref = parse_association(token)
    except ParseError:
        raise ParseError(
            f"{_show(args[0])} is not an account ID, a region, an association ID or an instance ID."
        ) from None
    return Status("association", ref.association_id, ref)


def _ack_rest(args: list[str]) -> tuple[timedelta | None, str | None]:
    duration: timedelta | None = None
    rest = list(args)
    if rest and rest[0].lower() == "for":
        rest.pop(0)
        if not rest:
            raise ParseError("`for` needs a duration, like `for 7d`.")
        duration, rest = _take_duration(rest, required=True)
    elif rest:
        duration, rest = _take_duration(rest, required=False)
    reason = " ".join(rest).strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise ParseError(f"The reason is {len(reason)} characters; keep it under {MAX_REASON}.")
    return duration, reason


def _take_duration(words: list[str], *, required: bool) -> tuple[timedelta | None, list[str]]:
    # "7d" as one word, or "7 days" as two
    for width in (1, 2):
        candidate = " ".join(words[:width])
        if len(words) >= width and _DURATION.match(candidate.lower()):
            return parse_duration(candidate), words[width:]
    if required:
        raise ParseError(f"{_show(words[0])} is not a duration like 12h, 7d or 2w.")
    return None, words


def _words(text: str | None) -> list[str]:
    return (text or "").replace("\u00a0", " ").split()


def _unwrap(word: str) -> str:
    """Drop what Slack or a paste may wrap an ID in: backticks, quotes, angle brackets."""
    return word.strip("`'\"<>()[],.;")


def _show(word: str) -> str:
    shown = word if len(word) <= 60 else word[:59] + "…"
    return f"`{shown.replace('`', '')}`"


def _no_more(extra: list[str], name: str) -> None:
    if extra:
        raise ParseError(f"`{name}` takes no more words, but I got {_show(' '.join(extra))}.")
