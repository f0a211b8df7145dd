"""Moved: the ledger is bot/store/ledger.py (`store.ledger`), its records are in bot/models.py.

Kept only while bot/slack/blocks.py (being split into a package elsewhere) still imports
SnapshotItem from here; delete this module once nothing does.
"""

from bot.models import DigestRun, SnapshotItem

__all__ = ["DigestRun", "SnapshotItem"]
