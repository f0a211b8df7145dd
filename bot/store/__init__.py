"""SQLite persistence, split by concern: small repositories over one database core.

`Store(path)` opens the database (bot/store/db.py: the connection, its write lock and the
migrations) and holds one repository per concern; callers go through those, never through SQL:

    store.sweeps        sweeps, scopes' latest outcome, Security Hub's cross-check
    store.associations  associations, failed targets, status history, SSM.3 compliance
    store.acks          acknowledgements
    store.audit         the append-only audit log
    store.reruns        re-runs and fixes started from Slack, and their confirmed outcomes
    store.diagnoses     diagnoses asked for: their short form and their fixes' data
    store.digests       digest messages, one per (slot, channel): claims, where they went
    store.ledger        alerts and leases (claims across processes)
    store.jobs          work due later (re-run follow-ups, sweeps to complete), claimed once
    store.cache         small answers kept for a while
    store.home_viewers  who opened the Home tab lately
    store.findings      the Security Hub sync's record of SSM.3 findings (SSM3_SECURITYHUB=sync)
    store.findings_v2   ... of the new Security Hub's SSM.3 findings (its own store)
    store.account_names account names from Organizations
    store.streaks       every failing streak: start, end, kind, how it ended (the report's)
    store.evidence      reads and daily figures for the report, their summaries, pruning
    store.report_posts  scheduled evidence reports, one per period and channel: claims

Four rules of bot/core/streaks.py are applied inside the writes and reads that need them,
so no caller can store a state that breaks them: a streak's start (`failing_since`, rows.py),
a resolution ending the acknowledgement (associations.save_scope), which streaks may alert
(associations.alertable_failures), and the re-run cooldown (reruns.claim, atomically).
"""

from __future__ import annotations

from pathlib import Path

from bot.store.account_names import AccountNames
from bot.store.acks import Acks
from bot.store.associations import Associations
from bot.store.audit import AuditLog
from bot.store.cache import Cache
from bot.store.db import Database, migrations
from bot.store.diagnoses import Diagnoses
from bot.store.digests import Digests
from bot.store.evidence import Evidence
from bot.store.failure_streaks import FailureStreaks
from bot.store.findings import FindingRecords
from bot.store.home import HomeViewers
from bot.store.jobs import Jobs
from bot.store.ledger import Ledger
from bot.store.report_posts import ReportPosts
from bot.store.reruns import Reruns
from bot.store.sweeps import Sweeps

__all__ = ["Database", "Ledger", "Store", "migrations"]


class Store:
    """The one way the app reads and writes its SQLite database."""

    def __init__(self, path: str | Path) -> None:
        self._db = Database(path)
        self.path = self._db.path
        self.acks = Acks(self._db)
        self.streaks = FailureStreaks(self._db)
        self.sweeps = Sweeps(self._db, self.acks, self.streaks)
        self.associations = Associations(self._db, self.acks, self.streaks)
        self.audit = AuditLog(self._db)
        self.reruns = Reruns(self._db)
        self.diagnoses = Diagnoses(self._db)
        self.ledger = Ledger(self._db)
        self.digests = Digests(self._db, self.ledger.holder)
        self.cache = Cache(self._db)
        self.home_viewers = HomeViewers(self._db)
        self.jobs = Jobs(self._db)
        self.findings = FindingRecords(self._db)
        self.findings_v2 = FindingRecords(self._db, "finding_sync_v2")
        self.account_names = AccountNames(self._db)
        self.evidence = Evidence(self._db)
        self.report_posts = ReportPosts(self._db, self.ledger.holder)

    def close(self) -> None:
        self._db.close()

    @property
    def schema_version(self) -> int:
        return self._db.schema_version

    def ping(self, timeout_s: float = 2.0) -> bool:
        """Whether the database answers within `timeout_s` (for /healthz)."""
        return self._db.ping(timeout_s)

    def integrity_check(self) -> str:
        return self._db.integrity_check()
