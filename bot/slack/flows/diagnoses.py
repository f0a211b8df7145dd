"""`/ssm3 diagnose` and the Diagnose button (alerts, digest rows and their menu, History, the
Home tab): why each instance fails, read from AWS after the ack, shown only to the person who
asked, with the Fix buttons SSM3_FIXES allows. The diagnosis is kept, so the digest and the
alert that show the association say its short form from now on (they are edited here)."""

from __future__ import annotations

from bot.app.diagnoses import Diagnoses, NotDiagnosed
from bot.app.resolve import Target, resolve
from bot.models import AssociationKey, TrackedAssociation
from bot.slack import blocks as kit
from bot.slack.access import may_read
from bot.slack.flows.guard import Guard
from bot.slack.flows.refresh import Refresh
from bot.slack.replies import Origin, tell
from bot.slack.services import Services
from bot.slack.wording import miss_message


class DiagnoseFlow:
    def __init__(
        self, services: Services, diagnoses: Diagnoses, guard: Guard, refresh: Refresh
    ) -> None:
        self.services = services
        self.diagnoses = diagnoses
        self.guard = guard
        self.refresh = refresh

    def show(self, origin: Origin, ref: Target) -> None:
        self.guard.run(
            origin, "diagnose the association", lambda: self._show(origin, ref), ref.association_id
        )

    def _show(self, origin: Origin, ref: Target) -> None:
        # A diagnosis shows step output, roles and resources: SSM3_VIEWERS, behind the
        # workspace rule, before anything is read (bot/slack/access.py).
        if not may_read(self.services, origin, f"diagnosis of {ref.association_id}"):
            return
        key = self._key(origin, ref)
        if key is None:
            return
        kept = self.diagnoses.diagnose_kept(key, by=origin.user)
        if isinstance(kept, NotDiagnosed):
            self.guard.tell(origin, kit.escape(kept.message))
            return
        message = kit.diagnosis_message(
            kept.id,
            kept.diagnosis,
            fixes=self.services.settings.fixes,
            zone=self.services.settings.zone,
            thread_ts=origin.message_ts if origin.in_digest else None,
        )
        tell(self.services.client, origin, message)
        # Its short form now stands for the association on the digest, its alert and the CSV.
        self.refresh.after_change(origin, key)

    def _key(self, origin: Origin, ref: Target) -> AssociationKey | None:
        """The association `ref` names as the store knows it, or (an ARN no sweep has seen
        yet) in an account-region the bot sweeps; else a line saying why not."""
        found = resolve(self.services.store, ref, self.services.clock())
        if isinstance(found, TrackedAssociation):
            return found.key
        if found.key is not None and found.why != "elsewhere":
            swept = {s.scope for s in self.services.store.sweeps.scope_states()}
            if found.key.scope in swept:
                return found.key
            self.guard.tell(
                origin,
                f"I don't sweep account {kit.escape(found.key.account_id)} in "
                f"{kit.escape(found.key.region)}, so I won't diagnose there.",
            )
            return None
        orphaned = self._orphaned(ref.association_id)
        if orphaned is not None:
            return orphaned
        self.guard.tell(origin, miss_message(found))
        return None

    def _orphaned(self, association_id: str) -> AssociationKey | None:
        """A deleted association whose NON_COMPLIANT items the sweep stored (its diagnosis
        says how to clear them)."""
        places = {
            AssociationKey(o.account_id, o.region, o.association_id)
            for o in self.services.store.associations.orphans()
            if o.association_id == association_id
        }
        return places.pop() if len(places) == 1 else None
