"""Who may change state from Slack: the rule is bot/app/permissions.py's OperatorPolicy; this
module reads user groups' members through usergroups.users.list with a short cache.

Failed look-ups are not cached, so the next click asks Slack again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app.permissions import OperatorPolicy, Unreadable

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
