"""What one Security Hub sync did (bot/app/findings_sync.py), and the one line a Slack reply or
the CLI says about it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.findings import CSPM, V2

HUB_LABELS = {CSPM: "Security Hub", V2: "the new Security Hub"}


@dataclass(frozen=True)
class SyncReport:
    """What one sync did, for the one line the person who asked reads; `also`: the other
    Security Hub's, when both are on."""

    workflow: str
    hub: str = CSPM
    set: int = 0  # findings set to `workflow`
    reopened: int = 0  # set back to NEW
    in_sync: int = 0  # already as they should be
    hand: int = 0  # changed by hand in Security Hub: left as they are
    kept_new: int = 0  # focus instances that stay NEW: something on them is not acknowledged
    missing: int = 0  # covered focus instances without a FAILED SSM.3 finding (yet)
    unprocessed: int = 0  # still unprocessed after the retries
    pending: int = 0  # not written because Security Hub stopped answering
    error: str | None = None  # why Security Hub was not (fully) updated
    also: SyncReport | None = None

    @property
    def changed(self) -> int:
        return self.set + self.reopened


def reply_line(report: SyncReport, *, what: str = "acknowledgement") -> str:
    """The line a Slack reply or the CLI prints about Security Hub (one sentence a hub: only
    Security Hub CSPM on reads as it always did)."""
    both = report.also is not None
    line = _hub_line(report, what, _label(report.hub, both))
    if report.also is not None:
        line += " " + _hub_line(report.also, what, _label(report.also.hub, both))
    return line


def _label(hub: str, both: bool) -> str:
    if hub == V2:
        return "New Security Hub"
    return "Security Hub CSPM" if both else "Security Hub"


def _hub_line(report: SyncReport, what: str, label: str) -> str:
    if report.error is not None and not report.changed:
        return (
            f"{label} not updated ({report.error}): the {what} stands in the bot; "
            "it will be retried at the next sweep."
        )
    parts: list[str] = []
    if report.set:
        parts.append(f"{_n(report.set)} set {report.workflow}")
    if report.reopened:
        parts.append(f"{_n(report.reopened)} set back to NEW")
    if not parts and report.in_sync:
        parts.append(f"{_n(report.in_sync)} already as the bot's acknowledgements say")
    if report.kept_new:
        parts.append(
            f"{report.kept_new} kept NEW (another failing association or an orphaned item on "
            "the instance is not acknowledged)"
        )
    if report.hand:
        parts.append(f"{report.hand} changed by hand in Security Hub left as they are (audited)")
    if report.unprocessed:
        parts.append(f"{report.unprocessed} not updated after retries (see `ssm3bot audit`)")
    if report.pending:
        parts.append(f"{report.pending} not updated ({report.error}): retried at the next sweep")
    if report.missing:
        parts.append(
            f"{report.missing} without a FAILED SSM.3 finding yet (the next sweep looks again)"
        )
    return f"{label}: " + ("; ".join(parts) if parts else "no SSM.3 finding to change") + "."


def _n(count: int) -> str:
    return f"{count} SSM.3 finding" + ("" if count == 1 else "s")
