"""What a person types to name an association or a span of time, whatever the surface: an
association ID or its ARN, and acknowledgement durations like 12h, 7d or 2w. Pure."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.core.ids import ASSOCIATION_ARN, ASSOCIATION_ID
from bot.models import AssociationRef

MAX_ACK = timedelta(days=90)
MIN_ACK = timedelta(hours=1)
DEFAULT_ACK = timedelta(days=7)
MAX_REASON = 500

DURATION = re.compile(r"^(\d{1,4})\s*(h|hr|hrs|hour|hours|d|day|days|w|wk|wks|week|weeks)\Z")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


class InputError(ValueError):
    """What was wrong with what a person typed, in words for them."""


def show(word: str) -> str:
    """A word quoted back to its author, short and without backticks."""
    shown = word if len(word) <= 60 else word[:59] + "…"
    return f"`{shown.replace('`', '')}`"


def unwrap(word: str) -> str:
    """Drop what Slack or a paste may wrap an ID in: backticks, quotes, angle brackets."""
    return word.strip("`'\"<>()[],.;")


def parse_association(word: str) -> AssociationRef:
    """A bare association ID (any case) or its ARN."""
    token = unwrap(word)
    arn = ASSOCIATION_ARN.match(token.lower())
    if arn:
        return AssociationRef(arn["id"], arn["account"], arn["region"])
    if ASSOCIATION_ID.match(token.lower()):
        return AssociationRef(token.lower())
    raise InputError(
        f"{show(word)} is not an association ID (like 8c1f2d3e-…) or an association ARN."
    )


def parse_duration(text: str) -> timedelta:
    """'12h', '7d', '2w', '3 days' -> a timedelta between MIN_ACK and MAX_ACK."""
    match = DURATION.fullmatch(text.strip().lower())
    if not match:
        raise InputError(f"{show(text)} is not a duration like 12h, 7d or 2w.")
    span = int(match[1]) * _UNITS[match[2][0]]
    if span < MIN_ACK:
        raise InputError("An acknowledgement lasts at least 1 hour.")
    if span > MAX_ACK:
        raise InputError(f"An acknowledgement lasts at most {MAX_ACK.days} days.")
    return span


def check_reason(reason: str | None) -> str:
    """An acknowledgement's reason: required, at most MAX_REASON characters."""
    text = " ".join((reason or "").split())
    if not text:
        raise InputError("An acknowledgement needs a reason (a ticket, a plan, who owns it).")
    if len(text) > MAX_REASON:
        raise InputError(f"The reason is {len(text)} characters; keep it under {MAX_REASON}.")
    return text
