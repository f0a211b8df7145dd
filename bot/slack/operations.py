"""What each Slack request does, whichever way it was asked (slash command, button, modal).

Listeners acknowledge Slack at once and then call these from a worker thread: every AWS call,
sweep and upload happens here, after the ack. Each state change is permission-checked first,
written to the audit log, shown in the digest (edited in place) and announced where it was
asked for; each refusal is audited and told to the person who asked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.error import URLError

from botocore.exceptions import BotoCoreError, ClientError
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import Block

from bot.aws.actions import association_state, start_once
from bot.aws.errors import DENIED, denied_hint, describe_error, error_code
from bot.aws.history import fetch_history
from bot.causes import kind_label, remedy
from bot.clock import iso
from bot.config import ConfigError
from bot.digest import Digest, DigestTotals, build_digest
from bot.models import AssociationKey, InstanceKey, TrackedAssociation
from bot.runner import SweepBusy
from bot.slack import blocks as kit
from bot.slack import faults, parsing
from bot.slack.delivery import Delivery
from bot.slack.permissions import Decision
from bot.slack.replies import Origin, announce, delete_original, tell
from bot.slack.services import Services
from bot.store import DigestPost, Rerun
from bot.sweep import SweepError

log = logging.getLogger(__name__)

BOT_ACTOR = "ssm3bot"
AWS_ERRORS = (ClientError, BotoCoreError)


@dataclass(frozen=True)
class Miss:
    """Why a named association cannot be acted on: `detail` for the audit log, `message`
    (mrkdwn) for the user, and `key` when the name said where it lives (an ARN, a button)."""

    detail: str
    message: str
    key: AssociationKey | None = None
    elsewhere: bool = False  # the ID is known, in another account-region


class Operations:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store
        self.client = services.client
        self.zone = services.settings.zone
        self.delivery = Delivery(
            client=services.client, store=services.store, zone=self.zone, clock=services.clock
        )

    # -- helpers --------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.services.clock()

    def _tell(self, origin: Origin, text: str) -> None:
        tell(self.client, origin, kit.notice(text))

    def _audit(
        self,
        origin: Origin,
        action: str,
        outcome: str,
        key: AssociationKey | None = None,
        detail: str | None = None,
    ) -> None:
        self.store.audit(
            actor=origin.user,
            action=action,
            outcome=outcome,
            now=self.now(),
            key=key,
            channel=origin.channel,
            detail=detail,
        )

    def resolve(self, ref: parsing.AssociationRef) -> TrackedAssociation | Miss:
        """The one stored association `ref` names, or why there is none."""
        everywhere = self.store.find(ref.association_id)
        found = [
            t
            for t in everywhere
            if (ref.account_id is None or t.key.account_id == ref.account_id)
            and (ref.region is None or t.key.region == ref.region)
        ]
        if len(found) == 1:
            return found[0]
        named = (
            AssociationKey(ref.account_id, ref.region, ref.association_id)
            if ref.account_id and ref.region
            else None
        )
        shown = kit.inert(ref.association_id, 60)
        if found:
            return Miss(
                f"in {len(found)} account-regions",
                f"{shown} is in {len(found)} account-regions; name it by its ARN instead.",
                named,
            )
        if everywhere:
            asked = " ".join(p for p in (ref.account_id, ref.region) if p)
            known = ", ".join(f"{t.key.account_id} {t.key.region}" for t in everywhere[:3])
            return Miss(
                f"not in {asked}; it is in {known}",
                f"Association {shown} is not in {kit.escape(asked)}: I know it in "
                f"{kit.escape(known)}. Check the account and region you gave.",
                named,
                elsewhere=True,
            )
        return Miss(
            "unknown association",
            f"I don't know association {shown}: no sweep has seen it. Check the ID, or run "
            "`/ssm3 sweep` if it is new.",
            named,
        )

    def lookup(self, origin: Origin, ref: parsing.AssociationRef) -> TrackedAssociation | None:
        """The stored association the user named; tells them plainly when there is none."""
        found = self.resolve(ref)
        if isinstance(found, Miss):
            self._tell(origin, found.message)
            return None
        return found

    def _target(
        self, origin: Origin, action: str, ref: parsing.AssociationRef
    ) -> TrackedAssociation | None:
        """`lookup` for a state change: a miss is a refusal, and audited as one."""
        found = self.resolve(ref)
        if isinstance(found, Miss):
            # Without a key the audit row has no association: keep the ID as it was typed.
            detail = found.detail if found.key else f"{ref.association_id}: {found.detail}"
            self._refuse(origin, action, found.key, detail, found.message)
            return None
        return found

    def _refuse(
        self,
        origin: Origin,
        action: str,
        key: AssociationKey | None,
        detail: str,
        message: str,
    ) -> None:
        self._audit(origin, action, "refused", key, detail)
        self._tell(origin, message)

    def _permitted(
        self, origin: Origin, action: str, decision: Decision, ref: parsing.AssociationRef | None
    ) -> bool:
        """Checked before anything else a state change does; a refusal is audited, naming the
        association when the store knows it (or the ID as typed when it does not)."""
        if decision.allowed:
            return True
        key: AssociationKey | None = None
        detail = decision.reason
        if ref is not None:
            found = self.resolve(ref)
            key = found.key
            if key is None:
                detail = f"{ref.association_id}: {decision.reason}"
        self._refuse(origin, action, key, detail, decision.reason)
        return False

    @staticmethod
    def _ref(key: AssociationKey) -> parsing.AssociationRef:
        return parsing.AssociationRef(key.association_id, key.account_id, key.region)

    def _digests(self, origin: Origin) -> list[DigestPost | None]:
        posts: list[DigestPost | None] = []
        if origin.in_digest:
            posts.append(self.store.digest_post(str(origin.channel), str(origin.message_ts)))
        posts.append(self.store.latest_digest(self.services.settings.channel))
        return posts

    def _refresh(self, origin: Origin) -> None:
        self.delivery.refresh_all(self._digests(origin))

    def _guard(self, origin: Origin, what: str, work: Callable[[], None]) -> None:
        """Run one request's work; any failure becomes one line for the user, never a trace."""
        try:
            work()
        except AWS_ERRORS as exc:
            self._tell(origin, f"Could not {what}: {kit.inert(describe_error(exc), 400)}")
        except SlackApiError as exc:
            faults.report(exc, what, log)
            if faults.token_refused(exc):
                self._tell(
                    origin,
                    f"Could not {what}: Slack refused the bot's token. An admin must set a valid "
                    "SLACK_BOT_TOKEN.",
                )
            else:
                error = str(exc.response.get("error") or "an error")
                self._tell(origin, f"Could not {what}: Slack answered {kit.inert(error, 100)}.")
        except (SlackClientError, URLError, TimeoutError, ConnectionError) as exc:
            log.warning("could not reach Slack while trying to %s: %s", what, exc)
            self._tell(origin, f"Could not {what}: Slack could not be reached; try again.")
        except Exception:
            log.exception("failed to %s", what)
            self._tell(origin, f"Could not {what}: an internal error (see the bot's log).")

    # -- status, history, audit ------------------------------------------------------------------
    def status(self, origin: Origin, command: parsing.Status) -> None:
        self._guard(origin, "show the status", lambda: self._status(origin, command))

    def _status(self, origin: Origin, command: parsing.Status) -> None:
        now = self.now()
        if command.kind == "association" and command.ref is not None:
            item = self.lookup(origin, command.ref)
            if item is not None:
                message = kit.association_status(
                    item, now=now, rerun=self.store.last_rerun(item.key), zone=self.zone
                )
                tell(self.client, origin, message)
            return
        digest = build_digest(self.store, now)
        title = "SSM.3 status"
        intro: list[Block] = []
        if command.kind != "all" and command.value:
            value = command.value
            if command.kind == "instance":
                # Always an answer: what SSM.3 sees for it, compliant included.
                intro = kit.instance_blocks(
                    value,
                    compliance=self.store.instance_compliance(value),
                    orphans=[o for o in digest.orphans if o.instance_id == value],
                    failing=[*digest.failing, *digest.acknowledged],
                    zone=self.zone,
                )
                known = sum(1 for t in self.store.tracked() if _matches(t, command.kind, value))
            else:
                known = self._known(command.kind, value)
                if not known:
                    self._tell(origin, _unknown_filter(command.kind, value))
                    return
            digest = _filter(
                digest, command.kind, value, known, self.store.noncompliant_instances()
            )
            title = f"SSM.3 status of {value}"
        reruns = self.store.reruns_since(now - timedelta(days=1))
        tell(
            self.client,
            origin,
            kit.digest_message(
                digest,
                reruns=reruns,
                title=title,
                overflow_hint="Narrow it with `/ssm3 status ACCOUNT`, `REGION` or `INSTANCE_ID`.",
                zone=self.zone,
                intro=intro,
            ),
        )

    def _known(self, kind: str, value: str) -> int:
        """How many stored associations the filter covers (0: it names nothing we know)."""
        return sum(1 for t in self.store.tracked() if _matches(t, kind, value))

    def history(self, origin: Origin, ref: parsing.AssociationRef) -> None:
        self._guard(origin, "read the history", lambda: self._history(origin, ref))

    def _history(self, origin: Origin, ref: parsing.AssociationRef) -> None:
        found = self.resolve(ref)
        if isinstance(found, TrackedAssociation):
            key = found.key
        elif found.key is not None and not found.elsewhere:
            # An ARN for an association no sweep has seen yet: read it from AWS, but only in an
            # account-region the bot sweeps (never assume a role anywhere a user names).
            key = found.key
            if key.scope not in {s.scope for s in self.store.scope_states()}:
                self._tell(
                    origin,
                    f"I don't sweep account {kit.escape(key.account_id)} in "
                    f"{kit.escape(key.region)}, so I won't read its history. Check the ARN, "
                    "or SSM3_ACCOUNTS and SSM3_REGIONS.",
                )
                return
        else:
            self._tell(origin, found.message)
            return
        try:
            stored = found.association if isinstance(found, TrackedAssociation) else None
            history = fetch_history(self.services.access.ssm(key.scope), key, stored=stored)
        except AWS_ERRORS as exc:
            self._tell(
                origin,
                f"Could not read the history of {kit.inert(key.association_id, 40)} in "
                f"{kit.escape(key.account_id)} {kit.escape(key.region)}: "
                f"{self._aws_problem(exc, key)}",
            )
            return
        tell(self.client, origin, kit.history_message(history, now=self.now(), zone=self.zone))

    def _aws_problem(self, exc: ClientError | BotoCoreError, key: AssociationKey) -> str:
        """AWS's error in one inert line, and for a denial what to grant to whom."""
        line = kit.inert(describe_error(exc), 400)
        if not isinstance(exc, ClientError):
            return line
        if error_code(exc) not in DENIED:
            return line
        hint = denied_hint(
            exc.operation_name,
            account=key.account_id,
            role=self.services.settings.role_name,
        )
        return f"{line}\n{kit.escape(hint)}."

    def audit(self, origin: Origin) -> None:
        self._guard(
            origin,
            "read the audit log",
            lambda: tell(
                self.client,
                origin,
                kit.audit_message(self.store.audit_entries(limit=20), zone=self.zone),
            ),
        )

    # -- re-run ---------------------------------------------------------------------------------
    def confirm_rerun(self, origin: Origin, ref: parsing.AssociationRef) -> None:
        """The slash command's confirm step: permission first, then what would run."""

        def work() -> None:
            decision = self.services.operators.may_rerun(origin.user)
            if not self._permitted(origin, "rerun", decision, ref):
                return
            item = self._target(origin, "rerun", ref)
            if item is not None:
                a = item.association
                # A failing association's kind is stored; only for another one ask AWS.
                can_fix = a.rerun_can_fix if a.failing else not self._sync_compliance_manual(a.key)
                tell(self.client, origin, kit.rerun_confirmation(item, rerun_can_fix=can_fix))

        self._guard(origin, "prepare the re-run", work)

    def _sync_compliance_manual(self, key: AssociationKey) -> bool:
        """Whether a re-run cannot change the association's compliance (SyncCompliance MANUAL),
        for an association the store does not hold as failing (the store keeps SyncCompliance and
        the failure kind of failing ones only), so this asks AWS (one DescribeAssociation; this
        runs after the ack). When AWS does not answer the question stays open: the confirmation goes out
        without the warning, and the re-run itself reads the state again and warns then."""
        try:
            state = association_state(self.services.access.ssm(key.scope), key)
        except AWS_ERRORS as exc:
            log.warning(
                "could not read the SyncCompliance of %s: %s",
                key.association_id,
                describe_error(exc),
            )
            return False
        return not state.rerun_can_fix

    def rerun(self, origin: Origin, key: AssociationKey) -> None:
        self._guard(origin, "re-run the association", lambda: self._rerun(origin, key))

    def _rerun(self, origin: Origin, key: AssociationKey) -> None:
        ref = self._ref(key)
        decision = self.services.operators.may_rerun(origin.user)
        if not self._permitted(origin, "rerun", decision, ref):
            return
        item = self._target(origin, "rerun", ref)
        if item is None:
            return
        settings = self.services.settings
        rerun, fresh = self.store.claim_rerun(
            key,
            by=origin.user,
            now=self.now(),
            cooldown_s=settings.rerun_cooldown_s,
            channel=origin.channel,
        )
        if not fresh:
            ends = rerun.at + timedelta(seconds=settings.rerun_cooldown_s)
            self._refuse(
                origin,
                "rerun",
                key,
                f"cooldown: started by {rerun.by} at {iso(rerun.at)}",
                f"{kit.inert(item.association.display_name, 80)} was already re-run by "
                f"{kit.mention(rerun.by)} at {kit.slack_date(rerun.at, '{time}', self.zone)}; "
                f"it can be re-run again after {kit.slack_date(ends, '{time}', self.zone)}.",
            )
            return
        try:
            ssm = self.services.access.ssm(key.scope)
            state = association_state(ssm, key)
            start_once(ssm, key)
        except AWS_ERRORS as exc:
            self.store.finish_rerun(rerun.id, outcome="failed", now=self.now())
            self._audit(origin, "rerun", "failed", key, describe_error(exc))
            self._tell(
                origin,
                f"Could not re-run {kit.inert(item.association.display_name, 80)} in "
                f"{kit.escape(key.account_id)} {kit.escape(key.region)}: "
                f"{self._aws_problem(exc, key)}",
            )
            return
        a = item.association
        reported = a.failure_kind == "reported"
        manual = not reported and not a.failing and not state.rerun_can_fix
        self._audit(
            origin,
            "rerun",
            "started",
            key,
            kind_label(a) if reported else "SyncCompliance MANUAL" if manual else None,
        )
        self._refresh(origin)
        minutes = max(1, round(self.services.followup_delay_s / 60))
        text = (
            f"↻ {kit.mention(origin.user)} re-ran {kit.inert(item.association.display_name, 80)} "
            f"({kit.escape(key.account_id)} {kit.escape(key.region)}). I'll check in about "
            f"{minutes} min whether it came back compliant."
        )
        if reported:
            text += f"\n:warning: *{kit.escape(kind_label(a))}*: {kit.escape(remedy(a))}"
        elif manual:
            text += (
                "\n:warning: Its SyncCompliance is MANUAL: compliance comes from "
                "PutComplianceItems, so this re-run cannot change it."
            )
        delete_original(origin)
        announce(self.client, origin, kit.notice(text))
        self.services.later(
            self.services.followup_delay_s,
            lambda: self.follow_up(origin, item, rerun),
            name=f"rerun-check-{key.association_id}",
        )

    def follow_up(self, origin: Origin, item: TrackedAssociation, rerun: Rerun) -> None:
        """Some minutes after a re-run: did the association come back compliant?"""
        key = item.key
        name = kit.inert(item.association.display_name, 80)
        try:
            state = association_state(self.services.access.ssm(key.scope), key)
        except AWS_ERRORS as exc:
            self.store.finish_rerun(rerun.id, outcome="unknown", now=self.now())
            announce(
                self.client,
                origin,
                kit.notice(
                    f"Could not check {name} after its re-run: {kit.inert(describe_error(exc), 300)}"
                ),
            )
            return
        if state.compliant:
            outcome, text = (
                "compliant",
                f":white_check_mark: {name} is COMPLIANT again after the re-run.",
            )
        elif state.status == "Pending":
            outcome, text = (
                "pending",
                f"{name} is still running after the re-run; the next sweep will tell.",
            )
        else:
            outcome = "still_failing"
            text = (
                f":x: {name} still fails after the re-run "
                f"({kit.escape(', '.join(f'{k} {v}' for k, v in sorted(state.counts.items())))}). "
                "Its *History* shows why."
            )
        self.store.finish_rerun(rerun.id, outcome=outcome, now=self.now())
        self.store.audit(
            actor=BOT_ACTOR,
            action="rerun_check",
            outcome=outcome,
            now=self.now(),
            key=key,
            channel=origin.channel,
            detail=f"re-run by {rerun.by} at {iso(rerun.at)}",
        )
        self._refresh(origin)
        announce(self.client, origin, kit.notice(text))

    # -- acknowledge ----------------------------------------------------------------------------
    def _may_acknowledge(self, origin: Origin, action: str, ref: parsing.AssociationRef) -> bool:
        decision = self.services.operators.may_acknowledge(origin.user)
        return self._permitted(origin, action, decision, ref)

    def _failing(self, origin: Origin, item: TrackedAssociation) -> bool:
        if item.association.failing:
            return True
        self._refuse(
            origin,
            "ack",
            item.key,
            f"not failing (status {item.association.status})",
            f"{kit.inert(item.association.display_name, 80)} is not failing (its status is "
            f"{kit.escape(item.association.status)}); there is nothing to acknowledge.",
        )
        return False

    def open_ack(
        self,
        origin: Origin,
        ref: parsing.AssociationRef,
        reason: str | None = None,
        duration: timedelta | None = None,
    ) -> None:
        """Open the acknowledgement modal (from the button, or `ack ID [for DURATION]` without a
        reason), its expiry preset to the duration asked for."""

        def work() -> None:
            if not self._may_acknowledge(origin, "ack", ref):
                return
            item = self._target(origin, "ack", ref)
            if item is None or not self._failing(origin, item):
                return
            context = kit.AckContext(
                key=item.key,
                channel=origin.channel,
                message_ts=origin.message_ts if origin.in_digest else None,
                response_url=None if origin.in_digest else origin.response_url,
            )
            preset, until = kit.ack_expiry(duration, self.now(), self.zone)
            self.client.views_open(
                trigger_id=str(origin.trigger_id),
                view=kit.ack_modal(item, context, reason=reason, preset=preset, until=until),
            )

        self._guard(origin, "open the acknowledgement form", work)

    def acknowledge(
        self,
        origin: Origin,
        ref: parsing.AssociationRef,
        *,
        reason: str,
        until: datetime,
    ) -> None:
        self._guard(
            origin,
            "acknowledge",
            lambda: self._acknowledge(origin, ref, reason=reason, until=until),
        )

    def _acknowledge(
        self, origin: Origin, ref: parsing.AssociationRef, *, reason: str, until: datetime
    ) -> None:
        if not self._may_acknowledge(origin, "ack", ref):
            return
        item = self._target(origin, "ack", ref)
        if item is None or not self._failing(origin, item):
            return
        now = self.now()
        ack = self.store.acknowledge(item.key, by=origin.user, reason=reason, until=until, now=now)
        self._audit(origin, "ack", "acknowledged", item.key, f"until {iso(until)}: {reason}")
        self._refresh(origin)
        acked = replace(item, ack=ack)
        announce(
            self.client,
            origin,
            kit.notice(
                f":white_check_mark: {kit.mention(origin.user)} acknowledged {kit.ack_line(acked, self.zone)}"
            ),
        )

    def unacknowledge(self, origin: Origin, ref: parsing.AssociationRef) -> None:
        def work() -> None:
            if not self._may_acknowledge(origin, "unack", ref):
                return
            item = self._target(origin, "unack", ref)
            if item is None:
                return
            name = kit.inert(item.association.display_name, 80)
            if not self.store.unacknowledge(item.key, by=origin.user, now=self.now()):
                self._refuse(
                    origin,
                    "unack",
                    item.key,
                    "not acknowledged",
                    f"{name} was not acknowledged; nothing changed.",
                )
                return
            self._audit(origin, "unack", "reopened", item.key)
            self._refresh(origin)
            announce(
                self.client,
                origin,
                kit.notice(
                    f"{kit.mention(origin.user)} reopened {name} "
                    f"({kit.escape(item.key.account_id)} {kit.escape(item.key.region)}): "
                    "it is back among the failing."
                ),
            )

        self._guard(origin, "reopen the association", work)

    # -- sweep ----------------------------------------------------------------------------------
    def sweep(self, origin: Origin) -> None:
        self._guard(origin, "sweep", lambda: self._sweep(origin))

    def _sweep(self, origin: Origin) -> None:
        services = self.services
        if not self._permitted(origin, "sweep", services.operators.may_sweep(origin.user), None):
            return
        runner = services.scheduled()
        if runner.sweep_busy():
            self._audit(origin, "sweep", "refused", detail="a sweep is already running")
            self._tell(
                origin, "A sweep is already running; its results will be in the next digest."
            )
            return
        self._audit(origin, "sweep", "started")
        self._tell(origin, "Sweeping every account-region now; I'll tell you here when it is done.")
        try:
            summary = runner.sweep("slack")
        except SweepBusy:
            self._audit(origin, "sweep", "refused", detail="a sweep is already running")
            self._tell(
                origin, "Another sweep started just now; its results will be in the next digest."
            )
            return
        except (SweepError, ConfigError) as exc:
            self._audit(origin, "sweep", "failed", detail=str(exc))
            self._tell(origin, f"The sweep could not start: {kit.inert(str(exc), 400)}")
            return
        self._audit(origin, "sweep", "done", detail=summary.sweep_id)
        if services.runner is not None and services.settings.alerts:
            services.runner.alert_new_failures()
        self._refresh(origin)
        self._tell(
            origin,
            f"Sweep finished in {summary.duration_s:.0f}s: {summary.scopes - summary.scopes_failed} of "
            f"{summary.scopes} account-regions, {kit.plural(summary.associations, 'association')}, "
            f"*{summary.failing}* failing ({summary.acknowledged} acknowledged)"
            + (
                f", *{summary.scopes_failed}* account-regions not swept."
                if summary.scopes_failed
                else "."
            )
            + " `/ssm3 status` shows them.",
        )


