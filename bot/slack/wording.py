"""What the use cases' outcomes say to a person in Slack (mrkdwn): misses and refusals."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.app.outcomes import Refusal
from bot.app.resolve import Miss
from bot.slack import blocks as kit


def miss_message(miss: Miss) -> str:
    """Why a named association cannot be acted on, for the person who named it (mrkdwn)."""
    shown = kit.inert(miss.association_id, 60)
    if miss.why == "ambiguous":
        return f"{shown} is in {len(miss.known_in)} account-regions; name it by its ARN instead."
    if miss.why == "elsewhere":
        return (
            f"Association {shown} is not in {kit.escape(miss.asked)}: I know it in "
            f"{kit.escape(miss.known_places)}. Check the account and region you gave."
        )
    return (
        f"I don't know association {shown}: no sweep has seen it. Check the ID, or run "
        "`/ssm3 sweep` if it is new."
    )


def refusal_message(refusal: Refusal, zone: ZoneInfo | None = None, cooldown_s: int = 0) -> str:
    """A use case's refusal, for the person who asked (mrkdwn)."""
    if refusal.decision is not None:
        return refusal.decision.reason
    if refusal.miss is not None:
        return miss_message(refusal.miss)
    if refusal.item is None:  # a refusal whose one line says it all (a fix's)
        return kit.escape(refusal.detail)
    name = kit.inert(refusal.item.association.display_name, 80)
    if refusal.why == "cooldown":
        assert refusal.rerun is not None
        rerun = refusal.rerun
        ends = rerun.at + timedelta(seconds=cooldown_s)
        return (
            f"{name} was already re-run by {kit.mention(rerun.by)} at "
            f"{kit.slack_date(rerun.at, '{time}', zone)}; it can be re-run again after "
            f"{kit.slack_date(ends, '{time}', zone)}."
        )
    if refusal.why == "not_failing":
        status = kit.escape(refusal.item.association.status)
        return f"{name} is not failing (its status is {status}); there is nothing to acknowledge."
    return f"{name} was not acknowledged; nothing changed."
