"""Real time's use case on an in-memory store with a fake refresher: a burst of events re-reads
each account-region once, and each message is judged by what the re-read shows."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app.realtime import Message, handle_burst
from bot.models import Scope, SweepSummary
from bot.models.hints import Claim, Hint, Ignored, Unusable
from bot.store import Store
from tests.fakes.estate import association_id, store_estate
from tests.support.ports import FakeRefresher

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SCOPE = Scope("111111111111", "eu-west-1")
ELSEWHERE = Scope("999999999999", "eu-west-1")


def message(n: int, event: Hint | Ignored | Unusable) -> Message:
    return Message(f"m{n}", f"r{n}", event)


def burst(store: Store, messages: list[Message], refresher: FakeRefresher) -> dict[str, str]:
    verdicts = handle_burst(
        messages, store=store, refresher=refresher, swept_scopes=lambda: [SCOPE]
    )
    return {v.message_id: v.outcome for v in verdicts}


def estate() -> tuple[Store, FakeRefresher]:
    store = Store(":memory:")
    store_estate(store, failing=1, healthy=1, now=NOW)
    last = store.sweeps.last()
    assert last is not None
    return store, FakeRefresher(SweepSummary(last.sweep_id, NOW, NOW, scopes=1))


def test_a_burst_re_reads_each_account_region_once_and_checks_each_claim() -> None:
    store, refresher = estate()
    failing = Claim(SCOPE, association_id=association_id(0), failing=True)
    healthy = Claim(SCOPE, association_id=association_id(1), failing=True)
    outcomes = burst(
        store,
        [
            message(1, Hint("association", (failing,))),
            message(2, Hint("instance_association", (healthy,))),
            message(3, Hint("compliance", (Claim(ELSEWHERE),))),
            message(4, Ignored("compliance", "Patch compliance", (SCOPE,))),
            message(5, Unusable("not JSON")),
        ],
        refresher,
    )
    assert refresher.refreshed == [[SCOPE]]
    assert outcomes == {
        "m1": "handled",
        "m2": "contradicted",  # the API does not show the failure it claimed
        "m3": "foreign",
        "m4": "ignored",
        "m5": "unusable",  # left for the dead-letter queue
    }


def test_a_re_read_that_fails_leaves_the_messages_for_another_try() -> None:
    store, _ = estate()
    refresher = FakeRefresher(SweepSummary("none", NOW, NOW), failing=[SCOPE])
    outcomes = burst(store, [message(1, Hint("association", (Claim(SCOPE),)))], refresher)
    assert outcomes == {"m1": "retry"}