def _matches(t: TrackedAssociation, kind: str, value: str) -> bool:
    if kind == "account":
        return t.key.account_id == value
    if kind == "region":
        return t.key.region == value
    a = t.association
    return value in a.noncompliant_instances or any(
        target.instance_id == value for target in a.failed_targets
    )


def _filter(
    digest: Digest, kind: str, value: str, associations: int, noncompliant: set[InstanceKey]
) -> Digest:
    def covers(account_id: str, region: str, instance_id: str) -> bool:
        if kind == "account":
            return account_id == value
        if kind == "region":
            return region == value
        return instance_id == value

    failing = tuple(t for t in digest.failing if _matches(t, kind, value))
    acked = tuple(t for t in digest.acknowledged if _matches(t, kind, value))
    scopes = tuple(
        s
        for s in digest.scopes_failed
        if (kind == "account" and s.scope.account_id == value)
        or (kind == "region" and s.scope.region == value)
    )
    orphans = tuple(o for o in digest.orphans if covers(o.account_id, o.region, o.instance_id))
    check = digest.security_hub
    if check is not None:
        check = replace(
            check,
            unexplained=tuple(k for k in check.unexplained if covers(*_parts(k))),
            sweep_only=tuple(k for k in check.sweep_only if covers(*_parts(k))),
        )
    totals = DigestTotals(
        associations=associations,
        failing=len(failing) + len(acked),
        acknowledged=len(acked),
        # SSM.3's own count, within the filter.
        noncompliant_instances=sum(1 for k in noncompliant if covers(*_parts(k))),
        scopes=digest.totals.scopes,
        scopes_failed=len(scopes),
    )
    return replace(
        digest,
        failing=failing,
        acknowledged=acked,
        scopes_failed=scopes,
        totals=totals,
        orphans=orphans,
        security_hub=check,
    )


def _parts(key: InstanceKey) -> tuple[str, str, str]:
    return key.account_id, key.region, key.instance_id


def _unknown_filter(kind: str, value: str) -> str:
    shown = kit.inert(value, 60)
    if kind == "account":
        return f"I know no association in account {shown}. Is it in SSM3_ACCOUNTS, and has a sweep reached it?"
    if kind == "region":
        return f"I know no association in region {shown}. Is it in SSM3_REGIONS?"
    return f"No failing association targets instance {shown}."
