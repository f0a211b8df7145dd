"""The fix use case on an in-memory store with fake AWS ports: permission first (nothing reaches
AWS for a non-operator), SSM3_FIXES=off refuses, only a value the document allows is sent,
with the association version the diagnosis read; a concurrent edit and AWS's refusal change
nothing and say so; an applied fix is audited with its before and after and watched; the agent
update and the runbook start on exactly the diagnosed instances (the through-Slack path and
the simulator: tests/test_slack_fixes.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app.fixes import FRESH_FOR, Applied, NotApplied, Started
from bot.app.outcomes import Refusal
from bot.app.watches import WATCH
from bot.models.fixes import FixFailed
from bot.store import Store
from tests.fakes.estate import store_estate
from tests.support.fixes import BAD, NOW, OLD_AGENT, OPERATOR, fixes_on, group
from tests.support.ports import OnlyOps


@pytest.fixture
def memory() -> Store:
    store = Store(":memory:")
    store_estate(store, failing=1, now=NOW)
    return store


def test_an_operator_sets_an_allowed_value_audited_before_and_after_and_watched(
    memory: Store,
) -> None:
    fixes, aws, kept = fixes_on(memory)
    n = group(kept, "bad_parameter")
    applied = fixes.update_parameter(OPERATOR, kept.id, n, "Install", channel="C1")
    assert isinstance(applied, Applied), applied
    assert aws.writes == [("UpdateAssociation", ("Operation", "Install", "3"))]
    assert applied.detail == "Operation: latestt → Install"
    [entry] = [e for e in memory.audit.entries() if e.action == "fix"]
    assert (entry.actor, entry.outcome, entry.detail) == (OPERATOR, "applied", applied.detail)
    [watch] = memory.jobs.pending(WATCH)
    assert watch.payload["action"] == "fix"
    assert set(BAD) <= set(watch.payload["instances"])
    rerun = memory.reruns.last(kept.diagnosis.key)
    assert rerun is not None
    assert (rerun.kind, rerun.detail) == ("fix", "Operation: latestt → Install")


def test_a_non_operator_is_refused_before_any_aws_write(memory: Store) -> None:
    fixes, aws, kept = fixes_on(memory, permissions=OnlyOps())
    n = group(kept, "bad_parameter")
    refused = fixes.update_parameter("U0EVE0001", kept.id, n, "Install")
    assert isinstance(refused, Refusal)
    assert refused.why == "permission"
    _, _, agent = fixes_on(memory, permissions=OnlyOps(), operation="Scan")
    started = fixes.start("U0EVE0001", agent.id, group(agent, "agent_outdated"))
    assert isinstance(started, Refusal)
    assert aws.writes == []
    assert memory.jobs.pending(WATCH) == []
    # Both refused and audited: the second within a minute counts on the first's row.
    [refusal] = [e for e in memory.audit.entries() if e.action == "fix"]
    assert (refusal.actor, refusal.outcome, refusal.repeats) == ("U0EVE0001", "refused", 1)


def test_fixes_off_refuses_and_a_value_the_document_refuses_is_never_sent(memory: Store) -> None:
    off, aws, kept = fixes_on(memory, enabled=False)
    n = group(kept, "bad_parameter")
    refused = off.update_parameter(OPERATOR, kept.id, n, "Install")
    assert isinstance(refused, Refusal)
    assert refused.why == "fixes_off"
    fixes, aws, kept = fixes_on(memory)
    wrong = fixes.update_parameter(OPERATOR, kept.id, n, "Reboot")
    assert isinstance(wrong, Refusal)
    assert "Reboot is not one of Scan, Install" in wrong.detail
    same = fixes.update_parameter(OPERATOR, kept.id, n, "latestt")
    assert isinstance(same, Refusal)
    assert aws.writes == []


def test_a_concurrent_edit_or_aws_refusing_changes_nothing_and_says_so(memory: Store) -> None:
    fixes, aws, kept = fixes_on(memory)
    n = group(kept, "bad_parameter")
    aws.concurrent = True
    raced = fixes.update_parameter(OPERATOR, kept.id, n, "Install")
    assert isinstance(raced, NotApplied)
    assert raced.concurrent
    assert "changed since it was diagnosed (version 3 read, version 4 now)" in raced.message
    aws.concurrent = False
    aws.refuse = FixFailed("ssm:UpdateAssociation", "AccessDenied", True, "iam/ssm3-fixes.json")
    denied = fixes.update_parameter(OPERATOR, kept.id, n, "Install")
    assert isinstance(denied, NotApplied)
    assert "attach iam/ssm3-fixes.json" in denied.message
    assert memory.jobs.pending(WATCH) == []
    outcomes = [e.outcome for e in reversed(memory.audit.entries()) if e.action == "fix"]
    assert outcomes == ["refused", "failed"]


def test_the_agent_update_runs_on_exactly_the_diagnosed_instances(memory: Store) -> None:
    fixes, aws, kept = fixes_on(memory, operation="Scan")
    started = fixes.start(OPERATOR, kept.id, group(kept, "agent_outdated"))
    assert isinstance(started, Started), started
    assert aws.writes == [("SendCommand", OLD_AGENT)]
    assert started.handles == ("cmd-9",)
    _, _, bad = fixes_on(memory)
    form_only = fixes.start(OPERATOR, bad.id, group(bad, "bad_parameter"))
    assert isinstance(form_only, Refusal), "a parameter's fix goes through its form"
    assert aws.writes == [("SendCommand", OLD_AGENT)]


def test_a_button_on_an_old_diagnosis_asks_for_a_new_one(memory: Store) -> None:
    fixes, aws, kept = fixes_on(memory, at=NOW + FRESH_FOR + timedelta(minutes=1))
    stale = fixes.update_parameter(OPERATOR, kept.id, group(kept, "bad_parameter"), "Install")
    assert isinstance(stale, Refusal)
    assert stale.why == "stale"
    missing = fixes.update_parameter(OPERATOR, kept.id + 99, 0, "Install")
    assert isinstance(missing, Refusal)
    assert aws.writes == []
