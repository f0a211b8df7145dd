"""Apply a diagnosis's fix, on a person's click, the same for every surface: permission first
(operators only, before any AWS write), SSM3_FIXES, the kept diagnosis the click names (its
fix data is read from the store, never from the click), then the change, audited as `fix`
with its before and after — and the confirm-COMPLIANT watch of the run it leads to.

- `update_parameter`: only a value the document allows; UpdateAssociation with the
  AssociationVersion the diagnosis read (an edit made since is refused, nothing written); the
  update runs the association itself (a second run is started only when it is set to run at
  its cron interval alone); then the watch.
- `update_agent`: AWS-UpdateSSMAgent on exactly the diagnosed instances; once the command
  finished (a follow-up job), a re-run, then the watch.
- `troubleshoot`: AWS's runbook for each instance (at most RUNBOOKS_AT_ONCE); once they
  finished, what they found; the watch follows the next run (the person re-runs once the
  runbook's finding is dealt with).
`iam_statement` and `manual` fixes are text: nothing here applies them. AWS is reached through
`FixActions` (bot/aws/fixes.AwsFixes)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.app.outcomes import AuditWriter, Reason, Refusal
from bot.app.permissions import Permissions
from bot.app.watches import Watch, Watches
from bot.core.diagnosis import CauseGroup, Fix
from bot.models import AssociationKey, Rerun
from bot.models.fixes import (
    AutomationOutcome,
    AutomationStarted,
    CommandOutcome,
    CommandStarted,
    ConcurrentEdit,
    FixFailed,
    ParameterUpdated,
)
from bot.store import Store
from bot.store.diagnoses import StoredDiagnosis

FRESH_FOR = timedelta(hours=24)  # a Fix button on an older diagnosis asks for a new one
RUNBOOKS_AT_ONCE = 10
MAX_VALUE = 512  # characters of a parameter value a person may type


class FixActions(Protocol):
    """The fixes' AWS calls (bot/aws/fixes.AwsFixes); AWS's refusal is a FixFailed."""

    def update_parameter(
        self, key: AssociationKey, *, name: str, value: str | None, expected_version: str
    ) -> ParameterUpdated | ConcurrentEdit | FixFailed: ...
    def rerun(self, key: AssociationKey) -> FixFailed | None: ...
    def update_agent(
        self, key: AssociationKey, instance_ids: Sequence[str]
    ) -> CommandStarted | FixFailed: ...
    def command_outcome(
        self, key: AssociationKey, command_id: str
    ) -> CommandOutcome | FixFailed: ...
    def troubleshoot(
        self, key: AssociationKey, instance_id: str
    ) -> AutomationStarted | FixFailed: ...
    def automation_outcome(
        self, key: AssociationKey, execution_id: str
    ) -> AutomationOutcome | FixFailed: ...


@dataclass(frozen=True)
class FixTarget:
    """What a Fix click names, checked: the kept diagnosis and the group whose fix it is."""

    stored: StoredDiagnosis
    index: int
    group: CauseGroup

    @property
    def key(self) -> AssociationKey:
        return self.stored.diagnosis.key

    @property
    def fix(self) -> Fix:
        return self.group.fix

    @property
    def instance_ids(self) -> tuple[str, ...]:
        """Every instance the diagnosis named (not only this group's)."""
        return tuple(i.instance_id for i in self.stored.diagnosis.instances)


@dataclass(frozen=True)
class Applied:
    """The change was made (audited): `detail` its before and after; `watch` the watch of the
    run it leads to (None: it follows once the command or runbooks finished)."""

    target: FixTarget
    detail: str
    rerun: Rerun
    watch: Watch | None
    note: str | None = None  # e.g. the re-run after the update was refused


@dataclass(frozen=True)
class NotApplied:
    """AWS refused the change, or the association changed since it was diagnosed: nothing was
    changed (audited); `message` is the one line to show."""

    target: FixTarget
    message: str
    concurrent: bool = False


class Fixes:
    def __init__(
        self,
        *,
        store: Store,
        permissions: Permissions,
        actions: FixActions,
        watches: Watches,
        clock: Callable[[], datetime],
        enabled: bool,
    ) -> None:
        self.store = store
        self.permissions = permissions
        self.actions = actions
        self.watches = watches
        self.clock = clock
        self.enabled = enabled
        self._audit = AuditWriter(store, clock)

    # -- what a click names ------------------------------------------------------------------------
    def target(
        self, actor: str, diagnosis_id: int, index: int, *, channel: str | None = None
    ) -> FixTarget | Refusal:
        """Permission first, then SSM3_FIXES, then the kept diagnosis and its group's fix."""
        stored = self.store.diagnoses.get(diagnosis_id)
        key = stored.diagnosis.key if stored else None
        decision = self.permissions.may_fix(actor)
        if not decision.allowed:
            return self._audit.refuse(
                actor, "fix", "permission", decision.reason, channel, key=key, decision=decision
            )
        if not self.enabled:
            return self._refuse(
                actor,
                "fixes_off",
                "Fixes are shown as steps only here (SSM3_FIXES=off).",
                key,
                channel,
            )
        if stored is None or self.clock() - stored.diagnosis.read_at > FRESH_FOR:
            return self._refuse(
                actor,
                "stale",
                "This diagnosis is too old to act on; diagnose the association again.",
                key,
                channel,
            )
        groups = stored.diagnosis.causes
        if not 0 <= index < len(groups) or not groups[index].fix.applicable:
            return self._refuse(
                actor,
                "not_applicable",
                "That fix is text only: the bot does not apply it.",
                key,
                channel,
            )
        return FixTarget(stored, index, groups[index])

    def _refuse(
        self, actor: str, why: Reason, line: str, key: AssociationKey | None, channel: str | None
    ) -> Refusal:
        return self._audit.refuse(actor, "fix", why, line, channel, key=key)

    # -- update_parameter ----------------------------------------------------------------------------
    def update_parameter(
        self,
        actor: str,
        diagnosis_id: int,
        index: int,
        value: str | None,
        *,
        channel: str | None = None,
        reply_to: Mapping[str, Any] | None = None,
    ) -> Applied | NotApplied | Refusal:
        """Set the fix's parameter to `value` (None: take it out, for one the document does
        not declare)."""
        target = self.target(actor, diagnosis_id, index, channel=channel)
        if isinstance(target, Refusal):
            return target
        fix = target.fix
        wrong = value_problem(fix, value)
        if fix.kind != "update_parameter" or fix.parameter is None or wrong:
            line = wrong or "That fix does not change a parameter."
            return self._refuse(actor, "not_applicable", line, target.key, channel)
        if fix.association_version is None:
            line = "The diagnosis did not read the association's version; diagnose it again."
            return self._refuse(actor, "stale", line, target.key, channel)
        acted_at = self.clock()
        changed = self.actions.update_parameter(
            target.key, name=fix.parameter, value=value, expected_version=fix.association_version
        )
        if isinstance(changed, (ConcurrentEdit, FixFailed)):
            concurrent = isinstance(changed, ConcurrentEdit)
            outcome = "refused" if concurrent else "failed"
            self._audit.audit(
                actor, "fix", outcome, key=target.key, detail=changed.message, channel=channel
            )
            return NotApplied(target, changed.message, concurrent=concurrent)
        note = None
        if not changed.ran:  # set to run at its cron interval only: run it now
            refused = self.actions.rerun(target.key)
            note = refused.message if refused else None
        detail = changed.detail + (f" (the re-run after it: {note})" if note else "")
        self._audit.audit(actor, "fix", "applied", key=target.key, detail=detail, channel=channel)
        rerun = self.store.reruns.record_fix(
            target.key, by=actor, now=self.clock(), detail=changed.detail, channel=channel
        )
        watch = self.watches.begin(
            target.key,
            action="fix",
            by=actor,
            acted_at=acted_at,
            instances=self.watched(target.key, target.instance_ids),
            rerun_id=rerun.id,
            detail=changed.detail,
            channel=channel,
            reply_to=reply_to,
        )
        return Applied(target, changed.detail, rerun, watch, note)

    def watched(self, key: AssociationKey, named: Sequence[str] = ()) -> tuple[str, ...]:
        """The instances the association makes NON_COMPLIANT and those its latest run failed
        on (as last swept), and those the diagnosis named: the watch judges them all."""
        found = self.store.associations.tracked(keys=[key], now=self.clock())
        stored: list[str] = []
        if found:
            a = found[0].association
            stored = [*a.noncompliant_instances, *(t.instance_id for t in a.failed_targets)]
        return tuple(dict.fromkeys([*stored, *named]))

    # -- update_agent and troubleshoot: started now, followed by a job --------------------------------
    def start(
        self,
        actor: str,
        diagnosis_id: int,
        index: int,
        *,
        channel: str | None = None,
    ) -> Started | NotApplied | Refusal:
        """Start an `update_agent` or `troubleshoot` fix; the surface schedules its follow-up
        (bot/app/fix_followups.py) with what this returns."""
        target = self.target(actor, diagnosis_id, index, channel=channel)
        if isinstance(target, Refusal):
            return target
        return self.start_target(actor, target, channel=channel)

    def start_target(
        self, actor: str, target: FixTarget, *, channel: str | None = None
    ) -> Started | NotApplied | Refusal:
        """`start` for a target `target()` has just allowed (the click's permission is not
        asked of Slack, nor the diagnosis read, a second time)."""
        fix = target.fix
        acted_at = self.clock()
        if fix.kind == "update_agent":
            sent = self.actions.update_agent(target.key, fix.instance_ids)
            if isinstance(sent, FixFailed):
                return self._failed(actor, target, sent, channel)
            versions = target.group.evidence.get("agent_version") or "an old version"
            detail = (
                f"SSM Agent on {len(sent.instance_ids)} instances: {versions} → latest "
                f"({fix.document})"
            )
            handles = sent.command_ids
        elif fix.kind == "troubleshoot":
            started: list[str] = []
            for instance_id in fix.instance_ids[:RUNBOOKS_AT_ONCE]:
                run = self.actions.troubleshoot(target.key, instance_id)
                if isinstance(run, FixFailed):
                    if not started:
                        return self._failed(actor, target, run, channel)
                    break
                started.append(run.execution_id)
            detail = f"{fix.document} on {len(started)} of {len(fix.instance_ids)} instances"
            handles = tuple(started)
        else:
            line = "That fix is applied through its form, not this button."
            return self._refuse(actor, "not_applicable", line, target.key, channel)
        self._audit.audit(actor, "fix", "started", key=target.key, detail=detail, channel=channel)
        rerun = self.store.reruns.record_fix(
            target.key, by=actor, now=self.clock(), detail=detail, channel=channel
        )
        return Started(target, detail, rerun, acted_at, handles)

    def _failed(
        self, actor: str, target: FixTarget, failed: FixFailed, channel: str | None
    ) -> NotApplied:
        self._audit.audit(
            actor, "fix", "failed", key=target.key, detail=failed.message, channel=channel
        )
        return NotApplied(target, failed.message)


@dataclass(frozen=True)
class Started:
    """A command (update_agent) or runbooks (troubleshoot) started: their IDs (`handles`)."""

    target: FixTarget
    detail: str
    rerun: Rerun
    acted_at: datetime
    handles: tuple[str, ...]


def value_problem(fix: Fix, value: str | None) -> str | None:
    """Why `value` is not one the document accepts for the fix's parameter (None: it is);
    None takes out a parameter the document does not declare, and only that."""
    if fix.remove or value is None:
        return None if fix.remove and value is None else "Only an undeclared parameter is removed."
    if not value or len(value) > MAX_VALUE:
        return f"Give a value of 1 to {MAX_VALUE} characters."
    if value == fix.value:
        return f"{fix.parameter} is already {value}: choose another value."
    if fix.allowed_values:
        allowed = value in fix.allowed_values
        return None if allowed else f"{value} is not one of {', '.join(fix.allowed_values)}."
    return (
        None
        if _matches(fix.allowed_pattern, value)
        else f"{value} does not match {fix.allowed_pattern}."
    )


def _matches(pattern: str | None, value: str) -> bool:
    if not pattern:
        return True
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:  # a pattern Python cannot read: AWS checks the value when it is sent
        return True
