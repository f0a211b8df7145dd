"""What follows a fix that runs for a while, as scheduled-job rows (a restart loses none):
the agent update's command (ListCommandInvocations) until every instance finished, then a
re-run and the confirm-COMPLIANT watch; the troubleshooting runbooks until they finished, then
what they found and the watch of the next run (the person re-runs once that is dealt with).
Looks back off like the watch's (bot/core/watch.next_look); at SSM3_WATCH_FOR the fix is
reported as it stands and the watch begins anyway."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.app.fixes import FixActions, Started
from bot.app.jobs import ScheduledJobs
from bot.app.watches import Watch, Watches
from bot.core.watch import next_look
from bot.models import AssociationKey, ScheduledJob
from bot.models.fixes import AutomationOutcome, CommandOutcome, FixFailed
from bot.util.clock import iso, parse_iso, precise

FIX_COMMAND = "fix_command"  # a scheduled job: look at the agent update's command
FIX_RUNBOOK = "fix_runbook"  # ... at the troubleshooting runbooks
Kind = Literal["update_agent", "troubleshoot"]


@dataclass(frozen=True)
class Running:
    """A started fix being followed, as its job row keeps it."""

    key: AssociationKey
    kind: Kind
    by: str
    acted_at: datetime
    deadline: datetime
    handles: tuple[str, ...]  # command IDs, or Automation execution IDs
    rerun_id: int
    detail: str
    instances: tuple[str, ...]  # what the watch judges afterwards
    channel: str | None = None
    reply_to: Mapping[str, Any] = field(default_factory=dict)
    looks: int = 0

    def payload(self) -> dict[str, Any]:
        data = asdict(self)
        data["key"] = [self.key.account_id, self.key.region, self.key.association_id]
        data["acted_at"], data["deadline"] = precise(self.acted_at), iso(self.deadline)
        data["handles"], data["instances"] = list(self.handles), list(self.instances)
        data["reply_to"] = dict(self.reply_to)
        return data

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Running:
        acted_at, deadline = parse_iso(data["acted_at"]), parse_iso(data["deadline"])
        assert acted_at is not None
        assert deadline is not None
        return cls(
            key=AssociationKey(*data["key"]),
            kind="troubleshoot" if data.get("kind") == "troubleshoot" else "update_agent",
            by=str(data["by"]),
            acted_at=acted_at,
            deadline=deadline,
            handles=tuple(data.get("handles") or ()),
            rerun_id=int(data["rerun_id"]),
            detail=str(data.get("detail") or ""),
            instances=tuple(data.get("instances") or ()),
            channel=data.get("channel"),
            reply_to=dict(data.get("reply_to") or {}),
            looks=int(data.get("looks") or 0),
        )


@dataclass(frozen=True)
class Finished:
    """The command or the runbooks ended (or the deadline came): how each ended, what the
    re-run after an agent update met (`rerun_refused`), and the watch that follows."""

    running: Running
    commands: tuple[CommandOutcome | FixFailed, ...] = ()
    runbooks: tuple[AutomationOutcome | FixFailed, ...] = ()
    rerun_refused: FixFailed | None = None
    watch: Watch | None = None
    timed_out: bool = False


class FixFollowUps:
    def __init__(
        self,
        *,
        actions: FixActions,
        watches: Watches,
        jobs: ScheduledJobs,
        clock: Callable[[], datetime],
        watch_for: timedelta,
        first_look_s: float,
    ) -> None:
        self.actions = actions
        self.watches = watches
        self.jobs = jobs
        self.clock = clock
        self.watch_for = watch_for
        self.first_look_s = first_look_s

    def follow(
        self,
        started: Started,
        *,
        instances: Sequence[str],
        channel: str | None = None,
        reply_to: Mapping[str, Any] | None = None,
    ) -> Running:
        kind: Kind = "troubleshoot" if started.target.fix.kind == "troubleshoot" else "update_agent"
        running = Running(
            key=started.target.key,
            kind=kind,
            by=started.rerun.by,
            acted_at=started.acted_at,
            deadline=started.acted_at + self.watch_for,
            handles=started.handles,
            rerun_id=started.rerun.id,
            detail=started.detail,
            instances=tuple(instances),
            channel=channel,
            reply_to=dict(reply_to or {}),
        )
        self.jobs.schedule(_job_kind(kind), self.first_look_s, running.payload())
        return running

    def look(self, job: ScheduledJob) -> Finished | None:
        """One look; when everything ended (or the deadline came), what happened and the
        watch that now follows; else None and the next look is stored."""
        running = Running.from_payload(job.payload)
        now = self.clock()
        if running.kind == "update_agent":
            commands = tuple(self.actions.command_outcome(running.key, c) for c in running.handles)
            done = all(isinstance(c, FixFailed) or c.finished for c in commands)
            if done or now >= running.deadline:
                return self._after_agent(running, commands, timed_out=not done)
        else:
            runbooks = tuple(
                self.actions.automation_outcome(running.key, e) for e in running.handles
            )
            done = all(isinstance(r, FixFailed) or r.finished for r in runbooks)
            if done or now >= running.deadline:
                return Finished(
                    running, runbooks=runbooks, watch=self._watch(running), timed_out=not done
                )
        due = next_look(running.looks, now, running.deadline)
        later = replace(running, looks=running.looks + 1)
        self.jobs.schedule(
            _job_kind(running.kind), (due - now).total_seconds(), later.payload(), arm=False
        )
        return None

    def _after_agent(
        self, running: Running, commands: tuple[CommandOutcome | FixFailed, ...], *, timed_out: bool
    ) -> Finished:
        """The agent is updated (or as far as it went): run the association again and watch."""
        acted_at = self.clock()
        refused = self.actions.rerun(running.key)
        watch = self._watch(replace(running, acted_at=acted_at))
        return Finished(
            running, commands=commands, rerun_refused=refused, watch=watch, timed_out=timed_out
        )

    def _watch(self, running: Running) -> Watch:
        return self.watches.begin(
            running.key,
            action="fix",
            by=running.by,
            acted_at=running.acted_at,
            instances=running.instances,
            rerun_id=running.rerun_id,
            detail=running.detail,
            channel=running.channel,
            reply_to=running.reply_to,
        )


def _job_kind(kind: Kind) -> str:
    return FIX_RUNBOOK if kind == "troubleshoot" else FIX_COMMAND
