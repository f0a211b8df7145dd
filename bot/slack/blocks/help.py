"""The `/ssm3 help` reply."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, SectionBlock

from bot.slack.blocks.base import SlackMessage, escape, md
from bot.util.strings import clip

HELP_LINES = (
    "`/ssm3 status` — what is failing; narrow it with an account ID, a region, an association ID or an instance ID",
    "`/ssm3 history ASSOCIATION_ID` — recent runs, failed instances, their errors and a likely cause",
    "`/ssm3 rerun ASSOCIATION_ID` — run it again now (asks first; operators only)",
    "`/ssm3 ack ASSOCIATION_ID [for 7d] [reason…]` — acknowledge for 12h, 7d, 2w… (at most 90d); without a reason a form opens",
    "`/ssm3 unack ASSOCIATION_ID` — end the acknowledgement",
    "`/ssm3 sweep` — sweep every account-region now and report when done",
    "`/ssm3 audit` — the latest state changes and refusals",
    "`/ssm3 help` — this list",
)


def help_message(problem: str | None = None) -> SlackMessage:
    blocks: list[Block] = []
    if problem:
        blocks.append(SectionBlock(text=md(f":warning: {escape(problem)}")))
    blocks.append(
        SectionBlock(
            text=md(
                "*ssm3-bot* keeps State Manager association compliance (Security Hub SSM.3) in view.\n"
                + "\n".join(f"• {line}" for line in HELP_LINES)
                + "\nIDs may be bare (`8c1f2d3e-…`) or ARNs. The digest's buttons do the same: "
                "*History*, *Re-run*, *Acknowledge*."
            )
        )
    )
    return SlackMessage(
        text=(escape(clip(problem, 300)) + " " if problem else "")
        + "ssm3-bot commands: /ssm3 help",
        blocks=blocks,
    )
