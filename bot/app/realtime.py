"""Real time: what a burst of queued EventBridge events does, the same for any queue adapter.

Each event is a hint, never the truth. The burst's account-regions are re-read once each,
through the sweep's own steps (bot/scheduling/runner.py `refresh_scopes`: store, alert through the ledger,
edit the digest), and only then is each message judged:

- handled: re-read as a sweep would; delete.
- contradicted: it claimed a failure the re-read does not find (State Manager's instance
  events have said Failed where the API said Success); logged once, counted, no alert; delete.
- own: a Security Hub update the bot itself made (its note's author is the bot's marker) whose
  compliance the store already knows; nothing to re-read; delete.
- ignored: a handled kind about nothing SSM.3 judges (Patch compliance, another control); delete.
- foreign: an account-region the bot does not sweep; delete.
- unusable: not JSON, no detail-type, an unknown kind, no account or region; one WARNING naming
  the SQS MessageId and why on its first receipt; left undeleted, so the queue's redrive policy
  moves it to the dead-letter queue.
- retry: its account-region could not be re-read (AWS refused, the store failed); left
  undeleted, so SQS offers it again after its visibility timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.models import AssociationKey, Scope, SweepSummary
from bot.models.hints import Claim, Classified, Hint, Ignored, Unusable
from bot.store import Store

log = logging.getLogger(__name__)

Outcome = Literal["handled", "contradicted", "own", "ignored", "foreign", "unusable", "retry"]
OUTCOMES: tuple[Outcome, ...] = (
    "handled",
    "contradicted",
    "own",
    "ignored",
    "foreign",
    "unusable",
    "retry",
)
KEEP: frozenset[Outcome] = frozenset({"unusable", "retry"})  # left on the queue


class ScopeRefresher(Protocol):
    """The sweep's steps for a few account-regions (bot/scheduling/runner.py Runner)."""

    def refresh_scopes(self, scopes: Sequence[Scope], trigger: str = "event") -> SweepSummary: ...


@dataclass(frozen=True)
class Message:
    """One received SQS message, already read (its body is not kept)."""

    message_id: str
    receipt_handle: str
    event: Classified
    receive_count: int = 1


@dataclass(frozen=True)
class Verdict:
    message_id: str
    receipt_handle: str
    outcome: Outcome
    reason: str | None = None

    @property
    def delete(self) -> bool:
        return self.outcome not in KEEP


def handle_burst(
    messages: Sequence[Message],
    *,
    store: Store,
    refresher: ScopeRefresher,
    swept_scopes: Callable[[], Iterable[Scope]],
) -> list[Verdict]:
    """Judge a burst of messages, re-reading each account-region they name at most once."""
    verdicts: dict[str, Verdict] = {}
    pending: list[tuple[Message, Hint, tuple[Claim, ...]]] = []
    usable = [m for m in messages if not isinstance(m.event, Unusable)]
    try:
        watched = set(swept_scopes()) if usable else set()
    except Exception as exc:  # the organisation's account list could not be read
        log.warning("cannot tell which account-regions are swept, events wait: %s", exc)
        watched = None
    for message in messages:
        event = message.event
        if isinstance(event, Unusable):
            _unusable(message, event)
            verdicts[message.receipt_handle] = _verdict(message, "unusable", event.reason)
        elif watched is None:
            verdicts[message.receipt_handle] = _verdict(message, "retry", "swept scopes unknown")
        elif isinstance(event, Ignored):
            verdicts[message.receipt_handle] = _verdict(message, "ignored", event.reason)
        else:
            claims = tuple(c for c in event.claims if c.scope in watched)
            if not claims:
                where = ", ".join(str(s) for s in event.scopes)
                verdicts[message.receipt_handle] = _verdict(
                    message, "foreign", f"not swept: {where}"
                )
            elif all(_own_update(store, c) for c in claims):
                verdicts[message.receipt_handle] = _verdict(message, "own")
            else:
                pending.append((message, event, claims))
    if pending:
        for verdict in _reread(pending, store, refresher):
            verdicts[verdict.receipt_handle] = verdict
    return [verdicts[m.receipt_handle] for m in messages]


def _reread(
    pending: list[tuple[Message, Hint, tuple[Claim, ...]]],
    store: Store,
    refresher: ScopeRefresher,
) -> list[Verdict]:
    scopes = list(dict.fromkeys(c.scope for _, _, claims in pending for c in claims))
    try:
        summary = refresher.refresh_scopes(scopes, trigger="event")
    except Exception as exc:  # a store or publishing fault: the messages come round again
        log.error("re-reading %d account-region(s) for events failed: %s", len(scopes), exc)
        log.debug("re-reading failed", exc_info=exc)
        return [_verdict(m, "retry", str(exc)) for m, _, _ in pending]
    unread = {s.scope: s.error for s in store.sweeps.sweep_scopes(summary.sweep_id) if not s.ok}
    verdicts = []
    for message, hint, claims in pending:
        failed = [c.scope for c in claims if c.scope in unread]
        if failed:
            reason = f"{failed[0]} could not be read: {unread[failed[0]]}"
            verdicts.append(_verdict(message, "retry", reason))
            continue
        claimed = [c for c in claims if c.failing]
        if claimed and not any(_confirmed(store, c) for c in claimed):
            log.info(
                "event %s (%s) claimed a failure in %s that the API does not show; no alert",
                message.message_id,
                hint.kind,
                claimed[0].scope,
            )
            verdicts.append(_verdict(message, "contradicted"))
        else:
            verdicts.append(_verdict(message, "handled"))
    return verdicts


def _own_update(store: Store, claim: Claim) -> bool:
    """The bot's own Security Hub update, about compliance the store already knows."""
    if not claim.by_bot or claim.instance_id is None:
        return False
    known = any(
        scope == claim.scope
        for scope, _ in store.associations.instance_compliance(claim.instance_id)
    )
    return known == (claim.compliance == "FAILED")


def _confirmed(store: Store, claim: Claim) -> bool:
    """Does the store, just re-read, show the failure the claim names?"""
    if claim.association_id is not None:
        key = AssociationKey(claim.scope.account_id, claim.scope.region, claim.association_id)
        found = store.associations.tracked(keys=[key])
        return any(t.association.failing for t in found)
    if claim.instance_id is not None:
        return any(
            scope == claim.scope
            for scope, _ in store.associations.instance_compliance(claim.instance_id)
        )
    return True  # nothing to check it against: the re-read speaks for itself


def _unusable(message: Message, event: Unusable) -> None:
    """One WARNING a message, on its first receipt (later receipts, until the dead-letter
    queue takes it, are DEBUG)."""
    level = logging.WARNING if message.receive_count <= 1 else logging.DEBUG
    log.log(
        level,
        "event message %s is unusable (%s); left for the dead-letter queue",
        message.message_id,
        event.reason,
    )


def _verdict(message: Message, outcome: Outcome, reason: str | None = None) -> Verdict:
    return Verdict(message.message_id, message.receipt_handle, outcome, reason)
