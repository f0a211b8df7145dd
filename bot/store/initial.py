"""The first schema (migration m001, registered by bot/store/db.py under that name): every table
as the first release created it. Never edit it: later changes are new migrations in db.py."""

from __future__ import annotations

from sqlite_utils import Database as SqliteDatabase


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
