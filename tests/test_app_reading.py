"""Reading the details (bot/app/reading.py) on an in-memory store: SSM3_VIEWERS asked first, a
refusal audited (action `read`, what was asked for) and its reason saying who may."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app.outcomes import Refusal
from bot.app.permissions import OperatorPolicy, Unreadable
from bot.app.reading import Reading
from bot.store import Store

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Groups:
    def members(self, group: str) -> frozenset[str] | Unreadable:
        return frozenset({"U0AUDITOR1"}) if group == "S0AUDITORS" else frozenset()


def reading(store: Store, viewers: tuple[str, ...]) -> Reading:
    policy = OperatorPolicy(["U0OPS00001"], Groups(), viewers=viewers)
    return Reading(store=store, permissions=policy, clock=lambda: NOW)


def test_without_viewers_everyone_reads_and_nothing_is_audited() -> None:
    store = Store(":memory:")
    assert reading(store, ()).check("U0ANYONE01", "audit log") is None
    assert store.audit.entries() == []


def test_viewers_operators_and_group_members_read_others_are_refused_and_audited() -> None:
    store = Store(":memory:")
    cases = reading(store, ("U0VIEWER01", "S0AUDITORS"))
    for who in ("U0VIEWER01", "U0AUDITOR1", "U0OPS00001"):
        assert cases.check(who, "history of 3f1c2d3e-1111-4222-8333-444455556666") is None
    refused = cases.check("U0ANYONE01", "history of 3f1c2d3e-1111-4222-8333-444455556666")
    assert isinstance(refused, Refusal)
    assert refused.decision is not None
    assert refused.decision.reason == (
        "Only the viewers (U0VIEWER01, S0AUDITORS) and the operators may read this here "
        "(SSM3_VIEWERS)."
    )
    [entry] = store.audit.entries()
    assert (entry.actor, entry.action, entry.outcome) == ("U0ANYONE01", "read", "refused")
    assert entry.detail is not None
    assert entry.detail.startswith("history of 3f1c2d3e-1111-4222-8333-444455556666: Only")
