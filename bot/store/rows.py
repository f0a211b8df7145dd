"""Rows to records and back, for the associations and their SSM.3 compliance."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.core import streaks
from bot.models import (
    Ack,
    Association,
    ComplianceItem,
    FailedTarget,
    InstanceCompliance,
    Scope,
    SyncCompliance,
    normalise_status,
)
from bot.util.clock import iso, parse_iso


def row_key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    return (row["account_id"], row["region"], row["association_id"])


def association_row(
    association: Association, before: Mapping[str, Any] | None, sweep_id: str, now: datetime
) -> dict[str, Any]:
    return {
        "account_id": association.account_id,
        "region": association.region,
        "association_id": association.association_id,
        "association_name": association.association_name,
        "document_name": association.document_name,
        "status": association.status,
        "detailed_status": association.detailed_status,
        "counts": json.dumps(dict(association.counts), sort_keys=True),
        "last_execution_at": iso(association.last_execution_at),
        "schedule": association.schedule,
        "execution_id": association.execution_id,
        "failed_target_count": association.failed_target_count,
        "failing_evidence_since": iso(association.failing_evidence_since),
        "association_version": association.association_version,
        "sync_compliance": association.sync_compliance,
        "failing": int(association.failing),
        "noncompliant_instances": json.dumps(list(association.noncompliant_instances)),
        "failing_since": iso(_failing_since(association, before, now)),
        "first_seen_at": before["first_seen_at"] if before else iso(now),
        "last_seen_at": iso(now),
        "last_sweep_id": sweep_id,
    }


def _failing_since(
    association: Association, before: Mapping[str, Any] | None, now: datetime
) -> datetime | None:
    return streaks.failing_since(
        association,
        carried=parse_iso(before["failing_since"]) if before else None,
        was_failing=bool(before and before["failing_since"]),
        last_seen_at=parse_iso(before["last_seen_at"]) if before else None,
        now=now,
    )


def to_association(row: Mapping[str, Any], targets: tuple[FailedTarget, ...]) -> Association:
    return Association(
        account_id=row["account_id"],
        region=row["region"],
        association_id=row["association_id"],
        association_name=row["association_name"],
        document_name=row["document_name"] or "",
        status=normalise_status(row["status"]),
        detailed_status=row["detailed_status"],
        counts=json.loads(row["counts"] or "{}"),
        last_execution_at=parse_iso(row["last_execution_at"]),
        schedule=row["schedule"],
        execution_id=row["execution_id"],
        failed_targets=targets,
        failed_target_count=row["failed_target_count"] or 0,
        failing_evidence_since=parse_iso(row["failing_evidence_since"]),
        association_version=row["association_version"],
        sync_compliance=sync(row["sync_compliance"]),
        noncompliant_instances=tuple(json.loads(row["noncompliant_instances"] or "[]")),
        account_name=row.get("account_name"),
    )


def sync(value: str | None) -> SyncCompliance | None:
    return "MANUAL" if value == "MANUAL" else "AUTO" if value == "AUTO" else None


def instance_compliance_row(scope: Scope, c: InstanceCompliance) -> dict[str, Any]:
    return {
        "account_id": scope.account_id,
        "region": scope.region,
        "instance_id": c.instance_id,
        "execution_time": iso(c.execution_time),
        "noncompliant_count": c.noncompliant_count,
        "items": None
        if c.items is None
        else json.dumps(
            [
                {
                    "association_id": i.association_id,
                    "status": i.status,
                    "title": i.title,
                    "severity": i.severity,
                    "execution_time": iso(i.execution_time),
                    "document_name": i.document_name,
                }
                for i in c.items
            ]
        ),
    }


def to_instance_compliance(row: Mapping[str, Any]) -> InstanceCompliance:
    items = None
    if row["items"] is not None:
        items = tuple(
            ComplianceItem(
                instance_id=row["instance_id"],
                association_id=i["association_id"],
                status=i["status"],
                title=i.get("title"),
                severity=i.get("severity"),
                execution_time=parse_iso(i.get("execution_time")),
                document_name=i.get("document_name"),
            )
            for i in json.loads(row["items"])
        )
    return InstanceCompliance(
        instance_id=row["instance_id"],
        execution_time=parse_iso(row["execution_time"]),
        noncompliant_count=row["noncompliant_count"] or 0,
        items=items,
    )


def to_ack(row: Mapping[str, Any]) -> Ack:
    return Ack(
        by=row["by"],
        reason=row["reason"],
        created_at=parse_iso(row["created_at"]),  # type: ignore[arg-type]
        until=parse_iso(row["until"]),
        by_name=row.get("by_name"),
    )
