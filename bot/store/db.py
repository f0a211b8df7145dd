"""The database core: one SQLite connection, its write lock and the schema's migrations.

One connection guarded by a lock serves every thread of a process; WAL and a busy timeout let
a second process (a rolling deploy, the CLI next to `serve`) share the file. Writes that must
not interleave run in `BEGIN IMMEDIATE` transactions (`Database.write`). The schema evolves only
through the numbered migrations below, so an old database upgrades itself on open.

Only the repositories in bot/store/ talk SQL; everything else calls their methods.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database as SqliteDatabase
from sqlite_utils.migrations import Migrations

BUSY_TIMEOUT_S = 30.0

# The numbered migrations. sqlite-utils records each applied migration by its function NAME,
# so a name must never change (nor be reused): renaming one would re-run it on every existing
# database. That is why two of them are both called `m002_...` -- leave them so.
migrations = Migrations("ssm3")


@migrations()
def m001_initial(db: SqliteDatabase) -> None:
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
def m002_runs_alerts_leases(db: SqliteDatabase) -> None:
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
def m002_slack(db: SqliteDatabase) -> None:
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
def m003_cache(db: SqliteDatabase) -> None:
    """Small answers worth keeping for a while (the organisation's account list)."""
    db.table("cache").create({"name": str, "value": str, "stored_at": str}, pk="name")


@migrations()
def m004_ssm3_compliance(db: SqliteDatabase) -> None:
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


@migrations()
def m007_sweep_coverage(db: SqliteDatabase) -> None:
    """What a sweep read: `full` (every configured account-region; NULL on older rows means
    full), `triage` (those Security Hub or the store named) or `partial` (given account-regions,
    e.g. re-read on an event). The latest full or triage sweep is "the last sweep"."""
    db.table("sweeps").add_column("coverage", str)
    # When the read behind a scope's stored state began (microseconds): an older read that
    # finishes later (a long sweep's, overtaken by an event's re-read) must not overwrite it.
    db.table("scope_state").add_column("read_started_at", str)


class Database:
    """The connection, the lock that serialises its use, and the schema kept up to date."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
        )
        self.lock = threading.RLock()
        self.sqlite = SqliteDatabase(conn, execute_plugins=False)
        with self.lock:
            if self.path != ":memory:":
                self.sqlite.execute("PRAGMA journal_mode=WAL")
            self.sqlite.execute("PRAGMA synchronous=NORMAL")
            self.sqlite.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            with self.write():
                migrations.apply(self.sqlite)

    def close(self) -> None:
        with self.lock:
            self.sqlite.close()

    @property
    def schema_version(self) -> int:
        return len(migrations.applied(self.sqlite))

    @contextmanager
    def write(self) -> Iterator[SqliteDatabase]:
        """An immediate transaction: takes the write lock up front, so two processes queue on
        the busy timeout instead of failing on a read-to-write upgrade. Nested, a savepoint."""
        with self.lock:
            if self.sqlite.conn.in_transaction:
                with self.sqlite.atomic():
                    yield self.sqlite
                return
            self.sqlite.execute("BEGIN IMMEDIATE")
            try:
                yield self.sqlite
            except BaseException:
                self.sqlite.execute("ROLLBACK")
                raise
            self.sqlite.execute("COMMIT")

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts, under the lock."""
        with self.lock:
            cursor = self.sqlite.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement under the lock; the number of rows it changed."""
        with self.lock:
            return int(self.sqlite.execute(sql, params).rowcount)

    def insert_many(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """INSERT OR REPLACE rows that all have the same keys, in one executemany.

        A sweep writes every association of every scope; sqlite-utils' insert_all checks and
        converts each value and spent about half of a scope's write time doing so.
        """
        if not rows:
            return
        columns = list(rows[0])
        names = ", ".join(f"[{c}]" for c in columns)
        values = ", ".join(f":{c}" for c in columns)
        with self.lock:
            self.sqlite.conn.executemany(
                # Table and column names come from bot/store/, never from input.
                f"INSERT OR REPLACE INTO [{table}] ({names}) VALUES ({values})",  # noqa: S608
                rows,
            )

    def integrity_check(self) -> str:
        return str(self.rows("PRAGMA integrity_check")[0]["integrity_check"])
