"""The Security Hub sync's rules (SSM3_SECURITYHUB=sync), as plain functions of plain values:
which acknowledgements cover an instance's SSM.3 finding, what the finding's workflow and note
should be, and whether a finding differs from what the bot last wrote because Security Hub
itself moved it or because someone changed it by hand.

SSM.3 is judged per instance, so a finding is covered only when every failing association on
its instance is acknowledged and no orphaned item fails it. The bot writes only what it owns
(bot/core/ownership.py: a finding its own store records having written, never one that merely
carries its marker) or a NEW finding nobody wrote a note on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.core.ownership import claimable, owned
from bot.models import Ack, AssociationKey, EndedAck, FindingRecord, InstanceKey
from bot.util.clock import iso
from bot.util.strings import clip

# The marker every note the bot writes carries (the real-time poller tells the bot's own
# updates from the "Security Hub Findings - Imported" events by it), and its two fields.
MARKER = "ssm3-bot"
FIELD_ASSOCIATION = "ssm3bot:association"
FIELD_UNTIL = "ssm3bot:until"
NO_EXPIRY = "none"
NOTE_LIMIT = 512  # Security Hub keeps one note a finding, at most 512 characters
ACK_WORKFLOWS = ("SUPPRESSED", "NOTIFIED")  # what SSM3_ACK_WORKFLOW may set
CSPM, V2 = "cspm", "v2"  # the two Security Hubs, as the sweep JSON's `security_hub.hubs` names them


FindingId = tuple[str, str]  # (Id, ProductArn): how BatchUpdateFindings names a finding


@dataclass
class WriteResult:
    """What the updates came to: by finding Id, processed, left unprocessed ("Code: message")
    or not attempted because `stopped` (one line: "throttled", "denied: ...", an error)."""

    processed: set[str] = field(default_factory=set)
    unprocessed: dict[str, str] = field(default_factory=dict)
    not_attempted: set[str] = field(default_factory=set)
    stopped: str | None = None
    calls: int = 0


@dataclass(frozen=True)
class Finding:
    """One SSM.3 finding as Security Hub shows it now."""

    finding_id: str
    product_arn: str
    instance: InstanceKey
    workflow: str
    compliance: str
    note_text: str | None = None
    note_by: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def bot_note(self) -> bool:
        """The note on it is the bot's."""
        return self.note_by == MARKER

    @property
    def named(self) -> tuple[str, ...]:
        """The association IDs the bot's note fields name."""
        return tuple(a for a in self.fields.get(FIELD_ASSOCIATION, "").split(",") if a)


@dataclass(frozen=True)
class AckedAssociation:
    """A failing association on the instance, with the acknowledgement in force on it."""

    key: AssociationKey
    name: str
    ack: Ack


@dataclass(frozen=True)
class Cover:
    """Every failing association on the instance is acknowledged: the finding may leave NEW."""

    acks: tuple[AckedAssociation, ...]

    @property
    def associations(self) -> tuple[str, ...]:
        return tuple(a.key.association_id for a in self.acks)

    @property
    def until(self) -> datetime | None:
        """The first expiry among them (None: one of them has none)."""
        untils = [a.ack.until for a in self.acks]
        return None if any(u is None for u in untils) else min(u for u in untils if u)


@dataclass(frozen=True)
class Uncovered:
    """SSM.3 fails the instance with something not acknowledged, or no longer fails it."""

    why: str


Desired = Cover | Uncovered


@dataclass(frozen=True)
class Update:
    """One BatchUpdateFindings body, less the findings: those sharing it go in one call."""

    workflow: str
    note: str
    associations: tuple[str, ...]
    until: datetime | None = None

    def fields(self) -> dict[str, str]:
        return {
            FIELD_ASSOCIATION: ",".join(self.associations) or NO_EXPIRY,
            FIELD_UNTIL: iso(self.until) or NO_EXPIRY,
        }


Kind = Literal["set", "reapply", "reopen", "keep", "hand", "ignore"]


@dataclass(frozen=True)
class Decision:
    """`set`/`reapply`: write the acknowledgement workflow (`reapply`: after Security Hub's own
    reset to NEW); `reopen`: write NEW; `keep`: the bot's, nothing to write; `hand`: changed by
    hand in Security Hub, left alone; `ignore`: not the bot's and not covered."""

    kind: Kind
    update: Update | None = None
    hand: str | None = None


def cover(failing: Sequence[tuple[AssociationKey, str, Ack | None]], orphaned: bool) -> Desired:
    """Whether an instance NON_COMPLIANT for SSM.3 is covered, given its failing associations
    (key, display name, acknowledgement in force) and whether an orphaned item fails it."""
    if orphaned:
        return Uncovered(
            "an orphaned compliance item (its association no longer exists) fails this instance"
        )
    unacked = [name for _, name, ack in failing if ack is None]
    if unacked or not failing:
        other = unacked[0] if unacked else "an association the bot does not know"
        return Uncovered(f"{other} fails this instance and is not acknowledged")
    return Cover(tuple(AckedAssociation(k, n, a) for k, n, a in sorted(failing, key=_order) if a))


def _order(entry: tuple[AssociationKey, str, Ack | None]) -> tuple[str, str, str]:
    key = entry[0]
    return (key.account_id, key.region, key.association_id)


