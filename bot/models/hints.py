"""What an outside event claims (EventBridge through the queue, read by bot/aws/eventbridge.py):
a hint to re-read some account-regions, never the truth. Plain records, for the real-time use
case (bot/app/realtime.py) to judge without knowing the wire format."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.models.records import Scope

Kind = Literal["compliance", "association", "instance_association", "securityhub"]


@dataclass(frozen=True)
class Claim:
    """What one event says about one account-region: a reason to re-read it.

    `failing`: the event says SSM.3 fails there (True), passes (False) or does not say (None).
    `by_bot`: a Security Hub finding whose note the bot itself wrote; `compliance` its
    Compliance.Status (FAILED / PASSED / ...) when ACTIVE, else None.
    """

    scope: Scope
    association_id: str | None = None
    instance_id: str | None = None
    failing: bool | None = None
    by_bot: bool = False
    compliance: str | None = None


@dataclass(frozen=True)
class Hint:
    """A usable event that may change what the bot knows: re-read its account-regions."""

    kind: Kind
    claims: tuple[Claim, ...]

    @property
    def scopes(self) -> tuple[Scope, ...]:
        return tuple(dict.fromkeys(c.scope for c in self.claims))


@dataclass(frozen=True)
class Ignored:
    """A usable event of a handled kind about nothing SSM.3 judges (Patch compliance,
    another control's finding): counted and deleted."""

    kind: Kind
    reason: str
    scopes: tuple[Scope, ...]


@dataclass(frozen=True)
class Unusable:
    """Not an event the bot can act on; `reason` says why in a few words."""

    reason: str


Classified = Hint | Ignored | Unusable
