"""A second connection to a store's file, as another process or an auditor would open it.

`Store` offers no SQL to anyone; tests that check the file itself (its schema, its triggers,
numbers no repository reports) open the database core on the same path instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.store import Database, Store


@contextmanager
def raw_database(store: Store) -> Iterator[Database]:
    db = Database(store.path)
    try:
        yield db
    finally:
        db.close()
