"""Block Kit for every Slack surface of ssm3-bot, built on slack_sdk.models: pure, no I/O.

One module a surface, sharing `base` (safe text, button values, limits, `Budget`):
digest, alert, association (status, buttons, re-run dialogs, one instance), history,
ack_modal, help, audit. Callers keep `from bot.slack import blocks as kit`: the public names
of every module are re-exported here.
"""

from bot.slack.blocks.ack_modal import (
    ACK_PRESETS,
    DEFAULT_PRESET,
    AckContext,
    ack_expiry,
    ack_modal,
)
from bot.slack.blocks.alert import (
    ALERTS_SHOWN,
    alert_message,
)
from bot.slack.blocks.association import (
    ITEMS_SHOWN,
    STATUS_INSTANCES,
    ack_line,
    association_buttons,
    association_status,
    compliance_item_line,
    instance_blocks,
    instances_line,
    rerun_confirm,
    rerun_confirmation,
    rerun_note,
)
from bot.slack.blocks.audit import (
    audit_message,
)
from bot.slack.blocks.base import (
    ACK_MODAL,
    ACTION_ACK,
    ACTION_CANCEL,
    ACTION_HISTORY,
    ACTION_RERUN,
    HEADER_CHARS,
    MESSAGE_BLOCKS,
    SECTION_CHARS,
    TEXT_BUDGET,
    VIEW_BLOCKS,
    Budget,
    SlackMessage,
    escape,
    fit,
    inert,
    key_value,
    md,
    mention,
    notice,
    parse_key_value,
    plain,
    plural,
    slack_date,
    text_chars,
)
from bot.slack.blocks.digest import (
    DIGEST_SHOWN,
    association_line,
    digest_message,
    orphans_section,
    security_hub_line,
)
from bot.slack.blocks.help import (
    HELP_LINES,
    help_message,
)
from bot.slack.blocks.history import (
    history_message,
)

__all__ = [
    "ACK_MODAL",
    "ACK_PRESETS",
    "ACTION_ACK",
    "ACTION_CANCEL",
    "ACTION_HISTORY",
    "ACTION_RERUN",
    "ALERTS_SHOWN",
    "DEFAULT_PRESET",
    "DIGEST_SHOWN",
    "HEADER_CHARS",
    "HELP_LINES",
    "ITEMS_SHOWN",
    "MESSAGE_BLOCKS",
    "SECTION_CHARS",
    "STATUS_INSTANCES",
    "TEXT_BUDGET",
    "VIEW_BLOCKS",
    "AckContext",
    "Budget",
    "SlackMessage",
    "ack_expiry",
    "ack_line",
    "ack_modal",
    "alert_message",
    "association_buttons",
    "association_line",
    "association_status",
    "audit_message",
    "compliance_item_line",
    "digest_message",
    "escape",
    "fit",
    "help_message",
    "history_message",
    "inert",
    "instance_blocks",
    "instances_line",
    "key_value",
    "md",
    "mention",
    "notice",
    "orphans_section",
    "parse_key_value",
    "plain",
    "plural",
    "rerun_confirm",
    "rerun_confirmation",
    "rerun_note",
    "security_hub_line",
    "slack_date",
    "text_chars",
]
