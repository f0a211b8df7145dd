"""Who may change state from Slack (SSM3_OPERATORS): user IDs, and user groups resolved through
usergroups.users.list with a short cache.

The rule (the contract, plus a decision for the manual sweep):
- with operators set, only they may re-run, acknowledge, reopen (unack) and start a sweep;
- with none set, nobody may re-run (the refusal says how to enable it), while acknowledging,
  reopening and sweeping are open to everyone: they change what the digest shows, never AWS.

A group whose members cannot be read (usergroups:read missing, Slack down) grants nothing, and
the refusal says so: failing closed must not look like a plain "you are not an operator".
Failed look-ups are not cached, so the next click asks Slack again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app.permissions import Decision

log = logging.getLogger(__name__)

GROUP_TTL_S = 60.0


@dataclass(frozen=True)
class _Unreadable:
    """Why a user group's members could not be read."""

    group: str
    problem: str


class Operators:
    """Answers "may this user do X?"; safe to share between listener threads."""

    def __init__(
        self,
        ids: Sequence[str],
        client: WebClient,
        *,
        ttl_s: float = GROUP_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = frozenset(i for i in ids if i[:1] in {"U", "W"})
        self.groups = tuple(i for i in ids if i[:1] == "S")
        self._client = client
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._members: dict[str, tuple[float, frozenset[str]]] = {}

    @property
    def configured(self) -> bool:
        return bool(self.users or self.groups)

    def may_rerun(self, user_id: str) -> Decision:
        if not self.configured:
            return Decision(
                False,
                "Re-running is turned off because no operators are configured. To enable it, set "
                "SSM3_OPERATORS to a comma list of Slack user IDs (U…) or user-group IDs (S…) "
                "and restart ssm3-bot.",
            )
        return self._operator_only(user_id, "re-run associations")

    def may_acknowledge(self, user_id: str) -> Decision:
        """Acknowledging and reopening (unack)."""
        if not self.configured:
            return Decision(True)
        return self._operator_only(user_id, "acknowledge or reopen associations")

    def may_sweep(self, user_id: str) -> Decision:
        if not self.configured:
            return Decision(True)
        return self._operator_only(user_id, "start a sweep")

    def _operator_only(self, user_id: str, what: str) -> Decision:
        if user_id in self.users:
            return Decision(True)
        unreadable: list[_Unreadable] = []
        for group in self.groups:
            members = self._group_members(group)
            if isinstance(members, _Unreadable):
                unreadable.append(members)
            elif user_id in members:
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

    def _group_members(self, group: str) -> frozenset[str] | _Unreadable:
        now = self._monotonic()
        with self._lock:
            cached = self._members.get(group)
            if cached and now - cached[0] < self._ttl_s:
                return cached[1]
        try:
            reply = self._client.usergroups_users_list(usergroup=group)
        except SlackApiError as exc:
            problem = f"Slack answered {exc.response.get('error') or 'an error'}"
            log.error("cannot read members of user group %s: %s", group, problem)
            return _Unreadable(group, problem)
        except (SlackClientError, OSError) as exc:
            log.error("cannot read members of user group %s: %s", group, exc)
            return _Unreadable(group, "Slack could not be reached")
        members = frozenset(str(u) for u in reply.get("users") or [])
        with self._lock:
            self._members[group] = (now, members)
        return members
