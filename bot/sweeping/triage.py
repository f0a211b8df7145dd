"""Triage mode (SSM3_TRIAGE=securityhub): for organisations too large to read every
account-region on every sweep.

A scheduled sweep asks Security Hub first: one paginated GetFindings in the aggregation home
region (SSM.3, FAILED, ACTIVE; 100 a page) names every account-region where SSM.3 fails. The
sweep then reads, in full and exactly as a full sweep would:

- every configured account-region Security Hub names (a failure, new or old);
- every one the store holds anything failing for (a failing association, a NON_COMPLIANT
  instance, an orphaned item), so a failure that ended is seen to end, and its
  acknowledgement ends with it;
- every one whose last read failed, or that was never read (a new account or region): absence
  from Security Hub is trusted only for an account-region the bot has read and found clean.

Every other account-region keeps what its last read found (clean), until the full reconciling
sweep on SSM3_FULL_SWEEP_SCHEDULE reads it again. What that trusts is Security Hub's own
verdict: SSM.3 fails an instance exactly when its finding is FAILED, so an account-region with
no FAILED finding has no SSM.3 failure as Security Hub judges it. What it can miss is Config's
lag (a failure Security Hub has not evaluated yet) and an account-region outside Security
Hub's aggregation: the events (SSM3_EVENTS_QUEUE_URL) and the full sweep cover those, and the
full sweep's cross-check names any instance the two disagree on. When Security Hub cannot be
read, the sweep is a full one: triage never guesses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.aws.errors import AWS_ERRORS, describe_error
from bot.aws.securityhub import compare, failed_findings, instance_of, security_hub_region
from bot.aws.session import AwsAccess
from bot.core.slots import latest_fire
from bot.models import InstanceKey, Scope, SecurityHubCheck, SweepSummary
from bot.settings.config import Settings
from bot.store import Store
from bot.sweeping.hubs import hubs_and_new_hub
from bot.sweeping.sweep import Progress, resolve_scopes, run_sweep

log = logging.getLogger(__name__)


class TriageUnavailable(RuntimeError):
    """Security Hub could not be read: sweep in full instead."""


@dataclass(frozen=True)
class TriagePlan:
    """Which account-regions a triage sweep reads, and why."""

    region: str
    targets: tuple[Scope, ...]  # every configured account-region
    read: tuple[Scope, ...]  # the ones to read now, in configuration order
    flagged: int  # named by Security Hub's FAILED findings
    failed: frozenset[InstanceKey]  # the instances those findings name
    findings_calls: int


def plan_triage(settings: Settings, access: AwsAccess, store: Store, now: datetime) -> TriagePlan:
    """Ask Security Hub where SSM.3 fails and the store what it must re-check; raises
    TriageUnavailable when Security Hub cannot be read."""
    targets = resolve_scopes(settings, access, store, now)
    # Where the cross-check reads Security Hub (SSM3_SECURITYHUB_REGION, else the first region).
    region = security_hub_region(settings, access) or (targets[0].region if targets else "")
    failed: set[InstanceKey] = set()
    calls = 0
    try:
        client = access.securityhub(Scope(access.caller_account, region))
        try:
            for index, finding in enumerate(failed_findings(client)):
                calls = index // 100 + 1
                key = instance_of(finding)
                if key is not None:
                    failed.add(key)
        finally:
            client.close()
    except AWS_ERRORS as exc:
        raise TriageUnavailable(
            f"Security Hub in {region} could not be read: {describe_error(exc)}"
        ) from exc
    configured = set(targets)
    flagged = {Scope(k.account_id, k.region) for k in failed} & configured
    states = {s.scope: s for s in store.sweeps.scope_states()}
    unsure = {scope for scope in targets if scope not in states or not states[scope].ok}
    known_failing = (
        {t.key.scope for t in store.associations.tracked(failing_only=True, now=now)}
        | {Scope(k.account_id, k.region) for k in store.associations.noncompliant_instances()}
        | {o.scope for o in store.associations.orphans()}
    )
    wanted = flagged | unsure | (known_failing & configured)
    return TriagePlan(
        region=region,
        targets=tuple(targets),
        read=tuple(scope for scope in targets if scope in wanted),
        flagged=len(flagged),
        failed=frozenset(failed),
        findings_calls=max(calls, 1),
    )


def run_triage_sweep(
    *,
    settings: Settings,
    access: AwsAccess,
    store: Store,
    now: Callable[[], datetime],
    trigger: str,
    progress: Progress | None = None,
) -> SweepSummary:
    """A triage sweep (see the module's docstring); raises TriageUnavailable when Security
    Hub cannot be read (the caller sweeps in full)."""
    plan = plan_triage(settings, access, store, now())
    log.info(
        "triage: Security Hub names %d of %d account-regions; reading %d",
        plan.flagged,
        len(plan.targets),
        len(plan.read),
    )
    summary = run_sweep(
        settings=settings,
        access=access,
        store=store,
        now=now,
        trigger=trigger,
        progress=progress,
        scopes=list(plan.read),
        coverage="triage",
    )
    # The cross-check covers every configured account-region whose stored read is good: the
    # findings were read for all of them.
    good = {s.scope for s in store.sweeps.scope_states() if s.ok} & set(plan.targets)
    check = _check(plan, good, store, now())
    if good:  # which hubs are on, and the new hub's verdict, as a full sweep says them
        hubs, second = hubs_and_new_hub(settings, access, store, sorted(good), now())
        check = replace(check, hubs=hubs, v2=second)
    store.sweeps.save_security_hub_check(summary.sweep_id, check)
    return summary


def _check(plan: TriagePlan, good: set[Scope], store: Store, now: datetime) -> SecurityHubCheck:
    """The cross-check's verdict (bot.aws.securityhub.compare), from the instances already read."""
    noncompliant = store.associations.noncompliant_instances()
    return compare(plan.failed, region=plan.region, swept=good, noncompliant=noncompliant, now=now)


def triage_due(
    settings: Settings, store: Store, trigger: str, full_trigger: Any, now: datetime
) -> bool:
    """In triage mode, a scheduled (or start-up) sweep triages unless a full sweep is owed.
    Sweeps people ask for, and the full-sweep job's, read everything."""
    if settings.triage == "off" or trigger not in ("schedule", "startup"):
        return False
    return not full_sweep_owed(store, full_trigger, now)


def full_sweep_owed(store: Store, full_trigger: Any, now: datetime) -> bool:
    """No full sweep has finished since SSM3_FULL_SWEEP_SCHEDULE's latest slot (or ever): a
    missed, failed or skipped full sweep is made up by the next sweep, whichever job runs it."""
    full = store.sweeps.last(full=True)
    if full is None or full.finished_at is None:
        return True
    slot = latest_fire(full_trigger, now)
    return slot is not None and full.started_at < slot
