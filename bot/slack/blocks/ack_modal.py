"""The Acknowledge modal: its presets, its initial expiry, and the context it carries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.models import AssociationKey, TrackedAssociation
from bot.slack.blocks.base import (
    ACK_MODAL,
    account,
    escape,
    inert,
    key_value,
    md,
    parse_key_value,
    plain,
)
from bot.slack.parsing import DEFAULT_ACK, MAX_REASON, parse_duration

ACK_PRESETS: tuple[tuple[str, str], ...] = (
    ("12h", "12 hours"),
    ("1d", "1 day"),
    ("3d", "3 days"),
    ("7d", "7 days"),
    ("14d", "14 days"),
    ("30d", "30 days"),
    ("90d", "90 days"),
)
DEFAULT_PRESET = next(value for value, _ in ACK_PRESETS if parse_duration(value) == DEFAULT_ACK)


# -- acknowledge modal ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AckContext:
    """What the modal must remember between opening and submission (private_metadata)."""

    key: AssociationKey
    channel: str | None = None
    message_ts: str | None = None
    response_url: str | None = None
    home: bool = False  # opened from the Home tab, which is published again afterwards

    def dumps(self) -> str:
        data = {
            "k": key_value(self.key),
            "c": self.channel,
            "t": self.message_ts,
            "r": self.response_url,
            "h": 1 if self.home else None,
        }
        return json.dumps({k: v for k, v in data.items() if v})[:3000]

    @classmethod
    def loads(cls, text: str | None) -> AckContext | None:
        try:
            data = json.loads(text or "")
        except ValueError:
            return None
        key = parse_key_value(data.get("k")) if isinstance(data, dict) else None
        if key is None:
            return None
        return cls(key, data.get("c"), data.get("t"), data.get("r"), bool(data.get("h")))


def ack_expiry(
    duration: timedelta | None, now: datetime, zone: ZoneInfo
) -> tuple[str, date | None]:
    """The form's initial expiry for `/ssm3 ack ID for DURATION` without a reason: the preset of
    that length, else the date it ends on (the date field wins over the preset), else (a span
    ending today, which the date field cannot say) the shortest preset at least as long."""
    if duration is None:
        return DEFAULT_PRESET, None
    spans = {value: parse_duration(value) for value, _ in ACK_PRESETS}
    exact = next((value for value, span in spans.items() if span == duration), None)
    if exact is not None:
        return exact, None
    ends = (now + duration).astimezone(zone).date()
    if ends > now.astimezone(zone).date():
        return DEFAULT_PRESET, ends
    return next(value for value, span in spans.items() if span >= duration), None


def ack_modal(
    item: TrackedAssociation,
    context: AckContext,
    *,
    reason: str | None = None,
    preset: str = DEFAULT_PRESET,
    until: date | None = None,
) -> View:
    a = item.association
    options = [Option(text=plain(label, 75), value=value) for value, label in ACK_PRESETS]
    by_value = {option.value: option for option in options}
    initial = by_value.get(preset) or by_value[DEFAULT_PRESET]
    return View(
        type="modal",
        callback_id=ACK_MODAL,
        title=plain("Acknowledge", 24),
        submit=plain("Acknowledge", 24),
        close=plain("Cancel", 24),
        private_metadata=context.dumps(),
        blocks=[
            SectionBlock(
                text=md(
                    f"*{inert(a.display_name, 80)}* · {account(a.account_id, a.account_name)} "
                    f"{escape(a.region)}\n"
                    "It stays in the digest, listed apart as acknowledged, until the expiry."
                )
            ),
            InputBlock(
                block_id="reason",
                label=plain("Reason", 2000),
                element=PlainTextInputElement(
                    action_id="reason",
                    multiline=True,
                    max_length=MAX_REASON,
                    initial_value=reason[:MAX_REASON] if reason else None,
                    placeholder=plain("Why this may stay failing for now, e.g. a ticket", 150),
                ),
            ),
            InputBlock(
                block_id="expiry",
                label=plain("Expires after", 2000),
                element=StaticSelectElement(
                    action_id="preset", options=options, initial_option=initial
                ),
            ),
            InputBlock(
                block_id="until",
                label=plain("Or on a date", 2000),
                optional=True,
                hint=plain("A date here wins over the preset; at most 90 days ahead.", 2000),
                element=DatePickerElement(
                    action_id="date", initial_date=until.isoformat() if until else None
                ),
            ),
        ],
    )
