"""SQLite persistence (sqlite-utils): sweeps, scopes, associations, failed targets, status
history, acknowledgements and the audit log.

One connection guarded by a lock serves every thread of a process; WAL and a busy timeout let
a second process (a rolling deploy, the CLI next to `serve`) share the file. Writes that must
not interleave run in `BEGIN IMMEDIATE` transactions. The schema evolves only through the
numbered migrations below, so an old database upgrades itself on open.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.aws.reader import PriorDrilldown
from bot.clock import iso, parse_iso, utcnow
from bot.core import streaks
from bot.models import (
    Ack,
    Association,
    AssociationKey,
    ComplianceItem,
    FailedTarget,
    InstanceCompliance,
    InstanceKey,
    Orphan,
    Scope,
    ScopeResult,
    ScopeStatus,
    SecurityHubCheck,
    SweepSummary,
    SyncCompliance,
    TrackedAssociation,
    normalise_status,
)

BUSY_TIMEOUT_S = 30.0
migrations = Migrations("ssm3")


@migrations()
def m001_initial(db: Database) -> None:
    db.table("sweeps").create(
        {
            "id": str,
            "started_at": str,
            "finished_at": str,
            "trigger": str,
            "scopes": int,
            "scopes_failed": int,
            "associations": int,
            "failing": int,
            "acknowledged": int,
            "noncompliant_instances": int,
            "aws_calls": int,
            "duration_ms": int,
        },
        pk="id",
    )
    db.table("sweep_scopes").create(
        {
            "sweep_id": str,
            "account_id": str,
            "region": str,
            "ok": int,
            "error": str,
            "started_at": str,
            "duration_ms": int,
            "aws_calls": int,
            "associations": int,
            "failing": int,
            "reused_drilldowns": int,
        },
        pk=("sweep_id", "account_id", "region"),
    )
    db.table("scope_state").create(
        {
            "account_id": str,
            "region": str,
            "ok": int,
            "error": str,
            "swept_at": str,
            "last_ok_at": str,
        },
        pk=("account_id", "region"),
    )
    db.table("associations").create(
        {
            "account_id": str,
            "region": str,
            "association_id": str,
            "association_name": str,
            "document_name": str,
            "status": str,
            "detailed_status": str,
            "counts": str,
            "last_execution_at": str,
            "schedule": str,
            "execution_id": str,
            "failed_target_count": int,
            "failing_evidence_since": str,
            "failing_since": str,
            "first_seen_at": str,
            "last_seen_at": str,
            "last_sweep_id": str,
        },
        pk=("account_id", "region", "association_id"),
    )
    db.table("associations").create_index(["association_id"])
    db.table("associations").create_index(["last_sweep_id"])
    db.table("failed_targets").create(
        {
            "account_id": str,
            "region": str,
            "association_id": str,
            "position": int,
            "instance_id": str,
            "detailed_status": str,
            "error_code": str,
            "summary": str,
            "output_url": str,
            "command_id": str,
        },
        pk=("account_id", "region", "association_id", "position"),
    )
    db.table("failed_targets").create_index(["instance_id"])
    db.table("status_changes").create(
        {
            "id": int,
            "account_id": str,
            "region": str,
            "association_id": str,
            "at": str,
            "sweep_id": str,
            "old_status": str,
            "new_status": str,
        },
        pk="id",
    )
    db.table("status_changes").create_index(["account_id", "region", "association_id"])
    db.table("acks").create(
        {
            "id": int,
            "account_id": str,
            "region": str,
            "association_id": str,
            "by": str,
            "reason": str,
            "created_at": str,
            "until": str,
            "ended_at": str,
            "ended_by": str,
            "end_reason": str,
        },
        pk="id",
    )
    db.table("acks").create_index(["account_id", "region", "association_id"])
    db.table("audit").create(
        {
            "id": int,
            "at": str,
            "actor": str,
            "action": str,
            "account_id": str,
            "region": str,
            "association_id": str,
            "channel": str,
            "outcome": str,
            "detail": str,
        },
        pk="id",
    )
    db.table("audit").create_index(["at"])
    # Evidence for auditors: the application may add to the audit log, never rewrite it.
    db.execute(
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    )


@migrations()
def m002_runs_alerts_leases(db: Database) -> None:
    """Who posted what, so two processes never post the same digest or alert twice."""
    db.table("digest_runs").create(
        {
            "slot": str,  # the scheduled fire time (ISO) this digest answers
            "kind": str,  # scheduled | catch-up
            "claimed_by": str,
            "claimed_at": str,
            "posted_at": str,
            "channel": str,
            "ts": str,
            "snapshot": str,  # JSON: the failing associations it reported
        },
        pk="slot",
    )
    db.table("alerts").create(
        {
            "account_id": str,
            "region": str,
            "association_id": str,
            "failing_since": str,  # one alert per failing streak
            "claimed_by": str,
            "claimed_at": str,
            "posted_at": str,
            "channel": str,
            "ts": str,
        },
        pk=("account_id", "region", "association_id", "failing_since"),
    )
    db.table("leases").create({"name": str, "holder": str, "expires_at": str}, pk="name")


@migrations()
def m002_slack(db: Database) -> None:
    """Where digests were posted (to edit them in place) and re-runs (for the cooldown)."""
    db.table("digest_posts").create(
        {"id": int, "channel": str, "ts": str, "posted_at": str, "sweep_id": str},
        pk="id",
    )
    db.table("digest_posts").create_index(["channel", "ts"], unique=True)
    db.table("reruns").create(
        {
            "id": int,
            "account_id": str,
            "region": str,
            "association_id": str,
            "by": str,
            "at": str,
            "channel": str,
            "outcome": str,
            "checked_at": str,
        },
        pk="id",
    )
    db.table("reruns").create_index(["account_id", "region", "association_id"])


@migrations()
def m003_cache(db: Database) -> None:
    """Small answers worth keeping for a while (the organisation's account list)."""
    db.table("cache").create({"name": str, "value": str, "stored_at": str}, pk="name")


@migrations()
def m004_ssm3_compliance(db: Database) -> None:
    """SSM.3's own view: which instances are NON_COMPLIANT, which association makes them so,
    orphaned items, and Security Hub's verdict beside the sweep's."""
    associations = db.table("associations")
    associations.add_column("association_version", str)
    associations.add_column("sync_compliance", str)
    associations.add_column("failing", int)
    associations.add_column("noncompliant_instances", str)  # JSON list of instance IDs
    # What was failing before this migration stays failing until the next sweep says otherwise.
    db.execute(
        "UPDATE associations SET failing = (status = 'Failed'), noncompliant_instances = "
        "(SELECT json_group_array(t.instance_id) FROM failed_targets t WHERE "
        "t.account_id = associations.account_id AND t.region = associations.region AND "
        "t.association_id = associations.association_id)"
    )
    associations.create_index(["failing"])
    db.table("sweep_scopes").add_column("noncompliant_instances", int)
    db.table("instance_compliance").create(
        {
            "account_id": str,
            "region": str,
            "instance_id": str,
            "execution_time": str,
            "noncompliant_count": int,
            "items": str,  # JSON list of items, or NULL: explained by failed runs, not read
        },
        pk=("account_id", "region", "instance_id"),
    )
    db.table("orphans").create(
        {
            "account_id": str,
            "region": str,
            "association_id": str,
            "instance_id": str,
            "title": str,
        },
        pk=("account_id", "region", "association_id", "instance_id"),
    )
    db.table("securityhub_checks").create(
        {
            "sweep_id": str,
            "region": str,
            "checked_at": str,
            "failed_instances": int,
            "explained": int,
            "unexplained": str,  # JSON [[account, region, instance], ...]
            "sweep_only": str,
            "error": str,
        },
        pk="sweep_id",
    )


@dataclass(frozen=True)
class DigestPost:
    """A digest message in Slack, remembered so later changes edit it instead of posting anew."""

    channel: str
    ts: str
    posted_at: datetime
    sweep_id: str | None


@dataclass(frozen=True)
class Rerun:
    """A re-run someone started from Slack; `outcome` is filled by the follow-up check."""

    id: int
    key: AssociationKey
    by: str
    at: datetime
    channel: str | None
    outcome: str | None = None
    checked_at: datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    outcome: str
    account_id: str | None = None
    region: str | None = None
    association_id: str | None = None
    channel: str | None = None
    detail: str | None = None


class Store:
    """The one way the app reads and writes its SQLite database."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
        )
        self._lock = threading.RLock()
        self.db = Database(conn, execute_plugins=False)
        with self._lock:
            if self.path != ":memory:":
                self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            with self._write():
                migrations.apply(self.db)

    def close(self) -> None:
        with self._lock:
            self.db.close()

    @property
    def schema_version(self) -> int:
        return len(migrations.applied(self.db))

    @contextmanager
    def _write(self) -> Iterator[Database]:
        """An immediate transaction: takes the write lock up front, so two processes queue on
        the busy timeout instead of failing on a read-to-write upgrade."""
        with self._lock:
            if self.db.conn.in_transaction:
                with self.db.atomic():
                    yield self.db
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self.db.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # -- sweeps -------------------------------------------------------------------------------
    def begin_sweep(self, sweep_id: str, started_at: datetime, scopes: int, trigger: str) -> None:
        with self._write() as db:
            db.table("sweeps").insert(
                {
                    "id": sweep_id,
                    "started_at": iso(started_at),
                    "trigger": trigger,
                    "scopes": scopes,
                }
            )

    def prior_drilldowns(self, scope: Scope) -> dict[str, PriorDrilldown]:
        """What the last sweep learnt of a scope's associations (drill-downs, SyncCompliance),
        for an incremental sweep."""
        where = (
            "a.account_id = ? AND a.region = ? "
            "AND (a.execution_id IS NOT NULL OR a.sync_compliance IS NOT NULL)"
        )
        params = (scope.account_id, scope.region)
        rows = self._rows(f"SELECT a.* FROM associations a WHERE {where}", params)  # noqa: S608
        targets = self._failed_targets(where, params) if rows else {}
        return {
            row["association_id"]: PriorDrilldown(
                last_execution_at=parse_iso(row["last_execution_at"]),
                execution_id=row["execution_id"],
                failed_targets=targets.get(_key(row), ()),
                failed_target_count=row["failed_target_count"] or 0,
                failing_evidence_since=parse_iso(row["failing_evidence_since"]),
                association_version=row["association_version"],
                sync_compliance=_sync(row["sync_compliance"]),
            )
            for row in rows
        }

    def prior_compliance(self, scope: Scope) -> dict[str, InstanceCompliance]:
        """The scope's NON_COMPLIANT instances as last read, with their items where read."""
        rows = self._rows(
            "SELECT * FROM instance_compliance WHERE account_id = ? AND region = ?",
            (scope.account_id, scope.region),
        )
        return {row["instance_id"]: _instance_compliance(row) for row in rows}

    def save_scope(self, sweep_id: str, result: ScopeResult, now: datetime) -> None:
        """Store one scope's outcome; for a good scope, replace its associations' state."""
        scope = result.scope
        failing = sum(1 for a in result.associations if a.failing)
        with self._write() as db:
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
            previous_state = db.table("scope_state").rows_where(
                "account_id = ? AND region = ?", [scope.account_id, scope.region]
            )
            last_ok = next(iter(previous_state), {}).get("last_ok_at")
            db.table("scope_state").insert(
                {
                    "account_id": scope.account_id,
                    "region": scope.region,
                    "ok": int(result.ok),
                    "error": result.error,
                    "swept_at": iso(now),
                    "last_ok_at": iso(now) if result.ok else last_ok,
                },
                replace=True,
            )
            if result.ok:
                self._replace_scope_associations(db, sweep_id, result, now)

    def _replace_scope_associations(
        self, db: Database, sweep_id: str, result: ScopeResult, now: datetime
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
            rows.append(_association_row(association, before, sweep_id, now))
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
                self._end_acks(db, association.key, now, by=None, reason="resolved")
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
            self._end_acks(
                db,
                AssociationKey(scope.account_id, scope.region, association_id),
                now,
                None,
                "deleted",
            )
            db.table("associations").delete((scope.account_id, scope.region, association_id))
        for table in ("failed_targets", "instance_compliance", "orphans"):
            db.execute(f"DELETE FROM {table} WHERE account_id = ? AND region = ?", params)  # noqa: S608
        _insert_many(db, "associations", rows)
        _insert_many(
            db,
            "instance_compliance",
            [_instance_compliance_row(scope, c) for c in result.noncompliant],
        )
        _insert_many(
            db,
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
        _insert_many(
            db,
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
            _insert_many(db, "status_changes", changes)

    def finish_sweep(
        self, sweep_id: str, finished_at: datetime, duration_s: float | None = None
    ) -> SweepSummary:
        """Close a sweep and store its headline numbers (counted from what it stored)."""
        with self._write() as db:
            scopes = self._rows(
                "SELECT count(*) AS n, coalesce(sum(1 - ok), 0) AS failed, "
                "coalesce(sum(aws_calls), 0) AS calls FROM sweep_scopes WHERE sweep_id = ?",
                (sweep_id,),
            )[0]
            counts = self._rows(
                "SELECT count(*) AS n, coalesce(sum(failing = 1), 0) AS failing "
                "FROM associations WHERE last_sweep_id = ?",
                (sweep_id,),
            )[0]
            acknowledged = self._rows(
                "SELECT count(DISTINCT a.association_id) AS n FROM associations a JOIN acks k "
                "USING (account_id, region, association_id) WHERE a.last_sweep_id = ? "
                "AND a.failing = 1 AND k.ended_at IS NULL AND (k.until IS NULL OR k.until > ?)",
                (sweep_id, iso(finished_at)),
            )[0]["n"]
            # SSM.3's own number: distinct NON_COMPLIANT instances in the scopes this sweep read.
            instances = self._rows(
                "SELECT coalesce(sum(noncompliant_instances), 0) AS n FROM sweep_scopes "
                "WHERE sweep_id = ? AND ok = 1",
                (sweep_id,),
            )[0]["n"]
            values = {
                "finished_at": iso(finished_at),
                "scopes": scopes["n"],
                "scopes_failed": scopes["failed"],
                "associations": counts["n"],
                "failing": counts["failing"],
                "acknowledged": acknowledged,
                "noncompliant_instances": instances,
                "aws_calls": scopes["calls"],
                "duration_ms": None if duration_s is None else round(duration_s * 1000),
            }
            db.table("sweeps").update(sweep_id, values)
        summary = self.sweep(sweep_id)
        assert summary is not None
        return summary

    def sweep(self, sweep_id: str) -> SweepSummary | None:
        rows = self._rows("SELECT * FROM sweeps WHERE id = ?", (sweep_id,))
        return _summary(rows[0]) if rows else None

    def last_sweep(self, *, finished: bool = True) -> SweepSummary | None:
        rows = self._rows(
            "SELECT * FROM sweeps WHERE ? OR finished_at IS NOT NULL "
            "ORDER BY started_at DESC, rowid DESC LIMIT 1",
            (int(not finished),),
        )
        return _summary(rows[0]) if rows else None

    def sweep_scopes(self, sweep_id: str) -> list[ScopeStatus]:
        rows = self._rows(
            "SELECT s.*, w.finished_at FROM sweep_scopes s JOIN sweeps w ON w.id = s.sweep_id "
            "WHERE sweep_id = ? ORDER BY account_id, region",
            (sweep_id,),
        )
        return [
            ScopeStatus(
                Scope(r["account_id"], r["region"]),
                bool(r["ok"]),
                r["error"],
                parse_iso(r["started_at"]) or parse_iso(r["finished_at"]),  # type: ignore[arg-type]
            )
            for r in rows
        ]

    def forget_other_scopes(
        self, keep: Iterable[Scope], *, sweep_id: str, now: datetime
    ) -> list[Scope]:
        """Drop what is known of account-regions no longer configured (a region dropped from
        SSM3_REGIONS, an account that left the organisation), so the digest stops reporting
        them; their sweeps and status history stay as evidence."""
        wanted = set(keep)
        with self._write() as db:
            known = [
                Scope(r["account_id"], r["region"]) for r in self._rows("SELECT * FROM scope_state")
            ]
            gone = [scope for scope in known if scope not in wanted]
            for scope in gone:
                where = (scope.account_id, scope.region)
                rows = self._rows(
                    "SELECT association_id, status FROM associations WHERE account_id = ? AND region = ?",
                    where,
                )
                for row in rows:
                    key = AssociationKey(scope.account_id, scope.region, row["association_id"])
                    db.table("status_changes").insert(
                        {
                            "account_id": key.account_id,
                            "region": key.region,
                            "association_id": key.association_id,
                            "at": iso(now),
                            "sweep_id": sweep_id,
                            "old_status": row["status"],
                            "new_status": "Unswept",
                        }
                    )
                    self._end_acks(db, key, now, None, "unswept")
                for table in (
                    "failed_targets",
                    "instance_compliance",
                    "orphans",
                    "associations",
                    "scope_state",
                ):
                    db.execute(f"DELETE FROM {table} WHERE account_id = ? AND region = ?", where)  # noqa: S608
        return gone

    # -- SSM.3's view ---------------------------------------------------------------------------
    def orphans(self, scopes: Iterable[Scope] | None = None) -> list[Orphan]:
        """NON_COMPLIANT items whose association no longer exists, as last swept."""
        rows = self._rows("SELECT * FROM orphans ORDER BY account_id, region, association_id")
        wanted = set(scopes) if scopes is not None else None
        found = [
            Orphan(r["account_id"], r["region"], r["association_id"], r["instance_id"], r["title"])
            for r in rows
        ]
        return [o for o in found if wanted is None or o.scope in wanted]

    def noncompliant_instances(self) -> set[InstanceKey]:
        """Every instance SSM.3 fails in the account-regions as last swept."""
        rows = self._rows("SELECT account_id, region, instance_id FROM instance_compliance")
        return {InstanceKey(r["account_id"], r["region"], r["instance_id"]) for r in rows}

    def instance_compliance(self, instance_id: str) -> list[tuple[Scope, InstanceCompliance]]:
        """Where this instance is NON_COMPLIANT for SSM.3 (empty: compliant or unknown)."""
        rows = self._rows("SELECT * FROM instance_compliance WHERE instance_id = ?", (instance_id,))
        return [(Scope(r["account_id"], r["region"]), _instance_compliance(r)) for r in rows]

    def save_security_hub_check(self, sweep_id: str, check: SecurityHubCheck) -> None:
        def keys(found: tuple[InstanceKey, ...]) -> str:
            return json.dumps([[k.account_id, k.region, k.instance_id] for k in found])

        with self._write() as db:
            db.table("securityhub_checks").insert(
                {
                    "sweep_id": sweep_id,
                    "region": check.region,
                    "checked_at": iso(check.checked_at),
                    "failed_instances": check.failed_instances,
                    "explained": check.explained,
                    "unexplained": keys(check.unexplained),
                    "sweep_only": keys(check.sweep_only),
                    "error": check.error,
                },
                replace=True,
            )

    def security_hub_check(self, sweep_id: str | None = None) -> SecurityHubCheck | None:
        """The cross-check of `sweep_id`, or of the latest sweep that made one."""
        rows = self._rows(
            "SELECT c.* FROM securityhub_checks c JOIN sweeps w ON w.id = c.sweep_id "
            "WHERE ? IS NULL OR c.sweep_id = ? ORDER BY w.started_at DESC LIMIT 1",
            (sweep_id, sweep_id),
        )
        if not rows:
            return None
        row = rows[0]

        def keys(text: str | None) -> tuple[InstanceKey, ...]:
            return tuple(InstanceKey(*k) for k in json.loads(text or "[]"))

        return SecurityHubCheck(
            region=row["region"],
            checked_at=parse_iso(row["checked_at"]),  # type: ignore[arg-type]
            failed_instances=row["failed_instances"] or 0,
            explained=row["explained"] or 0,
            unexplained=keys(row["unexplained"]),
            sweep_only=keys(row["sweep_only"]),
            error=row["error"],
        )

    def scope_states(self) -> list[ScopeStatus]:
        """Each scope's latest outcome, across sweeps (what the digest reports as not swept)."""
        rows = self._rows("SELECT * FROM scope_state ORDER BY account_id, region")
        return [
            ScopeStatus(
                Scope(r["account_id"], r["region"]),
                bool(r["ok"]),
                r["error"],
                parse_iso(r["swept_at"]),  # type: ignore[arg-type]
            )
            for r in rows
        ]

    # -- associations ---------------------------------------------------------------------------
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
        rows = self._rows(
            # The clauses are fixed strings chosen above; every value goes in as a parameter.
            f"SELECT a.* FROM associations a WHERE {where} "  # noqa: S608
            "ORDER BY a.account_id, a.region, a.association_id",
            params,
        )
        targets = self._failed_targets(where, params) if rows else {}
        acks = self.active_acks(now)
        return [
            TrackedAssociation(
                association=_association(row, targets.get(_key(row), ())),
                failing_since=parse_iso(row["failing_since"]),
                last_seen_at=parse_iso(row["last_seen_at"]),  # type: ignore[arg-type]
                ack=acks.get(_key(row)),
            )
            for row in rows
        ]

    def association_count(self) -> int:
        """How many associations the store knows, failing or not."""
        return int(self._rows("SELECT count(*) AS n FROM associations")[0]["n"])

    def find(self, association_id: str) -> list[TrackedAssociation]:
        """Every stored association with this ID (one, unless IDs repeat across accounts)."""
        rows = self._rows(
            "SELECT account_id, region, association_id FROM associations WHERE association_id = ?",
            (association_id,),
        )
        keys = [AssociationKey(r["account_id"], r["region"], r["association_id"]) for r in rows]
        return self.tracked(keys=keys, now=utcnow()) if keys else []

    def _failed_targets(
        self, where: str, params: Sequence[Any]
    ) -> dict[tuple[str, str, str], tuple[FailedTarget, ...]]:
        """The failed targets of the failing associations `a` that match `where`, in order.

        Reads only those rows (through the primary key), never the whole table: a scope's
        prior drill-downs and the digest's failures stay cheap however large the store grows.
        """
        found: dict[tuple[str, str, str], list[FailedTarget]] = {}
        for row in self._rows(
            "SELECT t.* FROM failed_targets t JOIN associations a "  # noqa: S608
            f"USING (account_id, region, association_id) WHERE {where} "
            "ORDER BY t.account_id, t.region, t.association_id, t.position",
            params,
        ):
            found.setdefault(_key(row), []).append(
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
        return self._rows(
            "SELECT at, sweep_id, old_status, new_status FROM status_changes "
            "WHERE account_id = ? AND region = ? AND association_id = ? ORDER BY id",
            (key.account_id, key.region, key.association_id),
        )

    # -- acknowledgements ---------------------------------------------------------------------
    def active_acks(self, now: datetime | None = None) -> dict[tuple[str, str, str], Ack]:
        moment = iso(now) if now else None
        rows = self._rows(
            "SELECT * FROM acks WHERE ended_at IS NULL AND (until IS NULL OR ? IS NULL OR until > ?) "
            "ORDER BY id",
            (moment, moment),
        )
        return {
            _key(r): Ack(
                by=r["by"],
                reason=r["reason"],
                created_at=parse_iso(r["created_at"]),  # type: ignore[arg-type]
                until=parse_iso(r["until"]),
            )
            for r in rows
        }

    def acknowledge(
        self, key: AssociationKey, *, by: str, reason: str, until: datetime | None, now: datetime
    ) -> Ack:
        """Record an acknowledgement, replacing any active one for the same association."""
        with self._write() as db:
            self._end_acks(db, key, now, by=by, reason="replaced")
            db.table("acks").insert(
                {
                    "account_id": key.account_id,
                    "region": key.region,
                    "association_id": key.association_id,
                    "by": by,
                    "reason": reason,
                    "created_at": iso(now),
                    "until": iso(until),
                }
            )
        return Ack(by=by, reason=reason, created_at=now, until=until)

    def unacknowledge(self, key: AssociationKey, *, by: str, now: datetime) -> bool:
        """End the active acknowledgement; False when there was none."""
        with self._write() as db:
            return self._end_acks(db, key, now, by=by, reason="unacknowledged") > 0

    def expire_acks(self, now: datetime) -> list[tuple[AssociationKey, Ack]]:
        """End acknowledgements whose expiry has passed; return them so they can be announced."""
        with self._write() as db:
            rows = self._rows(
                "SELECT * FROM acks WHERE ended_at IS NULL AND until IS NOT NULL AND until <= ?",
                (iso(now),),
            )
            for row in rows:
                db.table("acks").update(row["id"], {"ended_at": iso(now), "end_reason": "expired"})
        return [
            (
                AssociationKey(r["account_id"], r["region"], r["association_id"]),
                Ack(r["by"], r["reason"], parse_iso(r["created_at"]), parse_iso(r["until"])),  # type: ignore[arg-type]
            )
            for r in rows
        ]

    def acks_ended(self, *, reason: str, since: datetime) -> list[tuple[AssociationKey, Ack]]:
        """Acknowledgements that ended for `reason` (e.g. expired) after `since`."""
        rows = self._rows(
            "SELECT * FROM acks WHERE end_reason = ? AND ended_at > ? ORDER BY id",
            (reason, iso(since)),
        )
        return [
            (
                AssociationKey(r["account_id"], r["region"], r["association_id"]),
                Ack(r["by"], r["reason"], parse_iso(r["created_at"]), parse_iso(r["until"])),  # type: ignore[arg-type]
            )
            for r in rows
        ]

    def alertable_failures(self) -> list[tuple[AssociationKey, datetime]]:
        """Failing associations whose current streak began after the bot first read their scope.

        What was already failing when a scope was first swept belongs in the digest, not in
        alerts; a streak that carries on through a re-run (Failed, Pending, Failed) keeps its
        start, so it is no new failure either.
        """
        rows = self._rows(
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

    def _end_acks(
        self, db: Database, key: AssociationKey, now: datetime, by: str | None, reason: str
    ) -> int:
        cursor = db.execute(
            "UPDATE acks SET ended_at = ?, ended_by = ?, end_reason = ? "
            "WHERE account_id = ? AND region = ? AND association_id = ? AND ended_at IS NULL",
            (iso(now), by, reason, key.account_id, key.region, key.association_id),
        )
        return cursor.rowcount

    # -- audit --------------------------------------------------------------------------------
    def audit(
        self,
        *,
        actor: str,
        action: str,
        outcome: str,
        now: datetime,
        key: AssociationKey | None = None,
        channel: str | None = None,
        detail: str | None = None,
    ) -> int:
        """Append one entry to the audit log and return its id."""
        with self._write() as db:
            table = db.table("audit")
            table.insert(
                {
                    "at": iso(now),
                    "actor": actor,
                    "action": action,
                    "account_id": key.account_id if key else None,
                    "region": key.region if key else None,
                    "association_id": key.association_id if key else None,
                    "channel": channel,
                    "outcome": outcome,
                    "detail": detail,
                }
            )
            return int(table.last_pk or 0)

    def audit_entries(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        sql = "SELECT * FROM audit WHERE at >= ? ORDER BY id DESC"
        params: list[Any] = [iso(since) or ""]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            AuditEntry(
                id=r["id"],
                at=parse_iso(r["at"]),  # type: ignore[arg-type]
                actor=r["actor"],
                action=r["action"],
                outcome=r["outcome"],
                account_id=r["account_id"],
                region=r["region"],
                association_id=r["association_id"],
                channel=r["channel"],
                detail=r["detail"],
            )
            for r in self._rows(sql, params)
        ]

    def cached(self, name: str, *, max_age: timedelta, now: datetime) -> Any:
        """A value stored by `remember` no longer ago than `max_age`, else None."""
        rows = self._rows("SELECT value, stored_at FROM cache WHERE name = ?", (name,))
        stored = parse_iso(rows[0]["stored_at"]) if rows else None
        if stored is None or not timedelta(0) <= now - stored <= max_age:
            return None
        return json.loads(rows[0]["value"])

    def remember(self, name: str, value: Any, *, now: datetime) -> None:
        with self._write() as db:
            db.table("cache").insert(
                {"name": name, "value": json.dumps(value), "stored_at": iso(now)}, replace=True
            )

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction for modules that keep their own tables here (bot/ledger.py)."""
        with self._write() as db:
            yield db

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts, under the store's lock."""
        return self._rows(sql, params)

    # -- Slack: posted digests and re-runs ----------------------------------------------------
    def remember_digest(
        self, channel: str, ts: str, *, now: datetime, sweep_id: str | None = None
    ) -> DigestPost:
        with self._write() as db:
            db.table("digest_posts").insert(
                {"channel": channel, "ts": ts, "posted_at": iso(now), "sweep_id": sweep_id},
                replace=True,
            )
        return DigestPost(channel, ts, now, sweep_id)

    def digest_post(self, channel: str, ts: str) -> DigestPost | None:
        rows = self._rows("SELECT * FROM digest_posts WHERE channel = ? AND ts = ?", (channel, ts))
        return _digest_post(rows[0]) if rows else None

    def latest_digest(self, channel: str | None = None) -> DigestPost | None:
        """The most recently posted digest (in `channel`, when given)."""
        rows = self._rows(
            "SELECT * FROM digest_posts WHERE ? IS NULL OR channel = ? ORDER BY id DESC LIMIT 1",
            (channel, channel),
        )
        return _digest_post(rows[0]) if rows else None

    def claim_rerun(
        self,
        key: AssociationKey,
        *,
        by: str,
        now: datetime,
        cooldown_s: int,
        channel: str | None = None,
    ) -> tuple[Rerun, bool]:
        """Record a re-run unless one started within the cooldown: (rerun, True) when recorded,
        (the earlier one, False) when not. One transaction, so two clicks cannot both win."""
        with self._write() as db:
            last = self.last_rerun(key)
            if last is not None and streaks.cooling_down(
                last.at, last.outcome == "failed", now, cooldown_s
            ):
                return last, False
            table = db.table("reruns")
            table.insert(
                {
                    "account_id": key.account_id,
                    "region": key.region,
                    "association_id": key.association_id,
                    "by": by,
                    "at": iso(now),
                    "channel": channel,
                }
            )
            rerun_id = int(table.last_pk or 0)
        return Rerun(rerun_id, key, by, now, channel), True

    def last_rerun(self, key: AssociationKey) -> Rerun | None:
        rows = self._rows(
            "SELECT * FROM reruns WHERE account_id = ? AND region = ? AND association_id = ? "
            "ORDER BY id DESC LIMIT 1",
            (key.account_id, key.region, key.association_id),
        )
        return _rerun(rows[0]) if rows else None

    def reruns_since(self, since: datetime) -> dict[AssociationKey, Rerun]:
        """The latest re-run of each association started at or after `since`."""
        rows = self._rows("SELECT * FROM reruns WHERE at >= ? ORDER BY id", (iso(since),))
        return {r.key: r for r in map(_rerun, rows)}

    def finish_rerun(self, rerun_id: int, *, outcome: str, now: datetime) -> None:
        with self._write() as db:
            db.table("reruns").update(rerun_id, {"outcome": outcome, "checked_at": iso(now)})

    def integrity_check(self) -> str:
        return str(self._rows("PRAGMA integrity_check")[0]["integrity_check"])


def _insert_many(db: Database, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT OR REPLACE rows that all have the same keys, in one executemany.

    A sweep writes every association of every scope; sqlite-utils' insert_all checks and
    converts each value and spent about half of a scope's write time doing so.
    """
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join(f"[{c}]" for c in columns)
    values = ", ".join(f":{c}" for c in columns)
    db.conn.executemany(
        # Table and column names come from this module, never from input.
        f"INSERT OR REPLACE INTO [{table}] ({names}) VALUES ({values})",  # noqa: S608
        rows,
    )


def _key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    return (row["account_id"], row["region"], row["association_id"])


def _association_row(
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


def _association(row: Mapping[str, Any], targets: tuple[FailedTarget, ...]) -> Association:
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
        sync_compliance=_sync(row["sync_compliance"]),
        noncompliant_instances=tuple(json.loads(row["noncompliant_instances"] or "[]")),
    )


def _sync(value: str | None) -> SyncCompliance | None:
    return "MANUAL" if value == "MANUAL" else "AUTO" if value == "AUTO" else None


def _instance_compliance_row(scope: Scope, c: InstanceCompliance) -> dict[str, Any]:
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


def _instance_compliance(row: Mapping[str, Any]) -> InstanceCompliance:
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


def _summary(row: Mapping[str, Any]) -> SweepSummary:
    return SweepSummary(
        sweep_id=row["id"],
        started_at=parse_iso(row["started_at"]),  # type: ignore[arg-type]
        finished_at=parse_iso(row["finished_at"]),
        scopes=row["scopes"] or 0,
        scopes_failed=row["scopes_failed"] or 0,
        associations=row["associations"] or 0,
        failing=row["failing"] or 0,
        acknowledged=row["acknowledged"] or 0,
        noncompliant_instances=row["noncompliant_instances"] or 0,
        aws_calls=row["aws_calls"] or 0,
        duration_s=(row["duration_ms"] or 0) / 1000,
    )


def _digest_post(row: Mapping[str, Any]) -> DigestPost:
    return DigestPost(
        channel=row["channel"],
        ts=row["ts"],
        posted_at=parse_iso(row["posted_at"]),  # type: ignore[arg-type]
        sweep_id=row["sweep_id"],
    )


def _rerun(row: Mapping[str, Any]) -> Rerun:
    return Rerun(
        id=row["id"],
        key=AssociationKey(row["account_id"], row["region"], row["association_id"]),
        by=row["by"],
        at=parse_iso(row["at"]),  # type: ignore[arg-type]
        channel=row["channel"],
        outcome=row["outcome"],
        checked_at=parse_iso(row["checked_at"]),
    )
