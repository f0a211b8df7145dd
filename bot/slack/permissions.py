"""Who may do what from Slack: the workspace rule (bot/app/membership.py) in front of
bot/app/permissions.py's OperatorPolicy (SSM3_OPERATORS, SSM3_VIEWERS), as `SlackPermissions`,
which every Slack use case is built with once. The request being served (`serving`, entered by
the flows' Guard around each request's work) brings its team IDs; the user's own record comes
from Slack (bot/slack/members.py). User groups' members are read through usergroups.users.list
with a short cache; failed look-ups are not cached, so the next click asks Slack again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app.membership import Directory, Requester, WorkspaceGate
from bot.app.permissions import Decision, OperatorPolicy, Unreadable

log = logging.getLogger(__name__)

GROUP_TTL_S = 60.0


class SlackGroupMembers:
    """User-group members from Slack, cached for `ttl_s`; safe to share between threads."""

    def __init__(
        self,
        client: WebClient,
        *,
        ttl_s: float = GROUP_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    def members(self, group: str) -> frozenset[str] | Unreadable:
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(group)
            if cached and now - cached[0] < self._ttl_s:
                return cached[1]
        try:
            reply = self._client.usergroups_users_list(usergroup=group)
        except SlackApiError as exc:
            problem = f"Slack answered {exc.response.get('error') or 'an error'}"
            log.error("cannot read members of user group %s: %s", group, problem)
            return Unreadable(group, problem)
        except (SlackClientError, OSError) as exc:
            log.error("cannot read members of user group %s: %s", group, exc)
            return Unreadable(group, "Slack could not be reached")
        members = frozenset(str(u) for u in reply.get("users") or [])
        with self._lock:
            self._cache[group] = (now, members)
        return members


class Operators(OperatorPolicy):
    """SSM3_OPERATORS (and SSM3_VIEWERS) with user groups read from Slack."""

    def __init__(
        self,
        ids: Sequence[str],
        client: WebClient,
        *,
        viewers: Sequence[str] = (),
        sync: bool = False,
        ttl_s: float = GROUP_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            ids,
            SlackGroupMembers(client, ttl_s=ttl_s, monotonic=monotonic),
            viewers=viewers,
            sync=sync,
        )


_SERVING: ContextVar[Requester | None] = ContextVar("ssm3_serving", default=None)


@contextmanager
def serving(requester: Requester) -> Iterator[None]:
    """While one request's work runs: who asked, and the team IDs their request named."""
    token = _SERVING.set(requester)
    try:
        yield
    finally:
        _SERVING.reset(token)


class SlackPermissions:
    """The permissions of every Slack use case: the workspace rule first — the team IDs of the
    request being served (when it is this actor's) and the user's own record (users.info) —
    then the operators' and viewers' rules."""

    def __init__(self, operators: OperatorPolicy, directory: Directory) -> None:
        self.operators = operators
        self.directory = directory

    def _gate(self, actor: str) -> WorkspaceGate:
        requester = _SERVING.get()
        if requester is None or requester.user != actor:
            requester = Requester(actor)  # no request of theirs: their own record decides
        return WorkspaceGate(self.operators, requester, self.directory)

    def may_rerun(self, actor: str) -> Decision:
        return self._gate(actor).may_rerun(actor)

    def may_acknowledge(self, actor: str) -> Decision:
        return self._gate(actor).may_acknowledge(actor)

    def may_sweep(self, actor: str) -> Decision:
        return self._gate(actor).may_sweep(actor)

    def may_view(self, actor: str) -> Decision:
        return self._gate(actor).may_view(actor)
