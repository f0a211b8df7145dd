"""The diagnoses people asked for: each one's short form (which the digest, alerts and CSV show
for the rest of its failing streak: `DIAGNOSED_IN_STREAK`) and its cause groups with their
fixes' data, which a Fix button names by the diagnosis's ID rather than carrying it.

Kept for `KEEP` (a Fix button on an older diagnosis is refused anyway: bot/app/fixes.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.core.diagnosis import CauseGroup, Diagnosis, Fix, IamStatement, InstanceDiagnosis
from bot.models import AssociationKey
from bot.store.db import Database
from bot.util.clock import iso, parse_iso

KEEP = timedelta(days=30)

# The short form of the latest diagnosis made during the association's current failing streak,
# as a column of a query over `associations a` (bot/store/associations.py's `tracked`).
DIAGNOSED_IN_STREAK = (
    "(SELECT d.short FROM diagnoses d WHERE d.account_id = a.account_id AND d.region = a.region "
    "AND d.association_id = a.association_id AND a.failing_since IS NOT NULL "
    "AND d.read_at >= a.failing_since ORDER BY d.read_at DESC, d.id DESC LIMIT 1) AS diagnosed"
)


@dataclass(frozen=True)
class StoredDiagnosis:
    id: int
    diagnosis: Diagnosis
    by: str | None


class Diagnoses:
    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, diagnosis: Diagnosis, *, short: str, by: str | None) -> int:
        """Keep a diagnosis (and drop those older than KEEP); its ID."""
        key = diagnosis.key
        with self.db.write() as db:
            table = db.table("diagnoses")
            table.insert(
                {
                    "account_id": key.account_id,
                    "region": key.region,
                    "association_id": key.association_id,
                    "read_at": iso(diagnosis.read_at),
                    "by": by,
                    "short": short,
                    "body": json.dumps(_body(diagnosis), sort_keys=True),
                }
            )
            found = int(table.last_pk or 0)
            self.db.execute(
                "DELETE FROM diagnoses WHERE read_at < ?", [iso(diagnosis.read_at - KEEP)]
            )
        return found

    def get(self, diagnosis_id: int) -> StoredDiagnosis | None:
        rows = self.db.rows("SELECT * FROM diagnoses WHERE id = ?", (diagnosis_id,))
        return _stored(rows[0]) if rows else None

    def latest(self, key: AssociationKey) -> StoredDiagnosis | None:
        rows = self.db.rows(
            "SELECT * FROM diagnoses WHERE account_id = ? AND region = ? AND association_id = ? "
            "ORDER BY read_at DESC, id DESC LIMIT 1",
            (key.account_id, key.region, key.association_id),
        )
        return _stored(rows[0]) if rows else None


# -- the body: what a Fix button and a re-rendering need -------------------------------------------
def _body(diagnosis: Diagnosis) -> dict[str, Any]:
    return {
        "association_name": diagnosis.association_name,
        "document_name": diagnosis.document_name,
        "document_version": diagnosis.document_version,
        "failure_kind": diagnosis.failure_kind,
        "dispatch_role": diagnosis.dispatch_role,
        "causes": [
            {
                "cause": g.cause,
                "instances": list(g.instances),
                "evidence": dict(g.evidence),
                "fix": _fix(g.fix),
            }
            for g in diagnosis.causes
        ],
        "inferred": [i.instance_id for i in diagnosis.instances if i.inferred],
        "warnings": list(diagnosis.warnings),
        "aws_calls": dict(diagnosis.aws_calls),
    }


def _fix(fix: Fix) -> dict[str, Any]:
    return {
        "kind": fix.kind,
        "text": fix.text,
        "instance_ids": list(fix.instance_ids),
        "parameter": fix.parameter,
        "value": fix.value,
        "allowed_values": list(fix.allowed_values) if fix.allowed_values is not None else None,
        "allowed_pattern": fix.allowed_pattern,
        "association_version": fix.association_version,
        "document": fix.document,
        "statement": [fix.statement.action, fix.statement.resource] if fix.statement else None,
        "role": fix.role,
        "command": fix.command,
        "remove": fix.remove,
    }


def _read_fix(data: Mapping[str, Any]) -> Fix:
    allowed = data.get("allowed_values")
    statement = data.get("statement")
    return Fix(
        kind=data["kind"],
        text=str(data["text"]),
        instance_ids=tuple(data.get("instance_ids") or ()),
        parameter=data.get("parameter"),
        value=data.get("value"),
        allowed_values=tuple(allowed) if allowed is not None else None,
        allowed_pattern=data.get("allowed_pattern"),
        association_version=data.get("association_version"),
        document=data.get("document"),
        statement=IamStatement(statement[0], statement[1]) if statement else None,
        role=data.get("role"),
        command=data.get("command"),
        remove=bool(data.get("remove")),
    )


def _stored(row: Mapping[str, Any]) -> StoredDiagnosis:
    body = json.loads(row["body"])
    read_at = parse_iso(row["read_at"])
    assert read_at is not None
    groups = tuple(
        CauseGroup(g["cause"], tuple(g["instances"]), g["evidence"], _read_fix(g["fix"]))
        for g in body["causes"]
    )
    inferred = set(body.get("inferred") or ())
    instances = tuple(
        InstanceDiagnosis(
            i, g.cause, g.evidence, replace(g.fix, instance_ids=(i,)), inferred=i in inferred
        )
        for g in groups
        for i in g.instances
    )
    diagnosis = Diagnosis(
        key=AssociationKey(row["account_id"], row["region"], row["association_id"]),
        association_name=body.get("association_name"),
        document_name=body["document_name"],
        document_version=body.get("document_version"),
        failure_kind=body.get("failure_kind"),
        dispatch_role=body.get("dispatch_role"),
        instances=instances,
        causes=groups,
        warnings=tuple(body.get("warnings") or ()),
        read_at=read_at,
        aws_calls=body.get("aws_calls") or {},
    )
    return StoredDiagnosis(int(row["id"]), diagnosis, row["by"])


def age(stored: StoredDiagnosis, now: datetime) -> timedelta:
    return now - stored.diagnosis.read_at
