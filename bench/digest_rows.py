"""How many failing rows one digest message shows before "…and N more", within Slack's limits.

    python bench/digest_rows.py [--failing 20 200 2000]

For each size: one stored account-region of that many failing associations (each failing on
2 instances with the agent's error text: tests/fakes/estate.py), rendered as the Slack digest
with and without an account name from Organizations; prints the rows shown, the blocks, the
characters of block text (what Slack's msg_blocks_too_long counts) and whether the fake Slack
API (tests/fakes/block_kit.py: 50 blocks, 12,000 characters) accepts the message.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app.digests import build_digest
from bot.core.digest import DigestView
from bot.slack import blocks as kit
from bot.store import Store
from tests.fakes.block_kit import check_message
from tests.fakes.estate import store_estate

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def measure(failing: int, named: bool) -> tuple[int, int, int, str]:
    with tempfile.TemporaryDirectory(prefix="ssm3-rows-") as scratch:
        store = Store(Path(scratch) / "rows.db")
        try:
            store_estate(store, failing=failing, now=NOW)
            if named:
                store.account_names.remember({"111111111111": "payments-prod"}, now=NOW)
            message = kit.digest_message(DigestView(build_digest(store, NOW)))
        finally:
            store.close()
    blocks = message.blocks_json()
    error, _ = check_message(message.text, blocks)
    chars = sum(kit.text_chars(b) for b in blocks)
    return failing - message.hidden, len(blocks), chars, error or "accepted"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failing", type=int, nargs="+", default=[20, 200, 2000])
    args = parser.parse_args()
    print(
        f"{'failing':>8} {'account name':>13} {'rows':>5} {'blocks':>7} {'text chars':>11}  fake API"
    )
    ok = True
    for failing in args.failing:
        for named in (False, True):
            rows, blocks, chars, verdict = measure(failing, named)
            ok = ok and verdict == "accepted"
            print(
                f"{failing:>8} {'yes' if named else 'no':>13} {rows:>5} {blocks:>7} {chars:>11}"
                f"  {verdict}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
