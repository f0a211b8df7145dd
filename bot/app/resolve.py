"""What a person typed (an ID or ARN), or a button's exact key -> the one tracked association it
names, or a clear miss."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.models import AssociationKey, AssociationRef, Scope, TrackedAssociation
from bot.store import Store


@dataclass(frozen=True)
class Miss:
    """Why a named association cannot be acted on. `key` is set when the name itself said
    where the association lives (an ARN, a button's value)."""

    why: Literal["ambiguous", "elsewhere", "unknown"]
    association_id: str
    key: AssociationKey | None = None
    known_in: tuple[Scope, ...] = ()  # where the store knows this ID
    asked: str = ""  # the account and region the name gave, when it gave one

    @property
    def detail(self) -> str:
        """The audit log's words for it."""
        if self.why == "ambiguous":
            return f"in {len(self.known_in)} account-regions"
        if self.why == "elsewhere":
            return f"not in {self.asked}; it is in {self.known_places}"
        return "unknown association"

    @property
    def known_places(self) -> str:
        return ", ".join(f"{s.account_id} {s.region}" for s in self.known_in[:3])


# What names an association: what a person typed, or the exact key a button carries.
Target = AssociationRef | AssociationKey


def within(tracked: list[TrackedAssociation], ref: AssociationRef) -> list[TrackedAssociation]:
    """Those of `tracked` in the account and region `ref` names (each, when it names one)."""
    return [
        t
        for t in tracked
        if (ref.account_id is None or t.key.account_id == ref.account_id)
        and (ref.region is None or t.key.region == ref.region)
    ]


def resolve(store: Store, ref: Target, now: datetime) -> TrackedAssociation | Miss:
    """The one stored association `ref` names (with its acknowledgement in force at `now`), or
    why there is none. An exact key (a button's) is looked up as it is; only when it names
    nothing stored is the ID looked for elsewhere, to say where it is."""
    if isinstance(ref, AssociationKey):
        found = store.associations.tracked(keys=[ref], now=now)
        if found:
            return found[0]
        ref = AssociationRef(ref.association_id, ref.account_id, ref.region)
    everywhere = store.associations.find(ref.association_id, now=now)
    found = within(everywhere, ref)
    if len(found) == 1:
        return found[0]
    named = (
        AssociationKey(ref.account_id, ref.region, ref.association_id)
        if ref.account_id and ref.region
        else None
    )
    if found:
        scopes = tuple(t.key.scope for t in found)
        return Miss("ambiguous", ref.association_id, named, scopes)
    if everywhere:
        asked = " ".join(p for p in (ref.account_id, ref.region) if p)
        scopes = tuple(t.key.scope for t in everywhere)
        return Miss("elsewhere", ref.association_id, named, scopes, asked)
    return Miss("unknown", ref.association_id, named)
