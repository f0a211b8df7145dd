"""Who may change state, and who may read the details, as the use cases ask it: a Decision per
action. Each surface brings its own answer (Slack: SSM3_OPERATORS and SSM3_VIEWERS with user
groups, behind the workspace rule of bot/app/membership.py; the CLI: whoever can run it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.settings.config import Settings


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""  # for refusals: what the person reads, and what the audit log keeps


def require_operators_for_sync(settings: Settings) -> None:
    """`serve` and `ack`/`unack` refuse to start when SSM3_SECURITYHUB=sync has no operators to
    keep acknowledging (which then writes Security Hub) to: one ConfigError naming both."""
    from bot.settings.config import ConfigError

    if settings.securityhub == "sync" and not settings.operators:
        raise ConfigError(
            "SSM3_SECURITYHUB",
            "sync makes acknowledging operator-only (it suppresses SSM.3 findings in Security "
            "Hub), but SSM3_OPERATORS is unset: set SSM3_OPERATORS, or use "
            "SSM3_SECURITYHUB=check",
        )


class Permissions(Protocol):
    def may_rerun(self, actor: str) -> Decision: ...
    def may_acknowledge(self, actor: str) -> Decision: ...
    def may_sweep(self, actor: str) -> Decision: ...
    def may_view(self, actor: str) -> Decision: ...


class LocalOperator:
    """The person at the terminal: whoever can run `ssm3bot` with the bot's database and AWS
    credentials can already change both, so the CLI grants what it is asked (and audits it)."""

    def may_rerun(self, actor: str) -> Decision:
        return Decision(True)

    def may_acknowledge(self, actor: str) -> Decision:
        return Decision(True)

    def may_sweep(self, actor: str) -> Decision:
        return Decision(True)

    def may_view(self, actor: str) -> Decision:
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
      re-run, acknowledge, reopen (unack) and start a sweep;
    - with none set, nobody may re-run (the refusal says how to enable it), while
      acknowledging, reopening and sweeping are open to everyone — except with
      SSM3_SECURITYHUB=sync (`sync`), where acknowledging and reopening change SSM.3's
      findings in Security Hub (SUPPRESSED, NEW): then they are operator-only, and with no
      operators nobody may (`serve` and `ack` refuse to start so configured);
    - with viewers set (SSM3_VIEWERS), only they and the operators may read the details
      (history with step output and S3 links, the audit log, diagnoses, the Home tab's
      fleet); with none set, everyone may.
    A group whose members cannot be read grants nothing, and the refusal says so: failing
    closed must not look like a plain "you are not an operator"."""

    def __init__(
        self,
        ids: Sequence[str],
        groups: GroupMembers,
        *,
        viewers: Sequence[str] = (),
        sync: bool = False,
    ) -> None:
        self.users = frozenset(i for i in ids if i[:1] in {"U", "W"})
        self.groups = tuple(i for i in ids if i[:1] == "S")
        self.viewer_users = frozenset(i for i in viewers if i[:1] in {"U", "W"})
        self.viewer_groups = tuple(i for i in viewers if i[:1] == "S")
        self.sync = sync  # SSM3_SECURITYHUB=sync: an acknowledgement writes Security Hub
        self.members = groups  # who is in a user group (Slack reads and caches them)

    @property
    def configured(self) -> bool:
        return bool(self.users or self.groups)

    @property
    def viewers_configured(self) -> bool:
        return bool(self.viewer_users or self.viewer_groups)

    def may_rerun(self, actor: str) -> Decision:
        if not self.configured:
            return Decision(
                False,
                "Re-running is turned off because no operators are configured. To enable it, set "
                "SSM3_OPERATORS to a comma list of Slack user IDs (U…) or user-group IDs (S…) "
                "and restart ssm3-bot.",
            )
        return self._operator_only(actor, "re-run associations")

    def may_acknowledge(self, actor: str) -> Decision:
        """Acknowledging and reopening (unack)."""
        if self.sync and not self.configured:
            return Decision(
                False,
                "With SSM3_SECURITYHUB=sync an acknowledgement changes SSM.3's findings in "
                "Security Hub, so only operators may acknowledge, and none are configured "
                "(SSM3_OPERATORS).",
            )
        if not self.configured:
            return Decision(True)
        return self._operator_only(actor, "acknowledge or reopen associations")

    def may_sweep(self, actor: str) -> Decision:
        if not self.configured:
            return Decision(True)
        return self._operator_only(actor, "start a sweep")

    def may_view(self, actor: str) -> Decision:
        """Reading the details: history (step output, S3 links), audit, diagnoses, the fleet."""
        if not self.viewers_configured:
            return Decision(True)
        if self._in(actor, self.viewer_users, self.viewer_groups)[0]:
            return Decision(True)
        found, unreadable = self._in(actor, self.users, self.groups)
        if found:
            return Decision(True)
        who = ", ".join((*sorted(self.viewer_users), *self.viewer_groups))
        if unreadable:
            return Decision(
                False,
                f"Only the viewers ({who}) and the operators may read this, and I could not "
                f"check user group {unreadable[0].group} ({unreadable[0].problem}); try again "
                "shortly.",
            )
        return Decision(
            False,
            f"Only the viewers ({who}) and the operators may read this here (SSM3_VIEWERS).",
        )

    def _in(
        self, actor: str, users: frozenset[str], groups: Sequence[str]
    ) -> tuple[bool, list[Unreadable]]:
        """Whether `actor` is one of `users` or in one of `groups`; the groups not read."""
        if actor in users:
            return True, []
        unreadable: list[Unreadable] = []
        for group in groups:
            members = self.members.members(group)
            if isinstance(members, Unreadable):
                unreadable.append(members)
            elif actor in members:
                return True, []
        return False, unreadable

    def _operator_only(self, actor: str, what: str) -> Decision:
        found, unreadable = self._in(actor, self.users, self.groups)
        if found:
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
