"""The acknowledgement modal's submission: checked in the ack itself, so a bad value comes back
as an error under its field (response_action "errors"); stored after the ack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App

from bot.models import TrackedAssociation as Tracked
from bot.slack import blocks as kit
from bot.slack import parsing
from bot.slack.flows import Flows
from bot.slack.replies import Origin, teams_of, user_name

PRESETS = {value: parsing.parse_duration(value) for value, _ in kit.ACK_PRESETS}


@dataclass(frozen=True)
class AckForm:
    context: kit.AckContext
    reason: str
    until: datetime


def read_ack_form(  # noqa: PLR0912  # one branch per field rule
    view: dict[str, Any], now: datetime, zone: ZoneInfo
) -> AckForm | dict[str, str]:
    """The modal's values, or {block_id: what is wrong} for Slack to show under each field."""
    values = (view.get("state") or {}).get("values") or {}
    context = kit.AckContext.loads(view.get("private_metadata"))
    reason = " ".join(str(_value(values, "reason", "reason", "value") or "").split())
    preset = _value(values, "expiry", "preset", "selected_option")
    picked = _value(values, "until", "date", "selected_date")
    errors: dict[str, str] = {}
    if context is None:
        errors["reason"] = "This form lost track of its association; open it again from Slack."
    if not reason:
        errors["reason"] = "Say why it may stay failing for now (a ticket, a planned fix)."
    elif len(reason) > parsing.MAX_REASON:
        errors["reason"] = f"Keep the reason under {parsing.MAX_REASON} characters."
    until: datetime | None = None
    if picked:
        try:
            day = date.fromisoformat(str(picked))
        except ValueError:
            day = None
        today = now.astimezone(zone).date()
        if day is None:
            errors["until"] = "Pick a date from the calendar."
        elif day <= today:
            errors["until"] = "Pick a date after today."
        elif day > today + parsing.MAX_ACK:
            errors["until"] = f"At most {parsing.MAX_ACK.days} days ahead."
        else:
            until = datetime.combine(day, time(23, 59, 59), tzinfo=zone)
    else:
        span = PRESETS.get(str((preset or {}).get("value"))) if isinstance(preset, dict) else None
        if span is None:
            errors["expiry"] = "Choose how long the acknowledgement lasts."
        else:
            until = now + span
    if errors or context is None or until is None:
        return errors
    return AckForm(context, reason, until)


def _value(values: dict[str, Any], block: str, action: str, field: str) -> Any:
    return ((values.get(block) or {}).get(action) or {}).get(field)


def checked(flows: Flows, view: dict[str, Any]) -> AckForm | dict[str, str]:
    """The form's values, checked on their own and against the store."""
    services = flows.services
    form = read_ack_form(view, services.clock(), services.settings.zone)
    if not isinstance(form, dict) and not isinstance(flows.resolve(form.context.key), Tracked):
        key = form.context.key
        return {
            "reason": f"ssm3-bot knows no association {key.association_id} in "
            f"{key.account_id} {key.region}; close this form and check /ssm3 status."
        }
    return form


def ack_submission(flows: Flows, ack: Ack, view: dict[str, Any]) -> None:
    form = checked(flows, view)
    if isinstance(form, dict):
        ack(response_action="errors", errors=form)
    else:
        ack()


def save(flows: Flows, body: dict[str, Any], view: dict[str, Any]) -> None:
    form = checked(flows, view)
    if isinstance(form, dict):
        return  # the errors went back into the form
    context = form.context
    origin = Origin(
        user=str((body.get("user") or {}).get("id") or ""),
        channel=context.channel,
        message_ts=context.message_ts,
        response_url=context.response_url,
        trigger_id=body.get("trigger_id"),  # from the Home tab, a refusal opens a modal
        home=context.home,
        user_name=user_name(body),
        teams=teams_of(body),
    )
    flows.acks.acknowledge(origin, context.key, reason=form.reason, until=form.until)


def register(app: App, flows: Flows) -> None:
    app.view(kit.ACK_MODAL)(
        ack=lambda ack, view: ack_submission(flows, ack, view),
        lazy=[lambda body, view: save(flows, body, view)],
    )
