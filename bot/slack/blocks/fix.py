"""A fix in Slack: the form that changes one parameter (a select of the values the document
allows, or a text field checked against its pattern, or taking out one it does not declare),
what a fix's start says, what the agent update and the runbooks ended with, and the
confirm-COMPLIANT verdict that follows a re-run or a fix."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.core.diagnosis import Fix
from bot.models.fixes import AutomationOutcome, CommandOutcome, FixFailed
from bot.slack.blocks.base import (
    FIX_MODAL,
    MESSAGE_BLOCKS,
    Budget,
    FixChoice,
    SlackMessage,
    escape,
    fit,
    inert,
    md,
    mention,
    parse_fix_value,
    plain,
    plural,
)
from bot.util.clock import humanize
from bot.util.strings import clip

SELECT_OPTIONS = 100  # a static select holds at most 100 options
FIX_VALUE_BLOCK, FIX_VALUE_ACTION = "value", "value"  # the form's one field


@dataclass(frozen=True)
class FixContext:
    """What the form must remember between opening and submission (private_metadata)."""

    choice: FixChoice
    channel: str | None = None
    response_url: str | None = None
    home: bool = False

    def dumps(self) -> str:
        data = {
            "d": self.choice.value(),
            "c": self.channel,
            "r": self.response_url,
            "h": 1 if self.home else None,
        }
        return json.dumps({k: v for k, v in data.items() if v})[:3000]

    @classmethod
    def loads(cls, text: str | None) -> FixContext | None:
        try:
            data = json.loads(text or "")
        except ValueError:
            return None
        choice = parse_fix_value(data.get("d")) if isinstance(data, dict) else None
        if choice is None:
            return None
        channel, url = data.get("c"), data.get("r")
        return cls(
            choice,
            channel if isinstance(channel, str) else None,
            url if isinstance(url, str) else None,
            bool(data.get("h")),
        )


def fix_modal(fix: Fix, name: str, where: str, context: FixContext) -> View:
    """The form: only values the document accepts can be chosen (or typed and checked)."""
    parameter = fix.parameter or "?"
    now = inert(fix.value, 80) if fix.value is not None else "unset"
    intro = (
        f"*{inert(name, 80)}* · {escape(where)}\n"
        f"`{escape(clip(parameter, 60))}` is {now}. Submitting runs UpdateAssociation with this "
        "one parameter changed (everything else sent back as it is, with the version the "
        "diagnosis read), then the bot follows the run until SSM.3 says COMPLIANT."
    )
    blocks: list[Block] = [SectionBlock(block_id="intro", text=md(intro))]
    if fix.remove:
        blocks.append(
            SectionBlock(text=md(f"The document does not declare it: *Apply* takes {now} out."))
        )
    elif fix.allowed_values and len(fix.allowed_values) <= SELECT_OPTIONS:
        options = [Option(text=plain(v, 75), value=v[:150]) for v in fix.allowed_values if v]
        blocks.append(
            InputBlock(
                block_id=FIX_VALUE_BLOCK,
                label=plain(f"New value of {parameter}", 2000),
                element=StaticSelectElement(action_id=FIX_VALUE_ACTION, options=options),
            )
        )
    else:
        allowed = (
            f"one of {', '.join(fix.allowed_values)}"
            if fix.allowed_values
            else f"matching {fix.allowed_pattern}"
            if fix.allowed_pattern
            else "any value"
        )
        blocks.append(
            InputBlock(
                block_id=FIX_VALUE_BLOCK,
                label=plain(f"New value of {parameter}", 2000),
                hint=plain(f"The document allows {allowed}.", 2000),
                element=PlainTextInputElement(action_id=FIX_VALUE_ACTION, max_length=512),
            )
        )
    return View(
        type="modal",
        callback_id=FIX_MODAL,
        title=plain("Fix a parameter", 24),
        submit=plain("Apply", 24),
        close=plain("Cancel", 24),
        private_metadata=context.dumps(),
        blocks=blocks,
    )


# -- what a fix says when it starts -------------------------------------------------------------
def fix_applied(user: str, name: str, detail: str, *, note: str | None, watch_for: str) -> str:
    """A parameter changed (mrkdwn)."""
    text = (
        f":wrench: {mention(user)} fixed {inert(name, 80)}: {inert(detail, 300)}. The update "
        f"runs it; I'll follow that run (for up to {escape(watch_for)}) and say whether SSM.3 "
        "then finds it COMPLIANT."
    )
    if note:
        text += f"\n:warning: It did not run at once: {inert(note, 300)}"
    return text


def fix_started(user: str, name: str, detail: str, kind: str) -> str:
    """The agent update or the runbooks started (mrkdwn)."""
    after = (
        "Once the agent is updated I'll re-run it and say whether SSM.3 then finds it COMPLIANT."
        if kind == "update_agent"
        else "I'll say what the runbook finds."
    )
    return f":wrench: {mention(user)} started a fix of {inert(name, 80)}: {inert(detail, 300)}. {after}"


def fix_finished(
    name: str,
    *,
    commands: Sequence[CommandOutcome | FixFailed] = (),
    runbooks: Sequence[AutomationOutcome | FixFailed] = (),
    rerun_refused: FixFailed | None = None,
    timed_out: bool = False,
    watch_for: str = "",
) -> SlackMessage:
    """What the agent update or the runbooks ended with, and what follows."""
    lines: list[str] = []
    if commands:
        ok = sum(len(c.succeeded) for c in commands if isinstance(c, CommandOutcome))
        failed = [i for c in commands if isinstance(c, CommandOutcome) for i in c.failed]
        unread = [c for c in commands if isinstance(c, FixFailed)]
        lines.append(
            f":gear: The SSM Agent update of {inert(name, 80)} "
            f"{'is still running' if timed_out else 'finished'}: updated on {plural(ok, 'instance')}"
            + (f", not on {len(failed)}" if failed else "")
            + "."
        )
        lines += [
            f"• {inert(i.instance_id, 30)} {inert(i.status, 30)} {inert(i.details, 80)}"
            for i in failed[:8]
        ]
        lines += [f"• {inert(u.message, 300)}" for u in unread[:3]]
        if rerun_refused is not None:
            lines.append(
                f":warning: The re-run after it was refused: {inert(rerun_refused.message, 300)}"
            )
        else:
            lines.append(f"I re-ran it and follow that run (for up to {escape(watch_for)}).")
    if runbooks:
        lines.append(
            f":mag: The troubleshooting runbook for {inert(name, 80)} "
            f"{'is still running' if timed_out else 'finished'}:"
        )
        for outcome in runbooks[:10]:
            line = outcome.message if isinstance(outcome, FixFailed) else outcome.summary
            lines.append(f"• {inert(line, 400)}")
        lines.append(
            "Fix what it found, then re-run the association: I follow the next run "
            f"(for up to {escape(watch_for)}) and say whether SSM.3 then finds it COMPLIANT."
        )
    text = fit("\n".join(lines))
    return SlackMessage(
        text=escape(f"Fix of {clip(name, 80)}: done"), blocks=[SectionBlock(text=md(text))]
    )


# -- the confirm-COMPLIANT verdict ----------------------------------------------------------------
@dataclass(frozen=True)
class VerdictWords:
    """What a surface needs of a watch's verdict to say it (bot/app/watches.Verdict)."""

    name: str
    outcome: str
    action: str  # rerun | fix
    run_status: str | None
    run_started: bool
    watched: int
    still_failing: Sequence[str]
    failures: Sequence[tuple[str, str, str | None]]  # (instance, status, detailed status)
    error: str | None
    watch_for: str


