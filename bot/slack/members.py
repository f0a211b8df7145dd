"""The workspace rule's facts from Slack (bot/app/membership.py): which workspace the app is
installed in (auth.test: the bot token belongs to exactly one workspace, so nothing needs
configuring and nothing can disagree; Bolt calls it at start-up and hands its answer to every
request, which `learn_workspace` keeps, else the directory asks once itself), and each user's
record (users.info: home team, guest flags,
deactivated), cached for a few minutes. Failed look-ups are not cached: the next request asks
again, and until then the rule refuses."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from slack_bolt import BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app.membership import Member
from bot.app.permissions import Unreadable
from bot.slack.faults import token_refused

log = logging.getLogger(__name__)

MEMBER_TTL_S = 300.0  # a guest made a member (or the reverse) counts within five minutes
MEMBERS_KEPT = 5000


class SlackDirectory:
    """auth.test once, users.info per user with a short cache; safe to share between threads."""

    def __init__(
        self,
        client: WebClient,
        *,
        ttl_s: float = MEMBER_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._workspace: str | None = None
        self._members: OrderedDict[str, tuple[float, Member]] = OrderedDict()

    def learn(self, team: str) -> None:
        """The workspace, as auth.test already said it (Bolt's own call)."""
        if self._workspace is None and team:
            self._workspace = team

    def workspace(self) -> str | Unreadable:
        if self._workspace is not None:
            return self._workspace
        try:
            reply = self._client.auth_test()
        except (SlackApiError, SlackClientError, OSError) as exc:
            return _unreadable("the workspace", "auth.test", exc)
        team = reply.get("team_id")
        if not isinstance(team, str) or not team:
            return Unreadable("auth.test", "Slack did not name the workspace")
        self._workspace = team
        return team

    def member(self, user: str) -> Member | Unreadable:
        now = self._monotonic()
        with self._lock:
            cached = self._members.get(user)
            if cached and now - cached[0] < self._ttl_s:
                return cached[1]
        try:
            reply = self._client.users_info(user=user)
        except SlackApiError as exc:
            if exc.response.get("error") in ("user_not_found", "user_not_visible"):
                return Member(user, team=None)  # not someone this workspace can see
            return _unreadable(f"user {user}", "users.info", exc)
        except (SlackClientError, OSError) as exc:
            return _unreadable(f"user {user}", "users.info", exc)
        record = reply.get("user") or {}
        grid = record.get("enterprise_user") or {}
        member = Member(
            user=user,
            team=record.get("team_id") if isinstance(record.get("team_id"), str) else None,
            teams=tuple(t for t in grid.get("teams") or () if isinstance(t, str)),
            guest=bool(record.get("is_restricted") or record.get("is_ultra_restricted")),
            deleted=bool(record.get("deleted")),
        )
        with self._lock:
            self._members[user] = (now, member)
            self._members.move_to_end(user)
            while len(self._members) > MEMBERS_KEPT:
                self._members.popitem(last=False)
        return member


def learn_workspace(directory: SlackDirectory) -> Callable[..., BoltResponse]:
    """A Bolt middleware: the installed workspace from Bolt's auth.test, for `directory`."""

    def middleware(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        result = context.authorize_result
        if result is not None and result.team_id:
            directory.learn(str(result.team_id))
        return next()

    return middleware


def _unreadable(what: str, method: str, exc: Exception) -> Unreadable:
    """Why a look-up failed, for the refusal; a refused bot token is raised instead (the
    request's guard says that to the person, and the log says it once)."""
    if token_refused(exc):
        raise exc
    if isinstance(exc, SlackApiError):
        problem = f"Slack answered {exc.response.get('error') or 'an error'}"
    else:
        problem = "Slack could not be reached"
    log.error("cannot read %s (%s): %s", what, method, problem)
    return Unreadable(method, problem)
