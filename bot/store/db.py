"""The database core: the schema's numbered migrations, and `Database`, the connection
(bot/store/connection.py: one SQLite connection, its write lock, WAL) that applies them on open.

The schema evolves only through the numbered migrations below, so an old database upgrades
itself on open.

Only the repositories in bot/store/ talk SQL; everything else calls their methods.
"""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database as SqliteDatabase
from sqlite_utils.migrations import Migrations

from bot.store.connection import BUSY_TIMEOUT_S, Connection
from bot.store.fix_schema import m013_diagnoses_and_fixes
from bot.store.initial import m001_initial
from bot.store.report_schema import m012_failure_streaks, m012_report_evidence

__all__ = ["BUSY_TIMEOUT_S", "Database", "migrations"]

# The numbered migrations. sqlite-utils records each applied migration by its function NAME,
# so a name must never change (nor be reused): renaming one would re-run it on every existing
# database. That is why two of them are both called `m002_...` -- leave them so.
migrations = Migrations("ssm3")


migrations()(m001_initial)  # the first schema, in bot/store/initial.py (its name is kept)


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
def m005_findings_sync(db: SqliteDatabase) -> None:
    """SSM3_SECURITYHUB=sync: each SSM.3 finding as the sync last saw it and what the bot last
    wrote to it, and the name an acknowledgement's author was known by (for the note)."""
    db.table("finding_sync").create(
        {
            "finding_id": str,
            "product_arn": str,
            "account_id": str,
            "region": str,
            "instance_id": str,
            "seen_workflow": str,
            "seen_at": str,
            "written_workflow": str,  # NULL: the bot never wrote this finding
            "written_note": str,
            "written_at": str,
            "associations": str,  # JSON list of association IDs the written note names
            "until": str,
            "hand": str,  # how it was changed by hand in Security Hub; NULL: it was not
        },
        pk="finding_id",
    )
    db.table("finding_sync").create_index(["account_id", "region", "instance_id"])
    db.table("acks").add_column("by_name", str)


@migrations()
def m006_scheduled_jobs(db: SqliteDatabase) -> None:
    """Work due later (a re-run's follow-up check, a sweep to complete after a restart), kept
    as rows so a deploy or a crash loses none of it; claimed once across processes."""
    db.table("scheduled_jobs").create(
        {
            "id": int,
            "kind": str,
            "due_at": str,
            "payload": str,  # JSON object
            "created_at": str,
            "attempts": int,
            "claimed_by": str,
            "claimed_at": str,
            "done_at": str,
            "outcome": str,
        },
        pk="id",
        defaults={"attempts": 0},
    )
    db.table("scheduled_jobs").create_index(["done_at", "due_at"])


@migrations()
def m007_sweep_coverage(db: SqliteDatabase) -> None:
    """What a sweep read: `full` (every configured account-region; NULL on older rows means
    full), `triage` (those Security Hub or the store named) or `partial` (given account-regions,
    e.g. re-read on an event). The latest full or triage sweep is "the last sweep"."""
    db.table("sweeps").add_column("coverage", str)
    # When the read behind a scope's stored state began (microseconds): an older read that
    # finishes later (a long sweep's, overtaken by an event's re-read) must not overwrite it.
    db.table("scope_state").add_column("read_started_at", str)


@migrations()
def m008_account_names(db: SqliteDatabase) -> None:
    """Account names from Organizations (ListAccounts), shown beside account IDs."""
    db.table("account_names").create(
        {"account_id": str, "name": str, "seen_at": str}, pk="account_id"
    )