def verdict_text(words: VerdictWords) -> str:
    """The verdict in mrkdwn (a fresh diagnosis, when there is one, follows it)."""
    what = "fix" if words.action == "fix" else "re-run"
    name = inert(words.name, 80)
    status = inert(words.run_status or "?", 30)
    if words.outcome == "compliant":
        return (
            f":white_check_mark: {name} is COMPLIANT: the run after the {what} ended {status}, "
            f"and SSM.3 now passes all {plural(words.watched, 'instance')} it failed."
        )
    if words.outcome == "pending":
        held = "no run started" if not words.run_started else "its run did not finish"
        why = (
            " (a closed change calendar or a cron-only schedule holds it)"
            if not words.run_started
            else ""
        )
        return (
            f":hourglass: {name}: {held} within {escape(words.watch_for)} of the {what}{why}; "
            "the next sweep will tell."
        )
    if words.outcome == "unknown":
        return (
            f":grey_question: Could not confirm {name} after the {what}: "
            f"{inert(words.error or 'AWS did not answer', 300)}"
        )
    failing = list(words.still_failing)
    shown = ", ".join(inert(i, 30) for i in failing[:6])
    more = f" and {len(failing) - 6} more" if len(failing) > 6 else ""
    lines = [
        f":x: {name} still fails SSM.3 after the {what}: its run ended {status}, and "
        f"{plural(len(failing), 'instance')} still {'is' if len(failing) == 1 else 'are'} "
        f"NON_COMPLIANT: {shown}{more}."
    ]
    if words.failures:
        errors = ", ".join(
            f"{inert(i, 30)} {inert(d or s, 40)}" for i, s, d in list(words.failures)[:6]
        )
        lines.append(f"The run failed on {errors}.")
    return "\n".join(lines)


def verdict_message(words: VerdictWords, more: Sequence[Block] = ()) -> SlackMessage:
    """The verdict, and `more` (a fresh diagnosis's groups) as far as Slack's limits allow."""
    budget = Budget(max_blocks=MESSAGE_BLOCKS)
    budget.add([SectionBlock(text=md(fit(verdict_text(words))))])
    for block in more:
        if not budget.fits([block], reserve_chars=200):
            break
        budget.add([block])
    return SlackMessage(text=escape(f"{clip(words.name, 80)}: {words.outcome}"), blocks=budget.used)


def watched_for(span: timedelta) -> str:
    """SSM3_WATCH_FOR as people say it: '2h', '30m'."""
    return humanize(span)
