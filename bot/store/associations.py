"""Associations as last swept: their state, failed targets, status history and SSM.3's own
view (NON_COMPLIANT instances, orphaned items). A scope's save replaces all of it at once."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database as SqliteDatabase

from bot.core import streaks
from bot.models import (
    AssociationKey,
    FailedTarget,
    InstanceCompliance,
    InstanceKey,
    Orphan,
    PriorDrilldown,
    Scope,
    ScopeResult,
    TrackedAssociation,
)
from bot.store.acks import Acks
from bot.store.db import Database
from bot.store.failure_streaks import FailureStreaks
from bot.store.rows import (
    association_row,
    instance_compliance_row,
    row_key,
    sync,
    to_association,
    to_instance_compliance,
)
from bot.util.clock import iso, parse_iso


class Associations:
    """Reads and writes the associations; ending a streak ends its acknowledgement (via `acks`,
    in the same transaction) and is recorded with its start (via `streak_log`)."""

    def __init__(self, db: Database, acks: Acks, streak_log: FailureStreaks) -> None:
        self.db = db
        self.acks = acks
        self.streak_log = streak_log

    def prior_drilldowns(self, scope: Scope) -> dict[str, PriorDrilldown]:
        """What the last sweep learnt of a scope's associations (drill-downs, SyncCompliance),
        for an incremental sweep."""
        where = (
            "a.account_id = ? AND a.region = ? "
            "AND (a.execution_id IS NOT NULL OR a.sync_compliance IS NOT NULL)"
        )
        params = (scope.account_id, scope.region)
        rows = self.db.rows(f"SELECT a.* FROM associations a WHERE {where}", params)  # noqa: S608
        targets = self._failed_targets(where, params) if rows else {}
        return {
            row["association_id"]: PriorDrilldown(
                last_execution_at=parse_iso(row["last_execution_at"]),
                execution_id=row["execution_id"],
                failed_targets=targets.get(row_key(row), ()),
                failed_target_count=row["failed_target_count"] or 0,
                failing_evidence_since=parse_iso(row["failing_evidence_since"]),
                association_version=row["association_version"],
                sync_compliance=sync(row["sync_compliance"]),
            )
            for row in rows
        }

    def prior_compliance(self, scope: Scope) -> dict[str, InstanceCompliance]:
        """The scope's NON_COMPLIANT instances as last read, with their items where read."""
        rows = self.db.rows(
            "SELECT * FROM instance_compliance WHERE account_id = ? AND region = ?",
            (scope.account_id, scope.region),
        )
        return {row["instance_id"]: to_instance_compliance(row) for row in rows}

    def save_scope(self, sweep_id: str, result: ScopeResult, now: datetime) -> bool:
        """Store one scope's outcome; for a good scope, replace its associations' state.

        False when a read of the scope that began later is stored already: this outcome is
        kept as the sweep's record of the scope, and the scope's state stays as it is."""
        scope = result.scope
        failing = sum(1 for a in result.associations if a.failing)
        with self.db.write() as db:
            db.table("sweep_scopes").insert(
                {
                    "sweep_id": sweep_id,
                    "account_id": scope.account_id,
                    "region": scope.region,
                    "ok": int(result.ok),
                    "error": result.error,
                    "started_at": iso(result.started_at),
                    "duration_ms": round(result.duration_s * 1000),
                    "aws_calls": result.aws_calls,
                    "associations": len(result.associations),
                    "failing": failing,
                    "reused_drilldowns": result.reused_drilldowns,
                    "noncompliant_instances": len(result.noncompliant),
                },
                replace=True,
            )
            previous_state = next(
                iter(
                    db.table("scope_state").rows_where(
                        "account_id = ? AND region = ?", [scope.account_id, scope.region]
                    )
                ),
                {},
            )
            read_started = _precise(result.started_at)
            stored_read = previous_state.get("read_started_at")
            if stored_read is not None and read_started < stored_read:
                # A newer read of this scope is stored already (an event's re-read overtook
                # a long sweep): this one stays on record above but changes nothing.
                return False
            db.table("scope_state").insert(
                {
                    "account_id": scope.account_id,
                    "region": scope.region,
                    "ok": int(result.ok),
                    "error": result.error,
                    "swept_at": iso(now),
                    "last_ok_at": iso(now) if result.ok else previous_state.get("last_ok_at"),
                    "read_started_at": read_started,
                },
                replace=True,
            )
            if result.ok:
                self._replace_scope_associations(db, sweep_id, result, now)
        return True

    def _replace_scope_associations(
        self, db: SqliteDatabase, sweep_id: str, result: ScopeResult, now: datetime
    ) -> None:
        scope = result.scope
        where = "account_id = ? AND region = ?"
        params = [scope.account_id, scope.region]
        previous = {
            row["association_id"]: row for row in db.table("associations").rows_where(where, params)
        }
        seen: set[str] = set()
        rows: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        for association in result.associations:
            seen.add(association.association_id)
            before = previous.get(association.association_id)
            rows.append(association_row(association, before, sweep_id, now))
            old_status = before["status"] if before else None
            if old_status != association.status:
                changes.append(
                    {
                        "account_id": scope.account_id,
                        "region": scope.region,
                        "association_id": association.association_id,
                        "at": iso(now),
                        "sweep_id": sweep_id,
                        "old_status": old_status,
                        "new_status": association.status,
                    }
                )
            if streaks.streak_ended(
                parse_iso(before["failing_since"]) if before else None,
                parse_iso(rows[-1]["failing_since"]),
            ):
                # The streak ended (straight away, or via Pending while a re-run ran): a
                # later failure is a new streak and needs a new acknowledgement.
                self.acks.end(association.key, now, by=None, reason="resolved")
        gone = [aid for aid in previous if aid not in seen]
        for association_id in gone:
            changes.append(
                {
                    "account_id": scope.account_id,
                    "region": scope.region,
                    "association_id": association_id,
                    "at": iso(now),
                    "sweep_id": sweep_id,
                    "old_status": previous[association_id]["status"],
                    "new_status": "Deleted",
                }
            )
            self.acks.end(
                AssociationKey(scope.account_id, scope.region, association_id),
                now,
                by=None,
                reason="deleted",
            )
            db.table("associations").delete((scope.account_id, scope.region, association_id))
        self.streak_log.track(
            previous, list(zip(result.associations, rows, strict=True)), gone, scope, now
        )
        for table in ("failed_targets", "instance_compliance", "orphans"):
            db.execute(f"DELETE FROM {table} WHERE account_id = ? AND region = ?", params)  # noqa: S608
        self.db.insert_many("associations", rows)
        self.db.insert_many(
            "instance_compliance",
            [instance_compliance_row(scope, c) for c in result.noncompliant],
        )
        self.db.insert_many(
            "orphans",
            [
                {
                    "account_id": o.account_id,
                    "region": o.region,
                    "association_id": o.association_id,
                    "instance_id": o.instance_id,
                    "title": o.title,
                }
                for o in result.orphans
            ],
        )
        self.db.insert_many(
            "failed_targets",
            [
                {
                    "account_id": scope.account_id,
                    "region": scope.region,
                    "association_id": a.association_id,
                    "position": position,
                    "instance_id": t.instance_id,
                    "detailed_status": t.detailed_status,
                    "error_code": t.error_code,
                    "summary": t.summary,
                    "output_url": t.output_url,
                    "command_id": t.command_id,
                }
                for a in result.associations
                for position, t in enumerate(a.failed_targets)
            ],
        )
        if changes:
            self.db.insert_many("status_changes", changes)

    def tracked(
        self,
        *,
        failing_only: bool = False,
        sweep_id: str | None = None,
        now: datetime | None = None,
        keys: Sequence[AssociationKey] | None = None,
    ) -> list[TrackedAssociation]:
        """Associations as now known, with failed targets and active acknowledgements."""
        clauses: list[str] = []
        params: list[Any] = []
        if failing_only:
            clauses.append("a.failing = 1")
        if sweep_id is not None:
            clauses.append("a.last_sweep_id = ?")
            params.append(sweep_id)
        if keys is not None:
            if not keys:
                return []
            clauses.append(
                "(a.account_id, a.region, a.association_id) IN (SELECT json_extract(value, '$[0]'), "
                "json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?))"
            )
            params.append(json.dumps([[k.account_id, k.region, k.association_id] for k in keys]))
        where = " AND ".join(clauses) or "1"
        rows = self.db.rows(
            # The clauses are fixed strings chosen above; every value goes in as a parameter.
            f"SELECT a.*, n.name AS account_name FROM associations a "  # noqa: S608
            f"LEFT JOIN account_names n ON n.account_id = a.account_id WHERE {where} "
            "ORDER BY a.account_id, a.region, a.association_id",
            params,
        )
        targets = self._failed_targets(where, params) if rows else {}
        acks = self.acks.active(now)
        return [
            TrackedAssociation(
                association=to_association(row, targets.get(row_key(row), ())),
                failing_since=parse_iso(row["failing_since"]),
                last_seen_at=parse_iso(row["last_seen_at"]),  # type: ignore[arg-type]
                ack=acks.get(row_key(row)),
            )
            for row in rows
        ]

    def count(self) -> int:
        """How many associations the store knows, failing or not."""
        return int(self.db.rows("SELECT count(*) AS n FROM associations")[0]["n"])

    def compliance_counts(self, now: datetime) -> tuple[int, int, int]:
        """(failing associations, those of them acknowledged at `now`, distinct instances SSM.3
        fails) as the store knows them now: what /metrics reports, read at scrape time."""
        row = self.db.rows(
            "SELECT (SELECT count(*) FROM associations WHERE failing = 1) AS failing, "
            "(SELECT count(*) FROM associations a WHERE a.failing = 1 AND EXISTS (SELECT 1 FROM "
            " acks k WHERE k.account_id = a.account_id AND k.region = a.region AND "
            " k.association_id = a.association_id AND k.ended_at IS NULL AND "
            " (k.until IS NULL OR k.until > ?))) AS acknowledged, "
            "(SELECT count(*) FROM instance_compliance) AS instances",
            (iso(now),),
        )[0]
        return int(row["failing"]), int(row["acknowledged"]), int(row["instances"])

    def catalogue(self) -> list[tuple[str, str, str]]:
        """(account, region, document) of every stored association: enough to count a route's."""
        rows = self.db.rows("SELECT account_id, region, document_name FROM associations")
        return [(r["account_id"], r["region"], r["document_name"]) for r in rows]

    def find(self, association_id: str, *, now: datetime) -> list[TrackedAssociation]:
        """Every stored association with this ID (one, unless IDs repeat across accounts), with
        the acknowledgements still in force at `now`."""
        rows = self.db.rows(
            "SELECT account_id, region, association_id FROM associations WHERE association_id = ?",
            (association_id,),
        )
        keys = [AssociationKey(r["account_id"], r["region"], r["association_id"]) for r in rows]
        return self.tracked(keys=keys, now=now) if keys else []

    def _failed_targets(
        self, where: str, params: Sequence[Any]
    ) -> dict[tuple[str, str, str], tuple[FailedTarget, ...]]:
        """The failed targets of the failing associations `a` that match `where`, in order.

        Reads only those rows (through the primary key), never the whole table: a scope's
        prior drill-downs and the digest's failures stay cheap however large the store grows.
        """
        found: dict[tuple[str, str, str], list[FailedTarget]] = {}
        for row in self.db.rows(
            "SELECT t.* FROM failed_targets t JOIN associations a "  # noqa: S608
            f"USING (account_id, region, association_id) WHERE {where} "
            "ORDER BY t.account_id, t.region, t.association_id, t.position",
            params,
        ):
            found.setdefault(row_key(row), []).append(
                FailedTarget(
                    instance_id=row["instance_id"],
                    detailed_status=row["detailed_status"],
                    error_code=row["error_code"],
                    summary=row["summary"],
                    output_url=row["output_url"],
                    command_id=row["command_id"],
                )
            )
        return {key: tuple(targets) for key, targets in found.items()}

    def status_history(self, key: AssociationKey) -> list[dict[str, Any]]:
        return self.db.rows(
            "SELECT at, sweep_id, old_status, new_status FROM status_changes "
            "WHERE account_id = ? AND region = ? AND association_id = ? ORDER BY id",
            (key.account_id, key.region, key.association_id),
        )

    def orphans(self, scopes: Iterable[Scope] | None = None) -> list[Orphan]:
        """NON_COMPLIANT items whose association no longer exists, as last swept."""
        rows = self.db.rows("SELECT * FROM orphans ORDER BY account_id, region, association_id")
        wanted = set(scopes) if scopes is not None else None
        found = [
            Orphan(r["account_id"], r["region"], r["association_id"], r["instance_id"], r["title"])
            for r in rows
        ]
        return [o for o in found if wanted is None or o.scope in wanted]

    def noncompliant_instances(self) -> set[InstanceKey]:
        """Every instance SSM.3 fails in the account-regions as last swept."""
        rows = self.db.rows("SELECT account_id, region, instance_id FROM instance_compliance")
        return {InstanceKey(r["account_id"], r["region"], r["instance_id"]) for r in rows}

    def instance_compliance(self, instance_id: str) -> list[tuple[Scope, InstanceCompliance]]:
        """Where this instance is NON_COMPLIANT for SSM.3 (empty: compliant or unknown)."""
        rows = self.db.rows(
            "SELECT * FROM instance_compliance WHERE instance_id = ?", (instance_id,)
        )
        return [(Scope(r["account_id"], r["region"]), to_instance_compliance(r)) for r in rows]

    def alertable_failures(self) -> list[tuple[AssociationKey, datetime]]:
        """Failing associations whose current streak began after the bot first read their scope.

        What was already failing when a scope was first swept belongs in the digest, not in
        alerts; a streak that carries on through a re-run (Failed, Pending, Failed) keeps its
        start, so it is no new failure either.
        """
        rows = self.db.rows(
            "SELECT a.account_id, a.region, a.association_id, a.failing_since, "
            "(SELECT min(w.started_at) FROM sweep_scopes s JOIN sweeps w ON w.id = s.sweep_id "
            " WHERE s.ok = 1 AND s.account_id = a.account_id AND s.region = a.region) AS first_ok "
            "FROM associations a WHERE a.failing = 1 AND a.failing_since IS NOT NULL"
        )
        found = []
        for row in rows:
            since = parse_iso(row["failing_since"])
            if since is not None and streaks.alertable(since, parse_iso(row["first_ok"])):
                found.append(
                    (AssociationKey(row["account_id"], row["region"], row["association_id"]), since)
                )
        return found


def _precise(moment: datetime) -> str:
    """A UTC time to the microsecond, in one fixed format (so strings compare as times)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
