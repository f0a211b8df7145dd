"""Diagnose a failing association: where it is (the store, or the account and region given),
what AWS knows about each instance it fails (`bot.aws.diagnosis`, through the member role),
and one cause per instance with its evidence and fix (`bot.core.diagnosis_rules`).

The same for every surface: `ssm3bot diagnose`, and (phase B) `/ssm3 diagnose` and the
Diagnose button, which check who may read details before calling it. A diagnosis reads AWS
and changes nothing, so it is not audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot.core.diagnosis import Diagnosis, Evidence
from bot.core.diagnosis_rules import diagnose
from bot.models import Association, AssociationKey, AssociationRef, Orphan, Scope
from bot.models.answers import AssociationGone, AwsFailure
from bot.store import Store


class EvidencePort(Protocol):
    """What a diagnosis needs of AWS (bot/aws/diagnosis.AwsEvidence in production): the
    evidence for one association and the calls it took; raises AwsFailure or
    AssociationGone."""

    def read(
        self, key: AssociationKey, *, stored: Association | None, orphans: Iterable[Orphan]
    ) -> tuple[Evidence, dict[str, int]]: ...


@dataclass(frozen=True)
class NotDiagnosed:
    """Why there is no diagnosis: the association is unknown or ambiguous (bad usage), or AWS
    could not be read (`aws_error`)."""

    association_id: str
    why: Literal["unknown", "ambiguous", "aws_error"]
    message: str
    key: AssociationKey | None = None
    known_in: tuple[Scope, ...] = ()


class Diagnoses:
    def __init__(
        self,
        *,
        store: Store | None,
        evidence: EvidencePort,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.evidence = evidence
        self.clock = clock

    def locate(self, ref: AssociationRef) -> AssociationKey | NotDiagnosed:
        """The one account-region `ref` names: as stored (a deleted association by its stored
        orphaned items), or as given with both account and region."""
        found = (
            self.store.associations.find(ref.association_id, now=self.clock()) if self.store else []
        )
        keys = [t.key for t in found] + [
            AssociationKey(o.account_id, o.region, o.association_id)
            for o in self._orphans(ref.association_id)
        ]
        keys = list(dict.fromkeys(k for k in keys if _matches(k, ref)))
        if len(keys) == 1:
            return keys[0]
        if len(keys) > 1:
            scopes = tuple(k.scope for k in keys)
            return NotDiagnosed(
                ref.association_id,
                "ambiguous",
                f"association {ref.association_id} is in {len(keys)} account-regions "
                f"({', '.join(str(s) for s in scopes[:3])}): pass --account and --region",
                known_in=scopes,
            )
        if ref.account_id and ref.region:
            return AssociationKey(ref.account_id, ref.region, ref.association_id)
        missing = "" if self.store is not None else " (there is no database yet)"
        return NotDiagnosed(
            ref.association_id,
            "unknown",
            f"association {ref.association_id} is not in the store{missing}; run `ssm3bot "
            "sweep` first, or pass --account and --region",
        )

    def diagnose(self, ref: AssociationRef) -> Diagnosis | NotDiagnosed:
        located = self.locate(ref)
        return located if isinstance(located, NotDiagnosed) else self.diagnose_key(located)

    def diagnose_key(self, key: AssociationKey) -> Diagnosis | NotDiagnosed:
        """Read AWS for one association and diagnose every instance it fails."""
        stored = self._stored(key)
        orphans = [o for o in self._orphans(key.association_id) if o.scope == key.scope]
        try:
            evidence, calls = self.evidence.read(key, stored=stored, orphans=orphans)
        except AssociationGone:
            return NotDiagnosed(
                key.association_id,
                "unknown",
                f"association {key.association_id} does not exist in {key.account_id} {key.region}",
                key=key,
            )
        except AwsFailure as exc:
            return NotDiagnosed(
                key.association_id,
                "aws_error",
                f"{key.account_id}/{key.region}: {exc.reason}",
                key=key,
            )
        return diagnose(evidence, now=self.clock(), aws_calls=calls)

    def _stored(self, key: AssociationKey) -> Association | None:
        if self.store is None:
            return None
        for tracked in self.store.associations.find(key.association_id, now=self.clock()):
            if tracked.key == key:
                return tracked.association
        return None

    def _orphans(self, association_id: str) -> list[Orphan]:
        if self.store is None:
            return []
        return [o for o in self.store.associations.orphans() if o.association_id == association_id]


def _matches(key: AssociationKey, ref: AssociationRef) -> bool:
    return (ref.account_id is None or key.account_id == ref.account_id) and (
        ref.region is None or key.region == ref.region
    )
