"""The workspace rule, asked before every state change and every read of the details: only
people of the workspace the app is installed in count.

Slack delivers requests from everyone who can reach the app: people of other organisations in
a Slack Connect channel, and guests (multi- and single-channel: `is_restricted`,
`is_ultra_restricted`). Neither may change state; another workspace's people may not read the
details either (guests may, unless SSM3_VIEWERS leaves them out). Two sources agree or the
request is refused: every team ID the request names (the payload's team, the user's team), and
the user's own record (users.info: home team, guest flags, deactivated). Either unreadable
refuses too (fail closed), with a line that says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from bot.app.permissions import Decision, Permissions, Unreadable


@dataclass(frozen=True)
class Member:
    """A Slack user's record, as far as the rule needs it."""

    user: str
    team: str | None  # the user's home workspace
    teams: tuple[str, ...] = ()  # Enterprise Grid: the workspaces the user belongs to
    guest: bool = False  # is_restricted or is_ultra_restricted
    deleted: bool = False


class Directory(Protocol):
    """Who the workspace is and who its people are (Slack: auth.test and users.info)."""

    def workspace(self) -> str | Unreadable: ...
    def member(self, user: str) -> Member | Unreadable: ...


@dataclass(frozen=True)
class Requester:
    """Who asked, as the request says: the user and every team ID it names for them."""

    user: str
    teams: tuple[str, ...] = ()


def admit(requester: Requester, directory: Directory, *, guests: bool) -> Decision:
    """Whether the requester is one of the workspace's own people (and, unless `guests`, not a
    guest)."""
    refused = next(_refusals(requester, directory, guests=guests), None)
    return Decision(True) if refused is None else Decision(False, refused)


def _refusals(requester: Requester, directory: Directory, *, guests: bool) -> Iterator[str]:
    home = directory.workspace()
    if isinstance(home, Unreadable):
        yield (
            f"I could not check which workspace I belong to ({home.problem}), so I refused. "
            "Try again shortly."
        )
        return
    if any(team != home for team in requester.teams if team):
        yield OTHER_WORKSPACE
        return
    member = directory.member(requester.user)
    if isinstance(member, Unreadable):
        yield (
            f"I could not check your Slack account ({member.problem}), so I refused. Try again "
            "shortly; if it persists, an admin should check the bot's users:read scope."
        )
    elif member.team != home and home not in member.teams:
        yield OTHER_WORKSPACE
    elif member.deleted:
        yield "This Slack account is deactivated."
    elif member.guest and not guests:
        yield "Guests may read but not change anything here: ask a member of the workspace."


OTHER_WORKSPACE = (
    "ssm3-bot answers only its own workspace's people for this; you are in another one "
    "(Slack Connect), so I refused."
)


class WorkspaceGate:
    """Permissions for one request: the workspace rule first (guests may read, not change),
    then `inner`'s (SSM3_OPERATORS, SSM3_VIEWERS)."""

    def __init__(self, inner: Permissions, requester: Requester, directory: Directory) -> None:
        self.inner = inner
        self.requester = requester
        self.directory = directory

    def may_rerun(self, actor: str) -> Decision:
        return self._checked(actor, lambda: self.inner.may_rerun(actor))

    def may_acknowledge(self, actor: str) -> Decision:
        return self._checked(actor, lambda: self.inner.may_acknowledge(actor))

    def may_sweep(self, actor: str) -> Decision:
        return self._checked(actor, lambda: self.inner.may_sweep(actor))

    def may_view(self, actor: str) -> Decision:
        return self._checked(actor, lambda: self.inner.may_view(actor), guests=True)

    def _checked(
        self, actor: str, inner: Callable[[], Decision], *, guests: bool = False
    ) -> Decision:
        """The workspace rule, then (only if it admits) the inner rule: no user-group look-up
        for someone of another workspace."""
        if actor != self.requester.user:  # the use case asks about the one who asked
            return Decision(False, "This request's user is not the one asking.")
        admitted = admit(self.requester, self.directory, guests=guests)
        return inner() if admitted.allowed else admitted


def teams_named(*teams: object) -> tuple[str, ...]:
    """The team IDs a request names (strings only; duplicates and blanks dropped)."""
    return tuple(dict.fromkeys(t for t in teams if isinstance(t, str) and t))
