"""What happened, as the use cases report it: surfaces render these, and later subscribers
(the Security Hub writer, the Home tab) react to them without knowing who asked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.models import Ack, AssociationKey


@dataclass(frozen=True)
class Acknowledged:
    key: AssociationKey
    ack: Ack


@dataclass(frozen=True)
class AckEnded:
    key: AssociationKey
    why: Literal["unacknowledged", "expired", "resolved", "deleted", "unswept", "replaced"]
    by: str | None
    at: datetime


@dataclass(frozen=True)
class RerunStarted:
    key: AssociationKey
    by: str
    at: datetime


@dataclass(frozen=True)
class RerunChecked:
    key: AssociationKey
    outcome: Literal["compliant", "pending", "still_failing", "unknown"]
    at: datetime


@dataclass(frozen=True)
class SweepFinished:
    sweep_id: str
    by: str
    at: datetime


Event = Acknowledged | AckEnded | RerunStarted | RerunChecked | SweepFinished
