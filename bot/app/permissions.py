"""Who may change state, as the use cases ask it: a Decision per action. Each surface brings
its own answer (Slack: SSM3_OPERATORS with user groups; the CLI: whoever can run it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""  # for refusals: what the person reads, and what the audit log keeps


class Permissions(Protocol):
    def may_rerun(self, actor: str) -> Decision: ...
    def may_acknowledge(self, actor: str) -> Decision: ...
    def may_sweep(self, actor: str) -> Decision: ...
    def may_fix(self, actor: str) -> Decision: ...


class LocalOperator:
    """The person at the terminal: whoever can run `ssm3bot` with the bot's database and AWS
    credentials can already change both, so the CLI grants what it is asked (and audits it)."""

    def may_rerun(self, actor: str) -> Decision:
        return Decision(True)

    def may_acknowledge(self, actor: str) -> Decision:
        return Decision(True)

    def may_sweep(self, actor: str) -> Decision:
        return Decision(True)

    def may_fix(self, actor: str) -> Decision:
        return Decision(True)


@dataclass(frozen=True)
class Unreadable:
    """Why a user group's members could not be read (it then grants nothing: fail closed)."""

    group: str
    problem: str


class GroupMembers(Protocol):
    """Who is in a user group (Slack: usergroups.users.list)."""

    def members(self, group: str) -> frozenset[str] | Unreadable: ...


class OperatorPolicy:
    """The rule (the contract, plus a decision for the manual sweep):
    - with operators set (SSM3_OPERATORS: users U…/W… and user groups S…), only they may
      re-run, apply a diagnosis's fix, acknowledge, reopen (unack) and start a sweep;
    - with none set, nobody may re-run or apply a fix (the refusal says how to enable it), while
      acknowledging, reopening and sweeping are open to everyone: they change what the digest
      shows, never AWS.
    A group whose members cannot be read grants nothing, and the refusal says so: failing
    closed must not look like a plain "you are not an operator"."""

    def __init__(self, ids: Sequence[str], groups: GroupMembers) -> None:
        self.users = frozenset(i for i in ids if i[:1] in {"U", "W"})
        self.groups = tuple(i for i in ids if i[:1] == "S")
        self.members = groups  # who is in a user group (Slack reads and caches them)

    @property
    def configured(self) -> bool:
        return bool(self.users or self.groups)

    def may_rerun(self, actor: str) -> Decision:
        if not self.configured:
            return Decision(
                False,
                "Re-running is turned off because no operators are configured. To enable it, set "
                "SSM3_OPERATORS to a comma list of Slack user IDs (U…) or user-group IDs (S…) "
                "and restart ssm3-bot.",
            )
        return self._operator_only(actor, "re-run associations")

    def may_fix(self, actor: str) -> Decision:
        """Applying a diagnosis's fix (it changes AWS, like a re-run)."""
        if not self.configured:
            return Decision(
                False,
                "Applying fixes is turned off because no operators are configured. To enable it, "
                "set SSM3_OPERATORS to a comma list of Slack user IDs (U…) or user-group IDs (S…) "
                "and restart ssm3-bot.",
            )
        return self._operator_only(actor, "apply fixes")

    def may_acknowledge(self, actor: str) -> Decision:
        """Acknowledging and reopening (unack)."""
        if not self.configured:
            return Decision(True)
        return self._operator_only(actor, "acknowledge or reopen associations")

    def may_sweep(self, actor: str) -> Decision:
        if not self.configured:
            return Decision(True)
        return self._operator_only(actor, "start a sweep")

    def _operator_only(self, actor: str, what: str) -> Decision:
        if actor in self.users:
            return Decision(True)
        unreadable: list[Unreadable] = []
        for group in self.groups:
            members = self.members.members(group)
            if isinstance(members, Unreadable):
                unreadable.append(members)
            elif actor in members:
                return Decision(True)
        if unreadable:
            groups = ", ".join(u.group for u in unreadable)
            return Decision(
                False,
                f"Only operators may {what}, and I could not check whether you are in user "
                f"group {groups} ({unreadable[0].problem}), so I refused. Try again shortly; "
                "if it persists, an admin should check the bot's usergroups:read scope.",
            )
        return Decision(
            False,
            f"Only operators may {what}. Ask one of them, or an admin to add you to SSM3_OPERATORS.",
        )
