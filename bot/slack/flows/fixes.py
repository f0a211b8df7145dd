"""A diagnosis's Fix button and its form: the use case (bot/app/fixes.py) checks who may
(operators only, before any AWS write) and what the click names; a parameter's fix opens the
form, whose submission applies it; the agent update and the runbook start at once (Slack's
confirm dialog asked first) and are followed as scheduled jobs. Each fix is announced where it
was asked (the thread of the alert or digest the diagnosis answered, else the command's
channel), and its verdict follows there (bot/slack/flows/watches.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

from bot.app.fix_followups import FIX_COMMAND, FIX_RUNBOOK, Finished, FixFollowUps
from bot.app.fixes import Applied, Fixes, FixTarget, NotApplied, Started, value_problem
from bot.app.outcomes import Refusal
from bot.models import ScheduledJob
from bot.slack import blocks as kit
from bot.slack.flows.guard import Guard
from bot.slack.flows.refresh import Refresh
from bot.slack.flows.watches import origin_of
from bot.slack.replies import Origin, announce, tell_later
from bot.slack.services import Services
from bot.slack.wording import refusal_message
from bot.util.logs import log_context


def in_thread(origin: Origin, choice: kit.FixChoice) -> Origin:
    """Where a fix is announced: the diagnosis answered a click on a channel message (its ts
    in the button) in this same channel, so the fix and its verdict go to that thread."""
    if choice.thread_ts and origin.channel and not origin.home:
        return dataclasses.replace(origin, message_ts=choice.thread_ts, ephemeral=False)
    return origin


class FixFlow:
    def __init__(
        self,
        services: Services,
        fixes: Fixes,
        followups: FixFollowUps,
        guard: Guard,
        refresh: Refresh,
    ) -> None:
        self.services = services
        self.fixes = fixes
        self.followups = followups
        self.guard = guard
        self.refresh = refresh
        services.jobs.register(FIX_COMMAND, self._follow)
        services.jobs.register(FIX_RUNBOOK, self._follow)

    @property
    def watch_for(self) -> str:
        return kit.watched_for(self.services.settings.watch_for)

    # -- the button ------------------------------------------------------------------------------------
    def clicked(self, origin: Origin, choice: kit.FixChoice) -> None:
        self.guard.run(origin, "apply the fix", lambda: self._clicked(origin, choice))

    def _clicked(self, origin: Origin, choice: kit.FixChoice) -> None:
        target = self.fixes.target(
            origin.user, choice.diagnosis_id, choice.group, channel=origin.channel
        )
        if isinstance(target, Refusal):
            self.guard.tell(origin, refusal_message(target))
            return
        if target.fix.kind == "update_parameter":
            self._open_form(origin, choice, target)
            return
        started = self.fixes.start_target(origin.user, target, channel=origin.channel)
        self._started(in_thread(origin, choice), started)

    def _open_form(self, origin: Origin, choice: kit.FixChoice, target: FixTarget) -> None:
        thread = in_thread(origin, choice)
        context = kit.FixContext(
            choice=choice,
            channel=origin.channel,
            response_url=None if thread.in_digest else origin.response_url,
            home=origin.home,
        )
        d = target.stored.diagnosis
        where = f"{d.key.account_id} {d.key.region}"
        view = kit.fix_modal(
            target.fix, d.association_name or d.key.association_id, where, context
        ).to_dict()
        client = self.services.client
        if origin.view_id:  # clicked in a modal: the form goes on top of it
            client.views_push(trigger_id=str(origin.trigger_id), view=view)
        else:
            client.views_open(trigger_id=str(origin.trigger_id), view=view)

    def _started(self, origin: Origin, started: Started | NotApplied | Refusal) -> None:
        if isinstance(started, Refusal):
            self.guard.tell(origin, refusal_message(started))
            return
        if isinstance(started, NotApplied):
            self.guard.tell(origin, f"Nothing was changed: {kit.inert(started.message, 400)}")
            return
        target = started.target
        self.followups.follow(
            started,
            instances=self.fixes.watched(target.key, target.instance_ids),
            channel=origin.channel,
            reply_to=dataclasses.asdict(origin),
        )
        name = target.stored.diagnosis.association_name or target.key.association_id
        text = kit.fix_started(origin.user, name, started.detail, target.fix.kind)
        announce(self.services.client, origin, kit.notice(text))
        self.refresh.after_change(origin, target.key)

    # -- the form ------------------------------------------------------------------------------------
    def check_form(
        self, view: dict[str, Any]
    ) -> tuple[kit.FixContext | None, str | None] | dict[str, str]:
        """The form's context and value, or {block_id: what is wrong} to show under its field
        (checked again, with the permission, when it is applied). A form without a field
        (taking a parameter out) is judged when applied."""
        context = kit.FixContext.loads(view.get("private_metadata"))
        values = (view.get("state") or {}).get("values") or {}
        field = (values.get(kit.FIX_VALUE_BLOCK) or {}).get(kit.FIX_VALUE_ACTION)
        if not isinstance(field, dict):
            return context, None
        chosen = field.get("selected_option")
        raw = chosen.get("value") if isinstance(chosen, dict) else field.get("value")
        value = str(raw).strip() if raw is not None else ""
        stored = self.services.store.diagnoses.get(context.choice.diagnosis_id) if context else None
        groups = stored.diagnosis.causes if stored else ()
        if context is None or not 0 <= context.choice.group < len(groups):
            return {kit.FIX_VALUE_BLOCK: "This diagnosis is no longer kept; diagnose again."}
        problem = value_problem(groups[context.choice.group].fix, value)
        return {kit.FIX_VALUE_BLOCK: problem} if problem else (context, value)

    def submitted(self, origin: Origin, context: kit.FixContext, value: str | None) -> None:
        self.guard.run(
            origin,
            "apply the fix",
            lambda: self._submitted(in_thread(origin, context.choice), context, value),
        )

    def _submitted(self, origin: Origin, context: kit.FixContext, value: str | None) -> None:
        choice = context.choice
        applied = self.fixes.update_parameter(
            origin.user,
            choice.diagnosis_id,
            choice.group,
            value,
            channel=origin.channel,
            reply_to=dataclasses.asdict(origin),
        )
        if isinstance(applied, Refusal):
            self.guard.tell(origin, refusal_message(applied))
            return
        if isinstance(applied, NotApplied):
            self.guard.tell(origin, f"Nothing was changed: {kit.inert(applied.message, 400)}")
            return
        self._applied(origin, applied)

    def _applied(self, origin: Origin, applied: Applied) -> None:
        d = applied.target.stored.diagnosis
        name = d.association_name or d.key.association_id
        text = kit.fix_applied(
            origin.user, name, applied.detail, note=applied.note, watch_for=self.watch_for
        )
        announce(self.services.client, origin, kit.notice(text))
        self.refresh.after_change(origin, d.key)

    # -- the agent update's command, the runbooks ----------------------------------------------
    def _follow(self, job: ScheduledJob) -> str:
        origin = origin_of(job.payload.get("reply_to") or {})
        with log_context(slack_user=origin.user or None):
            finished = self.followups.look(job)
            if finished is None:
                return "looking again"
            self._finished(origin, finished)
        return "finished"

    def _finished(self, origin: Origin, finished: Finished) -> None:
        key = finished.running.key
        found = self.services.store.associations.tracked(keys=[key], now=self.services.clock())
        name = found[0].association.display_name if found else key.association_id
        message = kit.fix_finished(
            name,
            commands=finished.commands,
            runbooks=finished.runbooks,
            rerun_refused=finished.rerun_refused,
            timed_out=finished.timed_out,
            watch_for=self.watch_for,
        )
        tell_later(self.services.client, origin, message)
