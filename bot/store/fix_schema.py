"""The diagnose-and-fix tables (registered among the numbered migrations in bot/store/db.py):
the diagnoses people asked for, and what a fix's run was. The function's name is recorded in
each database forever: never rename it."""

from __future__ import annotations

from sqlite_utils import Database as SqliteDatabase


def m013_diagnoses_and_fixes(db: SqliteDatabase) -> None:
    """Each diagnosis read (its short form for the digest, alerts and CSV while its streak
    lasts, and its groups for the Fix buttons, which carry only its ID); and a run's kind on
    the re-run record, so a fix's run shows as a fix, with what it changed."""
    db.table("diagnoses").create(
        {
            "id": int,
            "account_id": str,
            "region": str,
            "association_id": str,
            "read_at": str,
            "by": str,  # who asked (a Slack user, the OS account, the bot after a watch)
            "short": str,  # its short form: "missing permission s3:GetObject (4)"
            "body": str,  # JSON: the association's facts, the cause groups, the warnings
        },
        pk="id",
        not_null={"account_id", "region", "association_id", "read_at", "short", "body"},
    )
    db.table("diagnoses").create_index(["account_id", "region", "association_id", "read_at"])
    db.table("diagnoses").create_index(["read_at"])
    db.table("reruns").add_column("kind", str, not_null_default="rerun")
    db.table("reruns").add_column("detail", str)
