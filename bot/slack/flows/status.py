"""`/ssm3 status`: the digest as it stands, narrowed to an account, a region or an instance,
or one association's status. Run by `Flows.show_status`, inside its guard."""

from __future__ import annotations

from collections import Counter

from slack_sdk.models.blocks import Block

from bot.app.digests import RERUNS_SHOWN_FOR, DigestComposer
from bot.app.resolve import Miss, resolve
from bot.core.digest import matches
from bot.models import InstanceKey, TrackedAssociation
from bot.slack import blocks as kit
from bot.slack import parsing
from bot.slack.replies import Origin, tell
from bot.slack.services import Services
from bot.slack.wording import miss_message


class StatusCommand:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store
        self.client = services.client
        self.zone = services.settings.zone
        self.composer = DigestComposer.from_settings(services.store, services.settings)

    def _tell(self, origin: Origin, text: str) -> None:
        tell(self.client, origin, kit.notice(text))

    def lookup(self, origin: Origin, ref: parsing.AssociationRef) -> TrackedAssociation | None:
        """The stored association the user named; tells them plainly when there is none."""
        found = resolve(self.store, ref, self.services.clock())
        if isinstance(found, Miss):
            self._tell(origin, miss_message(found))
            return None
        return found

    def show(self, origin: Origin, command: parsing.Status) -> None:
        now = self.services.clock()
        if command.kind == "association" and command.ref is not None:
            item = self.lookup(origin, command.ref)
            if item is not None:
                message = kit.association_status(
                    item,
                    now=now,
                    rerun=self.store.reruns.last(item.key),
                    zone=self.zone,
                    findings=self._findings(item),
                    findings_v2=self._findings(item, v2=True),
                )
                tell(self.client, origin, message)
            return
        view = self.composer.whole(now, reruns_since=now - RERUNS_SHOWN_FOR)
        title = "SSM.3 status"
        intro: list[Block] = []
        if command.kind != "all" and command.value:
            value = command.value
            digest = view.digest
            if command.kind == "instance":
                # Always an answer: what SSM.3 sees for it, compliant included.
                intro = kit.instance_blocks(
                    value,
                    compliance=self.store.associations.instance_compliance(value),
                    orphans=[o for o in digest.orphans if o.instance_id == value],
                    failing=[*digest.failing, *digest.acknowledged],
                    zone=self.zone,
                    accounts=digest.account_names,
                )
                known = sum(
                    1 for t in self.store.associations.tracked() if matches(t, command.kind, value)
                )
            else:
                known = self._known(command.kind, value)
                if not known:
                    self._tell(origin, _unknown_filter(command.kind, value))
                    return
            view = self.composer.narrowed(view, command.kind, value, known)
            title = f"SSM.3 status of {value}"
        tell(
            self.client,
            origin,
            kit.digest_message(
                view,
                title=title,
                overflow_hint="Narrow it with `/ssm3 status ACCOUNT`, `REGION` or `INSTANCE_ID`.",
                intro=intro,
            ),
        )

    def _findings(self, item: TrackedAssociation, *, v2: bool = False) -> Counter[str] | None:
        """SSM3_SECURITYHUB=sync: the workflow status of its instances' SSM.3 findings as the
        last sync saw them (`-`: instances whose finding it has not seen); `v2`: in the new
        Security Hub (in CSPM's words), None when the sync has seen none there."""
        if self.services.settings.securityhub != "sync" or not item.association.failing:
            return None
        key = item.key
        instances = [
            InstanceKey(key.account_id, key.region, i)
            for i in item.association.noncompliant_instances
        ]
        counts = (self.store.findings_v2 if v2 else self.store.findings).workflow_counts(instances)
        if v2 and not counts:
            return None
        unseen = len(instances) - sum(counts.values())
        if unseen > 0:
            counts["-"] = unseen
        return counts

    def _known(self, kind: str, value: str) -> int:
        """How many stored associations the filter covers (0: it names nothing we know)."""
        return sum(1 for t in self.store.associations.tracked() if matches(t, kind, value))


def _unknown_filter(kind: str, value: str) -> str:
    shown = kit.inert(value, 60)
    if kind == "account":
        return f"I know no association in account {shown}. Is it in SSM3_ACCOUNTS, and has a sweep reached it?"
    if kind == "region":
        return f"I know no association in region {shown}. Is it in SSM3_REGIONS?"
    return f"No failing association targets instance {shown}."
