"""The Security Hub sync's own record (SSM3_SECURITYHUB=sync): each SSM.3 finding as the sync
last saw it and what the bot last wrote to it, so a later sync can tell its own writes from
someone's change by hand, and `/ssm3 status` can count workflow states without asking AWS."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from bot.models import AssociationKey, EndedAck, FindingRecord, InstanceKey, Scope, WriteClaim
from bot.store.db import Database
from bot.store.rows import row_key, to_ack
from bot.util.clock import iso, parse_iso


class FindingRecords:
    """One hub's records: `finding_sync` for Security Hub CSPM, `finding_sync_v2` for the new
    Security Hub (its findings, workflow and comment are its own)."""

    def __init__(self, db: Database, table: str = "finding_sync") -> None:
        self.db = db
        self.table = table

    def in_scopes(self, scopes: Iterable[Scope] | None = None) -> dict[str, FindingRecord]:
        """The records of findings in these account-regions (all of them for None), by Id."""
        rows = self.db.rows(f"SELECT * FROM {self.table}")  # noqa: S608 - one of two names
        wanted = None if scopes is None else set(scopes)
        return {
            row["finding_id"]: _record(row)
            for row in rows
            if wanted is None or Scope(row["account_id"], row["region"]) in wanted
        }

    def save(self, records: Sequence[FindingRecord]) -> None:
        """Insert or replace these records, in one transaction."""
        with self.db.write():
            self.db.insert_many(self.table, [_row(r) for r in records])

    def workflow_counts(self, instances: Iterable[InstanceKey]) -> Counter[str]:
        """How many of these instances' findings were last seen in each workflow status."""
        keys = [[k.account_id, k.region, k.instance_id] for k in instances]
        if not keys:
            return Counter()
        rows = self.db.rows(
            f"SELECT seen_workflow FROM {self.table} WHERE (account_id, region, instance_id) IN "  # noqa: S608 - one of two names
            "(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
            "json_extract(value, '$[2]') FROM json_each(?))",
            (json.dumps(keys),),
        )
        return Counter(str(row["seen_workflow"]) for row in rows)

    def latest_ended(self, keys: Iterable[AssociationKey]) -> dict[AssociationKey, EndedAck]:
        """For each association whose latest acknowledgement has ended: how and when."""
        wanted = [[k.account_id, k.region, k.association_id] for k in keys]
        if not wanted:
            return {}
        rows = self.db.rows(
            "SELECT k.* FROM acks k WHERE k.id IN (SELECT max(a.id) FROM acks a WHERE "
            "(a.account_id, a.region, a.association_id) IN (SELECT json_extract(value, '$[0]'), "
            "json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?)) "
            "GROUP BY a.account_id, a.region, a.association_id) AND k.ended_at IS NOT NULL",
            (json.dumps(wanted),),
        )
        found = {}
        for row in rows:
            key = AssociationKey(*row_key(row))
            found[key] = EndedAck(
                key=key,
                ack=to_ack(row),
                ended_at=parse_iso(row["ended_at"]),  # type: ignore[arg-type]
                ended_by=row["ended_by"],
                end_reason=row["end_reason"] or "ended",
            )
        return found


def _row(record: FindingRecord) -> dict[str, Any]:
    return {
        "finding_id": record.finding_id,
        "product_arn": record.product_arn,
        "account_id": record.instance.account_id,
        "region": record.instance.region,
        "instance_id": record.instance.instance_id,
        "seen_workflow": record.seen_workflow,
        "seen_at": iso(record.seen_at),
        "written_workflow": record.written_workflow,
        "written_note": record.written_note,
        "written_at": iso(record.written_at),
        "associations": json.dumps(list(record.associations)),
        "until": iso(record.until),
        "hand": record.hand,
        "claim": _claim_json(record.claim),
    }


def _record(row: dict[str, Any]) -> FindingRecord:
    return FindingRecord(
        finding_id=row["finding_id"],
        product_arn=row["product_arn"],
        instance=InstanceKey(row["account_id"], row["region"], row["instance_id"]),
        seen_workflow=row["seen_workflow"],
        seen_at=parse_iso(row["seen_at"]),  # type: ignore[arg-type]
        written_workflow=row["written_workflow"],
        written_note=row["written_note"],
        written_at=parse_iso(row["written_at"]),
        associations=tuple(json.loads(row["associations"] or "[]")),
        until=parse_iso(row["until"]),
        hand=row["hand"],
        claim=_claim(row.get("claim")),
    )


def _claim_json(claim: WriteClaim | None) -> str | None:
    if claim is None:
        return None
    return json.dumps(
        {
            "workflow": claim.workflow,
            "note": claim.note,
            "associations": list(claim.associations),
            "until": iso(claim.until),
            "at": iso(claim.at),
        }
    )


def _claim(text: str | None) -> WriteClaim | None:
    if not text:
        return None
    data = json.loads(text)
    return WriteClaim(
        workflow=str(data["workflow"]),
        note=str(data["note"]),
        associations=tuple(data.get("associations") or ()),
        until=parse_iso(data.get("until")),
        at=parse_iso(data.get("at")),
    )
