"""Acknowledgements that count where auditors look (SSM3_SECURITYHUB=sync): bring SSM.3's
findings in Security Hub to the workflow the bot's acknowledgements call for.

One desired-state rule for every trigger (an acknowledgement or its removal from Slack or the
CLI, expiry, a sweep's fresh failures and resolutions, recovery after a crash): for each SSM.3
finding in the account-regions asked about, SSM3_ACK_WORKFLOW while every failing association
on its instance is acknowledged and no orphaned item fails it, else NEW (bot/core/findings.py
decides each finding). What may be written at all is bot/core/ownership.py's rule: only inside
the account-regions this deployment sweeps, only findings its store records having written (or
untouched ones it claims, recorded before the write). Each write is an audit entry; so is each
finding left alone because someone changed it by hand in Security Hub. Security Hub is reached
through `FindingsHub` (bot/aws/securityhub_sync.py in production).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from bot.app.sync_report import HUB_LABELS, SyncReport
from bot.core import findings as rule
from bot.core import ownership
from bot.core.findings import CSPM, V2, FindingId, WriteResult
from bot.core.ownership import Bounds
from bot.models import (
    AssociationKey,
    FindingRecord,
    InstanceKey,
    Scope,
    TrackedAssociation,
    WriteClaim,
)
from bot.models.answers import AwsFailure
from bot.store import Store

log = logging.getLogger(__name__)

BOT_ACTOR = "ssm3bot"  # who a sweep's or the expiry job's sync is, in the audit log
ACTION = "securityhub_sync"
AUDIT_INSTANCES = 300  # instance IDs named in one audit entry (the rest are counted)
_ONE_AT_A_TIME = threading.Lock()  # a sweep's sync and an acknowledgement's never interleave


class FindingsHub(Protocol):
    """Security Hub as the sync needs it; reads raise AwsFailure."""

    def failed(self, scopes: Sequence[Scope]) -> list[rule.Finding]: ...
    def held(self, scopes: Sequence[Scope]) -> list[rule.Finding]: ...
    def update(self, groups: Sequence[tuple[rule.Update, Sequence[FindingId]]]) -> WriteResult: ...
    def close(self) -> None: ...


@dataclass
class _Plan:
    """The findings to write, grouped by the update they share, and what stays as it is."""

    groups: dict[rule.Update, list[rule.Finding]]
    records: dict[str, FindingRecord]
    hand: list[tuple[rule.Finding, str]]  # newly found changed by hand: to audit
    in_sync: int
    hand_count: int = 0


class FindingsSync:
    def __init__(
        self,
        *,
        store: Store,
        hub: Callable[[], FindingsHub],
        workflow: str,
        region: str,
        clock: Callable[[], datetime],
        hub_name: str = CSPM,
    ) -> None:
        self.store = store
        self.hub = hub
        self.workflow = workflow
        self.region = region  # SSM3_SECURITYHUB_REGION, for the messages
        self.clock = clock
        # Which Security Hub: CSPM's findings and the new hub's are apart, and so are the
        # records of what the bot wrote to each.
        self.hub_name = hub_name
        self.records = store.findings_v2 if hub_name == V2 else store.findings
        self.label = HUB_LABELS[hub_name]
        self._whys: dict[tuple[str, str, tuple[str, ...], str], str] = {}

    def run(
        self,
        *,
        scopes: Sequence[Scope],
        actor: str = BOT_ACTOR,
        channel: str | None = None,
        focus: Collection[InstanceKey] = (),
        failed: Sequence[rule.Finding] | None = None,
    ) -> SyncReport:
        """Sync the findings of `scopes`, narrowed to the account-regions this deployment
        sweeps. `focus`: the instances the person asked about (counted in the report);
        `failed`: the ACTIVE, FAILED SSM.3 findings when a sweep has just read them."""
        with _ONE_AT_A_TIME:
            self._whys.clear()
            now = self.clock()
            bounds = Bounds.of(scopes, (s.scope for s in self.store.sweeps.scope_states()))
            if not bounds.scopes:
                return SyncReport(workflow=self.workflow)
            asked = sorted(bounds.scopes)
            desired = self._desired(bounds, now)
            hub: FindingsHub | None = None
            try:
                hub = self.hub()
                found = [*(failed if failed is not None else hub.failed(asked)), *hub.held(asked)]
                current = _within(found, bounds)
                plan = self._plan(current, desired, now)
                groups = [
                    (u, [(f.finding_id, f.product_arn) for f in fs])
                    for u, fs in plan.groups.items()
                ]
                self._claim(plan, now)  # recorded before it is sent
                result = hub.update(groups) if groups else WriteResult()
            except AwsFailure as exc:
                return self._not_read(exc, actor, channel)
            finally:
                if hub is not None:
                    hub.close()
            self._record(plan, result, now, actor, channel)
            return self._report(plan, result, desired, current, focus)

    # -- what should hold ---------------------------------------------------------------------
    def _desired(self, bounds: Bounds, now: datetime) -> dict[InstanceKey, rule.Desired]:
        """For each instance SSM.3 fails (as last swept), whether acknowledgements cover it."""
        wanted = set(bounds.scopes)
        failing: dict[InstanceKey, list[tuple[AssociationKey, str, Any]]] = {}
        for item in self.store.associations.tracked(failing_only=True, now=now):
            if item.key.scope not in wanted:
                continue
            for instance in item.association.noncompliant_instances:
                key = InstanceKey(item.key.account_id, item.key.region, instance)
                failing.setdefault(key, []).append((item.key, _name(item), item.ack))
        orphaned = {
            InstanceKey(o.account_id, o.region, o.instance_id)
            for o in self.store.associations.orphans(wanted)
        }
        noncompliant = {
            k for k in self.store.associations.noncompliant_instances() if bounds.within(k)
        }
        return {k: rule.cover(failing.get(k, []), k in orphaned) for k in noncompliant}

    def _why(self, finding: rule.Finding, record: FindingRecord | None, otherwise: str) -> str:
        """Why a finding the bot holds goes back to NEW, in the words of its note: how the
        acknowledgement it named ended, else `otherwise`."""
        named = finding.named or (record.associations if record else ())
        where = finding.instance
        asked = (where.account_id, where.region, named, otherwise)
        if asked not in self._whys:  # findings of one association share it: one look-up
            keys = [AssociationKey(where.account_id, where.region, a) for a in named]
            ended = sorted(self.store.findings.latest_ended(keys).items(), key=_latest)
            names = {
                t.key: _name(t)
                for t in self.store.associations.tracked(keys=[k for k, _ in ended[:1]])
            }
            self._whys[asked] = (
                rule.ended_why(ended[0][1], names.get(ended[0][0], ended[0][0].association_id))
                if ended
                else otherwise
            )
        return self._whys[asked]

    # -- what to do -----------------------------------------------------------------------------
    def _plan(
        self,
        current: list[rule.Finding],
        desired: Mapping[InstanceKey, rule.Desired],
        now: datetime,
    ) -> _Plan:
        records = self.records.in_scopes(
            {Scope(f.instance.account_id, f.instance.region) for f in current}
        )
        plan = _Plan(groups={}, records={}, hand=[], in_sync=0)
        for finding in current:
            # A claim a stopped process left is settled by the note the finding shows.
            record = ownership.settle(records.get(finding.finding_id), note_text=finding.note_text)
            want = desired.get(finding.instance, rule.Uncovered(""))
            decision = rule.decide(finding, record, want, self.workflow)
            if decision.kind == "reopen" and decision.update is not None:
                otherwise = (
                    want.why
                    if isinstance(want, rule.Uncovered) and want.why
                    else ("the instance is compliant again")
                )
                note = rule.release_note(self._why(finding, record, otherwise))
                decision = replace(decision, update=replace(decision.update, note=note))
            seen = _seen(finding, record, now)
            if decision.kind == "hand":
                plan.hand_count += 1
                if record is None or record.hand != decision.hand:
                    plan.hand.append((finding, str(decision.hand)))
                seen = replace(seen, hand=decision.hand)
            elif decision.update is not None:
                plan.groups.setdefault(decision.update, []).append(finding)
            elif decision.kind == "keep":
                plan.in_sync += 1
            plan.records[finding.finding_id] = seen
        return plan

    def _claim(self, plan: _Plan, now: datetime) -> None:
        """Record each write before it is sent (bot/core/ownership.py): a process stopped
        before `_record` leaves claims, settled at the next sync."""
        for update, group in plan.groups.items():
            claim = WriteClaim(update.workflow, update.note, update.associations, update.until, now)
            for finding in group:
                record = plan.records[finding.finding_id]
                plan.records[finding.finding_id] = ownership.claimed(record, claim)
        if plan.groups:
            self.records.save(list(plan.records.values()))

    # -- what happened ----------------------------------------------------------------------------
    def _record(
        self, plan: _Plan, result: WriteResult, now: datetime, actor: str, channel: str | None
    ) -> None:
        for update, group in plan.groups.items():
            for finding in group:
                record = plan.records[finding.finding_id]
                done = finding.finding_id in result.processed
                plan.records[finding.finding_id] = (
                    ownership.landed(record, now) if done else ownership.dropped(record)
                )
            self._audit_group(update, group, result=result, now=now, actor=actor, channel=channel)
        for finding, hand in plan.hand:
            self.store.audit.record(
                actor=actor,
                action=ACTION,
                outcome="left_as_changed",
                now=now,
                key=_one_key(finding.instance, finding.named),
                channel=channel,
                detail=f"SSM.3 finding of {finding.instance} was changed by hand in {self.label} "
                f"({hand}): ssm3-bot does not overwrite it",
            )
        self.records.save(list(plan.records.values()))

    def _audit_group(
        self,
        update: rule.Update,
        group: list[rule.Finding],
        *,
        result: WriteResult,
        now: datetime,
        actor: str,
        channel: str | None,
    ) -> None:
        done = [f for f in group if f.finding_id in result.processed]
        left = [f for f in group if f.finding_id in result.unprocessed]
        instances = [f.instance.instance_id for f in group]
        shown = ", ".join(instances[:AUDIT_INSTANCES])
        if len(instances) > AUDIT_INSTANCES:
            shown += f" and {len(instances) - AUDIT_INSTANCES} more"
        outcome = (
            "updated" if len(done) == len(group) else "partly_updated" if done else "not_updated"
        )
        what = update.workflow if self.hub_name == CSPM else f"{self.label}: {update.workflow}"
        detail = f"{what} on {len(group)} SSM.3 finding(s) in {_where(group)} ({shown}): {len(done)} updated"
        if left:
            codes = Counter(result.unprocessed[f.finding_id].partition(":")[0] for f in left)
            detail += (
                f", {len(left)} unprocessed after retries ("
                + ", ".join(f"{code} x{n}" for code, n in sorted(codes.items()))
                + ")"
            )
        skipped = sum(1 for f in group if f.finding_id in result.not_attempted)
        if skipped:
            detail += f", {skipped} not sent ({self.label} {result.stopped})"
        self.store.audit.record(
            actor=actor,
            action=ACTION,
            outcome=outcome,
            now=now,
            key=_one_key(group[0].instance, update.associations)
            if len({(f.instance.account_id, f.instance.region) for f in group}) == 1
            else None,
            channel=channel,
            detail=f"{detail}. Note: {update.note}",
        )

    def _report(
        self,
        plan: _Plan,
        result: WriteResult,
        desired: Mapping[InstanceKey, rule.Desired],
        current: list[rule.Finding],
        focus: Collection[InstanceKey],
    ) -> SyncReport:
        written = {f.finding_id: u for u, fs in plan.groups.items() for f in fs}
        done = [u for i, u in written.items() if i in result.processed]
        failed_instances = {f.instance for f in current if f.compliance == "FAILED"}
        focus_desired = [(k, desired.get(k)) for k in focus]
        return SyncReport(
            workflow=self.workflow,
            hub=self.hub_name,
            set=sum(1 for u in done if u.workflow != "NEW"),
            reopened=sum(1 for u in done if u.workflow == "NEW"),
            in_sync=plan.in_sync,
            hand=plan.hand_count,
            kept_new=sum(1 for _, d in focus_desired if isinstance(d, rule.Uncovered)),
            missing=sum(
                1
                for k, d in focus_desired
                if isinstance(d, rule.Cover) and k not in failed_instances
            ),
            unprocessed=len(result.unprocessed),
            pending=len(result.not_attempted),
            error=result.stopped,
        )

    def _not_read(self, exc: AwsFailure, actor: str, channel: str | None) -> SyncReport:
        log.warning("%s sync could not read the findings: %s", self.label, exc)
        if actor != BOT_ACTOR:
            self.store.audit.record(
                actor=actor,
                action=ACTION,
                outcome="not_updated",
                now=self.clock(),
                channel=channel,
                detail=f"{self.label} not read ({exc}); retried at the next sweep",
            )
        return SyncReport(workflow=self.workflow, hub=self.hub_name, error=exc.reason)


def _name(item: TrackedAssociation) -> str:
    return item.association.display_name


def _where(group: Iterable[rule.Finding]) -> str:
    places = sorted({f"{f.instance.account_id} {f.instance.region}" for f in group})
    return ", ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")


def _latest(entry: tuple[AssociationKey, Any]) -> Any:
    return -entry[1].ended_at.timestamp()


def _one_key(instance: InstanceKey, associations: Sequence[str]) -> AssociationKey | None:
    if len(associations) != 1:
        return None
    return AssociationKey(instance.account_id, instance.region, associations[0])


def _seen(finding: rule.Finding, record: FindingRecord | None, now: datetime) -> FindingRecord:
    base = record or FindingRecord(
        finding_id=finding.finding_id,
        product_arn=finding.product_arn,
        instance=finding.instance,
        seen_workflow=finding.workflow,
        seen_at=now,
    )
    return replace(base, seen_workflow=finding.workflow, seen_at=now, hand=None)


def _within(found: Iterable[rule.Finding], bounds: Bounds) -> list[rule.Finding]:
    """Security Hub's findings within `bounds`, once each (whatever else the aggregator shows
    is never looked at again)."""
    kept = {f.finding_id: f for f in found if bounds.within(f.instance)}
    return list(kept.values())
