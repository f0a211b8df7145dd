"""Stored estates of any size, written straight into the store (no AWS): for digest limits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.models import (
    Association,
    AssociationKey,
    FailedTarget,
    InstanceCompliance,
    Scope,
    ScopeResult,
)
from bot.store import Store
from bot.sweeping.sweep import new_sweep_id


def association_id(index: int) -> str:
    return str(uuid.UUID(int=0xA55C0000_0000_4000_8000_000000000000 + index))


def store_estate(
    store: Store,
    *,
    failing: int,
    healthy: int = 0,
    now: datetime,
    name: Callable[[int], str | None] = lambda i: f"patch-scan-{i:05d}",
    account_id: str = "111111111111",
    region: str = "eu-west-1",
) -> list[AssociationKey]:
    """One swept scope with `failing` failing associations (2 failed instances each)."""
    sweep_id = new_sweep_id(now)
    store.sweeps.begin(sweep_id, now, 1, "test")
    items = []
    for i in range(failing + healthy):
        bad = i < failing
        targets = (
            tuple(
                FailedTarget(
                    instance_id=f"i-{i:08x}{n:09x}",
                    detailed_status="Failed",
                    error_code="1",
                    summary="1 out of 1 plugin processed, 0 success, 1 failed. "
                    f"The operation aws:runShellScript failed with exit code {n + 1}.",
                )
                for n in range(2)
            )
            if bad
            else ()
        )
        items.append(
            Association(
                account_id=account_id,
                region=region,
                association_id=association_id(i),
                association_name=name(i),
                document_name="AWS-RunShellScript",
                status="Failed" if bad else "Success",
                detailed_status="Failed" if bad else "Success",
                counts={"Failed": 2, "Success": 3} if bad else {"Success": 5},
                last_execution_at=now - timedelta(minutes=10),
                execution_id=str(uuid.UUID(int=i + 1)),
                failed_targets=targets,
                failed_target_count=len(targets),
                failing_evidence_since=now - timedelta(hours=1 + i % 50) if bad else None,
                sync_compliance="AUTO" if bad else None,
                noncompliant_instances=tuple(t.instance_id for t in targets),
            )
        )
    noncompliant = tuple(
        InstanceCompliance(instance_id, now - timedelta(minutes=10), 1)
        for a in items
        for instance_id in a.noncompliant_instances
    )
    result = ScopeResult(
        Scope(account_id, region), True, None, tuple(items), now, 0.1, noncompliant=noncompliant
    )
    store.associations.save_scope(sweep_id, result, now)
    store.sweeps.finish(sweep_id, now, 0.1)
    return [a.key for a in items[:failing]]
