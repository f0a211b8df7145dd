"""The workspace rule (bot/app/membership.py) on its own, with a fake directory: only the
installed workspace's people count, guests change nothing (but may read), and anything that
cannot be read refuses; the operators' rule is asked only once the workspace rule admits."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bot.app.membership import Member, Requester, WorkspaceGate, admit, teams_named
from bot.app.permissions import Decision, OperatorPolicy, Unreadable

HOME, OTHER = "T0HOME0001", "T0OTHER001"


@dataclass
class FakeDirectory:
    members: dict[str, Member | Unreadable] = field(default_factory=dict)
    workspace_answer: str | Unreadable = HOME
    asked: list[str] = field(default_factory=list)

    def workspace(self) -> str | Unreadable:
        return self.workspace_answer

    def member(self, user: str) -> Member | Unreadable:
        self.asked.append(user)
        return self.members.get(user, Member(user, team=HOME))


class CountingGroups:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def members(self, group: str) -> frozenset[str] | Unreadable:
        self.asked.append(group)
        return frozenset({"U0INGROUP1"})


@pytest.mark.parametrize(
    ("requester", "member", "guests", "allowed", "says"),
    [
        (Requester("U1", (HOME,)), Member("U1", HOME), False, True, ""),
        (Requester("U1", (HOME, OTHER)), Member("U1", HOME), False, False, "another one"),
        (Requester("U1", (HOME,)), Member("U1", OTHER), False, False, "another one"),
        (Requester("U1"), Member("U1", None), False, False, "another one"),  # not found
        (Requester("U1"), Member("U1", "E0GRID0001", teams=(HOME,)), False, True, ""),
        (Requester("U1"), Member("U1", HOME, guest=True), False, False, "Guests may read"),
        (Requester("U1"), Member("U1", HOME, guest=True), True, True, ""),
        (Requester("U1"), Member("U1", HOME, deleted=True), True, False, "deactivated"),
        (Requester("U1"), Unreadable("users.info", "Slack answered ratelimited"), False, False,
         "could not check your Slack account (Slack answered ratelimited)"),
    ],
)  # fmt: skip
def test_who_counts(
    requester: Requester, member: Member | Unreadable, guests: bool, allowed: bool, says: str
) -> None:
    decision = admit(requester, FakeDirectory({"U1": member}), guests=guests)
    assert decision.allowed is allowed
    assert says in decision.reason


def test_an_unknown_workspace_refuses_before_anyone_is_looked_up() -> None:
    directory = FakeDirectory(
        workspace_answer=Unreadable("auth.test", "Slack could not be reached")
    )
    decision = admit(Requester("U1", (HOME,)), directory, guests=True)
    assert not decision.allowed
    assert "which workspace I belong to" in decision.reason
    assert directory.asked == []


def test_the_gate_asks_the_operators_rule_only_for_the_workspaces_own_people() -> None:
    groups = CountingGroups()
    policy = OperatorPolicy(["S0OPSGROUP"], groups)
    stranger = FakeDirectory({"U0INGROUP1": Member("U0INGROUP1", OTHER)})
    gate = WorkspaceGate(policy, Requester("U0INGROUP1"), stranger)
    assert not gate.may_rerun("U0INGROUP1").allowed
    assert groups.asked == []  # refused before any user-group look-up
    ours = WorkspaceGate(policy, Requester("U0INGROUP1", (HOME,)), FakeDirectory())
    assert ours.may_rerun("U0INGROUP1") == Decision(True)
    assert groups.asked == ["S0OPSGROUP"]
    assert not ours.may_rerun("U0SOMEONE2").allowed  # not the one who asked


def test_teams_named_keeps_the_strings_once() -> None:
    assert teams_named(HOME, None, HOME, 5, "", OTHER) == (HOME, OTHER)
