"""`/ssm3 …` text -> a command, forgivingly: any case, extra spaces, an ARN or a bare ID.

Pure: no Slack, no AWS. Anything it cannot understand becomes a `ParseError` whose message
says what was wrong; the listener shows it above the help.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from bot.app.terms import (
    DEFAULT_ACK,
    MAX_ACK,
    MAX_REASON,
    MIN_ACK,
    InputError,
    parse_association,
    parse_duration,
)
from bot.app.terms import DURATION as _DURATION
from bot.app.terms import show as _show
from bot.app.terms import unwrap as _unwrap
from bot.core.ids import INSTANCE_ID
from bot.models import AssociationRef
from bot.settings.config import ACCOUNT_ID, REGION

# Names other modules read here (the terms themselves live in bot/app/terms.py, for every surface).
__all__ = [
    "DEFAULT_ACK",
    "MAX_ACK",
    "MAX_REASON",
    "MIN_ACK",
    "AssociationRef",
    "ParseError",
    "parse_association",
    "parse_command",
    "parse_duration",
]


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


ParseError = InputError  # what was wrong with the command text, in words for the user


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


def _status(args: list[str]) -> Status:
    if not args:
        return Status()
    _no_more(args[1:], "status")
    token = _unwrap(args[0])
    lowered = token.lower()
    if ACCOUNT_ID.fullmatch(lowered):
        return Status("account", lowered)
    if REGION.fullmatch(lowered):
        return Status("region", lowered)
    if INSTANCE_ID.match(lowered):
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
        if len(words) >= width and _DURATION.fullmatch(candidate.lower()):
            return parse_duration(candidate), words[width:]
    if required:
        raise ParseError(f"{_show(words[0])} is not a duration like 12h, 7d or 2w.")
    return None, words


def _words(text: str | None) -> list[str]:
    return (text or "").replace("\u00a0", " ").split()


def _no_more(extra: list[str], name: str) -> None:
    if extra:
        raise ParseError(f"`{name}` takes no more words, but I got {_show(' '.join(extra))}.")