@migrations()
def m009_digest_messages(db: SqliteDatabase) -> None:
    """One record for a digest message, keyed by (slot, channel), replacing digest_runs (one
    scheduled digest a slot, one channel) and digest_posts (where messages went); and alerts
    claimed per channel, since a routed failure is told in its team's channel too."""
    db.table("digest_messages").create(
        {
            "slot": str,  # the scheduled fire time (ISO); a manual post: when it was posted
            "channel": str,
            "kind": str,  # scheduled | catch-up | manual
            "claimed_by": str,
            "claimed_at": str,
            "posted_at": str,
            "ts": str,
            "sweep_id": str,
            "snapshot": str,  # JSON: the failing associations it reported
        },
        pk=("slot", "channel"),
    )
    db.table("digest_messages").create_index(["channel", "ts"])
    db.execute(
        "INSERT OR IGNORE INTO digest_messages (slot, channel, kind, claimed_by, claimed_at, "
        "posted_at, ts, sweep_id, snapshot) SELECT r.slot, COALESCE(r.channel, ''), r.kind, "
        "r.claimed_by, r.claimed_at, r.posted_at, r.ts, p.sweep_id, r.snapshot FROM digest_runs r "
        "LEFT JOIN digest_posts p ON p.channel = r.channel AND p.ts = r.ts"
    )
    db.execute(
        "INSERT OR IGNORE INTO digest_messages (slot, channel, kind, posted_at, ts, sweep_id) "
        "SELECT p.posted_at, p.channel, 'manual', p.posted_at, p.ts, p.sweep_id FROM digest_posts p "
        "WHERE NOT EXISTS (SELECT 1 FROM digest_runs r WHERE r.channel = p.channel AND r.ts = p.ts)"
    )
    db.table("digest_runs").drop()
    db.table("digest_posts").drop()
    db.execute("UPDATE alerts SET channel = '' WHERE channel IS NULL")
    db.table("alerts").transform(
        pk=("account_id", "region", "association_id", "failing_since", "channel"),
        not_null={"channel"},
    )
    db.table("alerts").add_column("resolved_at", str)
    db.table("alerts").create_index(["channel", "ts"])


@migrations()
def m010_home_viewers(db: SqliteDatabase) -> None:
    """Who opened the Home tab lately, so a sweep can bring their tabs up to date."""
    db.table("home_viewers").create({"user_id": str, "opened_at": str}, pk="user_id")


@migrations()
def m011_security(db: SqliteDatabase) -> None:
    """The Security Hub sync's write claims (recorded before a write is sent, so ownership
    never rests on a marker anyone can set), and repeated refusals counted on the audit entry
    that stands for them (one entry a person a minute; the audit table itself stays
    append-only)."""
    db.table("finding_sync").add_column("claim", str)  # JSON: a write sent, not yet settled
    db.table("audit_repeats").create(
        {"audit_id": int, "repeats": int, "last_at": str},
        pk="audit_id",
        foreign_keys=[("audit_id", "audit", "id")],
    )
    db.table("audit").create_index(["actor", "at"])  # a person's latest refusal, sweep


# The evidence report's (failure streaks, daily summaries, report posts): bot/store/report_schema.py.
migrations()(m012_failure_streaks)
migrations()(m012_report_evidence)
# Diagnoses and fixes' runs: bot/store/fix_schema.py.
migrations()(m013_diagnoses_and_fixes)


@migrations()
def m014_both_security_hubs(db: SqliteDatabase) -> None:
    """Both Security Hubs: which hubs each cross-check found on and the new hub's own verdict
    (JSON), and the sync's record of the new hub's findings (its own workflow and comment,
    apart from CSPM's: the two stores are separate)."""
    db.table("securityhub_checks").add_column("hubs", str)  # JSON list; NULL: not asked
    db.table("securityhub_checks").add_column("v2", str)  # JSON object; NULL: off
    columns = [c.name for c in db.table("finding_sync").columns]  # every one a text column
    db.table("finding_sync_v2").create(dict.fromkeys(columns, str), pk="finding_id")
    db.table("finding_sync_v2").create_index(["account_id", "region", "instance_id"])


class Database(Connection):
    """The connection, with the schema brought up to date by the migrations above."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, migrations)
