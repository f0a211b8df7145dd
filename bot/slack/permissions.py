"""Who may change state from Slack (SSM3_OPERATORS): user IDs, and user groups resolved through
usergroups.users.list with a short cache.

With operators set, only they may re-run, acknowledge and unacknowledge. With none set,
nobody may re-run and acknowledging is open to all (the contract's default).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

GROUP_TTL_S = 60.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""  # for refusals: what the user reads, and what the audit log keeps


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

    def is_operator(self, user_id: str) -> bool:
        if user_id in self.users:
            return True
        return any(user_id in self._group_members(group) for group in self.groups)

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
        if not self.configured:
            return Decision(True)
        return self._operator_only(user_id, "acknowledge or reopen associations")

    def _operator_only(self, user_id: str, what: str) -> Decision:
        if self.is_operator(user_id):
            return Decision(True)
        return Decision(
            False,
            f"Only operators may {what}. Ask one of them, or an admin to add you to SSM3_OPERATORS.",
        )

    def _group_members(self, group: str) -> frozenset[str]:
        now = self._monotonic()
        with self._lock:
            cached = self._members.get(group)
            if cached and now - cached[0] < self._ttl_s:
                return cached[1]
        try:
            reply = self._client.usergroups_users_list(usergroup=group)
            members = frozenset(str(u) for u in reply.get("users") or [])
        except (SlackApiError, SlackClientError) as exc:
            # Fail closed: an unreadable group grants nothing (commonly: usergroups:read missing).
            log.warning("cannot read members of user group %s: %s", group, exc)
            members = frozenset()
        with self._lock:
            self._members[group] = (now, members)
        return members
