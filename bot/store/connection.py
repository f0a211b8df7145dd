"""One SQLite connection shared by a process's threads, its write lock, and the schema brought
up to date on open (the migrations live in bot/store/db.py).

One connection guarded by a lock serves every thread of a process; WAL and a busy timeout let
a second process on the same host (the CLI next to `serve`) share the file. Writes that must
not interleave run in `BEGIN IMMEDIATE` transactions (`Connection.write`).

The file holds the audit log, acknowledgement reasons and live response_urls: it is created
readable by its owner only (0600, whatever the umask), and SQLite gives its `-wal` and `-shm`
files the database file's own mode. A file an older version left group- or world-readable is
narrowed on open.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database as SqliteDatabase
from sqlite_utils.migrations import Migrations

BUSY_TIMEOUT_S = 30.0
OWNER_ONLY = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")

log = logging.getLogger(__name__)


class Connection:
    """The connection, the lock that serialises its use, and the schema kept up to date."""

    def __init__(self, path: str | Path, migrations: Migrations) -> None:
        self.path = str(path)
        self.migrations = migrations
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            created_owner_only(Path(self.path))
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
                self.migrations.apply(self.sqlite)
        if self.path != ":memory:":
            narrowed(Path(self.path))  # a database indeed: make an older one its owner's

    def close(self) -> None:
        with self.lock:
            self.sqlite.close()

    @property
    def schema_version(self) -> int:
        return len(self.migrations.applied(self.sqlite))

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

    def ping(self, timeout_s: float = 2.0) -> bool:
        """Does the database answer within `timeout_s`? (A write holding the lock that long,
        or a file that cannot be read, is a process that cannot do its job.)"""
        if not self.lock.acquire(timeout=timeout_s):
            return False
        try:
            self.sqlite.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error:
            return False
        finally:
            self.lock.release()
        return True

    def integrity_check(self) -> str:
        return str(self.rows("PRAGMA integrity_check")[0]["integrity_check"])


def created_owner_only(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it (SQLite would create it with the
    umask's mode, 0644 by default; its -wal and -shm copy the database's)."""
    # An existing database (or something else there: sqlite3 says what is wrong) is kept.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY))


def narrowed(path: Path) -> None:
    """Narrow a database (and its side files) that an older version left readable by others,
    when this process owns it."""
    for name in (str(path), *(f"{path}{suffix}" for suffix in SIDE_FILES)):
        try:
            found = os.stat(name)
        except FileNotFoundError:
            continue
        if found.st_mode & 0o077 and found.st_uid == os.getuid():
            os.chmod(name, stat.S_IMODE(found.st_mode) & 0o700)
            log.info("%s was readable by others: now only by its owner", name)