def ended_why(ended: EndedAck, name: str) -> str:
    """Why the note goes back to NEW, from how the acknowledgement of `name` ended."""
    reason = ended.end_reason
    if reason == "unacknowledged":
        return f"the acknowledgement of {name} was removed by {ended.ended_by or 'someone'}"
    if reason == "expired":
        return f"the acknowledgement of {name} expired at {iso(ended.ack.until or ended.ended_at)}"
    if reason == "resolved":
        return f"{name} is compliant again, which ended its acknowledgement"
    if reason == "deleted":
        return f"{name} was deleted, which ended its acknowledgement"
    if reason == "unswept":
        return f"{name}'s account-region is no longer swept, which ended its acknowledgement"
    return f"the acknowledgement of {name} ended ({reason})"


def who(ack: Ack) -> str:
    return f"{ack.by} ({ack.by_name})" if ack.by_name and ack.by_name != ack.by else ack.by


def ack_note(covered: Cover) -> str:
    """Who acknowledged, why, until when and which association: at most 512 characters (with
    many associations, names and reasons shrink first; the IDs are in the fields too)."""

    def text(name_chars: int, reason_chars: int, where: bool) -> str:
        parts = []
        for a in covered.acks:
            until = iso(a.ack.until) if a.ack.until else "no expiry"
            name = f"{clip(a.name, name_chars)} " if name_chars else ""
            place = f" in {a.key.account_id} {a.key.region}" if where else ""
            by = who(a.ack) if name_chars else a.ack.by
            parts.append(
                f"{name}({a.key.association_id}){place}, by {by} until {until}: "
                f"{clip(a.ack.reason, reason_chars)}"
            )
        if len(parts) == 1:
            return f"Acknowledged in ssm3-bot: {parts[0]}"
        return (
            "Acknowledged in ssm3-bot (every failing association on this instance): "
            + "; ".join(parts)
        )

    note = ""
    for names, reasons, where in (
        (60, 400, True),
        (40, 150, True),
        (24, 60, False),
        (0, 24, False),
    ):
        note = text(names, reasons, where)
        if len(note) <= NOTE_LIMIT:
            return note
    return clip(note, NOTE_LIMIT)


def release_note(why: str) -> str:
    return clip(f"ssm3-bot set this finding back to NEW: {why}.", NOTE_LIMIT)


def security_hub_moved(written: str, now: str, compliance: str) -> bool:
    """Whether Security Hub itself turns `written` into `now`: NOTIFIED and RESOLVED go back
    to NEW when compliance fails again (or the finding is archived and comes back); a PASSED
    control finding goes from NEW or NOTIFIED to RESOLVED. SUPPRESSED never moves."""
    if now == "NEW" and written in ("NOTIFIED", "RESOLVED"):
        return True
    return now == "RESOLVED" and written in ("NEW", "NOTIFIED") and compliance == "PASSED"


def changed_by_hand(finding: Finding, record: FindingRecord | None) -> str | None:
    """How a finding this deployment wrote was changed since by someone else (None: it was
    not): another note (even one signed ssm3-bot: it is not the note written here), or another
    workflow than Security Hub itself would have moved it to."""
    if record is None or record.written_workflow is None:
        return None
    if not finding.bot_note:
        return f"workflow {finding.workflow}, note by {finding.note_by or 'nobody'}"
    if finding.note_text != record.written_note:
        return f"workflow {finding.workflow}, a note signed {MARKER} that this deployment did not write"
    if finding.workflow != record.written_workflow and not security_hub_moved(
        record.written_workflow, finding.workflow, finding.compliance
    ):
        return f"workflow {finding.workflow} (ssm3-bot had set {record.written_workflow})"
    return None


def decide(
    finding: Finding,
    record: FindingRecord | None,
    desired: Desired,
    workflow: str,
) -> Decision:
    """What to do with one finding, given what should hold for its instance and what the bot
    last wrote to it; `workflow`: SSM3_ACK_WORKFLOW."""
    mine = owned(record)
    hand = changed_by_hand(finding, record) if mine else None
    if hand is not None:
        return Decision("hand", hand=hand)
    if isinstance(desired, Cover):
        return _covered(finding, record, desired, workflow, owned=mine)
    if mine and finding.workflow in ACK_WORKFLOWS:
        named = finding.named or (record.associations if record else ())
        return Decision("reopen", Update("NEW", release_note(desired.why), named))
    # NEW (Security Hub reset it after a fresh failure) or RESOLVED: not re-suppressed.
    return Decision("keep" if mine else "ignore")


def _covered(
    finding: Finding, record: FindingRecord | None, desired: Cover, workflow: str, *, owned: bool
) -> Decision:
    if finding.compliance != "FAILED":
        return Decision("keep" if owned else "ignore")
    target = Update(workflow, ack_note(desired), desired.associations, desired.until)
    if not owned:
        if claimable(
            workflow_new=finding.workflow == "NEW", has_note=bool(finding.note_text), failed=True
        ):
            return Decision("set", target)
        # Someone reviewed it in Security Hub (another workflow, or a note of theirs).
        return Decision(
            "hand", hand=f"workflow {finding.workflow}, note by {finding.note_by or 'nobody'}"
        )
    if finding.workflow == workflow and finding.note_text == target.note:
        return Decision("keep")
    reset = record is not None and security_hub_moved(
        record.written_workflow or "", finding.workflow, finding.compliance
    )
    return Decision("reapply" if reset else "set", target)
