"""What each Slack request does, whichever way it was asked (slash command, button, modal).

Listeners acknowledge Slack at once and then call these from a worker thread: every AWS call,
sweep and upload happens here, after the ack. Each state change is permission-checked first,
written to the audit log, shown in the digest (edited in place) and announced where it was
asked for; each refusal is audited and told to the person who asked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.aws.actions import association_state, start_once
from bot.aws.history import fetch_history
from bot.aws.reader import describe_error
from bot.clock import iso
from bot.config import ConfigError
from bot.digest import Digest, DigestTotals, build_digest
from bot.models import AssociationKey, Scope, TrackedAssociation
from bot.slack import blocks as kit
from bot.slack import parsing
from bot.slack.delivery import Delivery
from bot.slack.replies import Origin, announce, delete_original, tell
from bot.slack.services import Services
from bot.store import DigestPost, Rerun
from bot.sweep import SweepError, run_sweep

log = logging.getLogger(__name__)

BOT_ACTOR = "ssm3bot"
AWS_ERRORS = (ClientError, BotoCoreError)


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

    def lookup(self, origin: Origin, ref: parsing.AssociationRef) -> TrackedAssociation | None:
        """The stored association the user named; tells them plainly when there is none."""
        found = [
            t
            for t in self.store.find(ref.association_id)
            if (ref.account_id is None or t.key.account_id == ref.account_id)
            and (ref.region is None or t.key.region == ref.region)
        ]
        if len(found) == 1:
            return found[0]
        shown = kit.inert(ref.association_id, 60)
        if not found:
            self._tell(
                origin,
                f"I don't know association {shown}: no sweep has seen it. Check the ID, or run "
                "`/ssm3 sweep` if it is new.",
            )
        else:
            self._tell(
                origin, f"{shown} is in {len(found)} account-regions; name it by its ARN instead."
            )
        return None

    def lookup_key(self, origin: Origin, key: AssociationKey) -> TrackedAssociation | None:
        return self.lookup(
            origin, parsing.AssociationRef(key.association_id, key.account_id, key.region)
        )

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
            log.warning("Slack refused while trying to %s: %s", what, exc)
            error = str(exc.response.get("error") or "an error")
            self._tell(origin, f"Could not {what}: Slack answered {kit.inert(error, 100)}.")
        except SlackClientError as exc:
            log.warning("could not reach Slack while trying to %s: %s", what, exc)
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
        if command.kind != "all" and command.value:
            value = command.value
            known = self._known(command.kind, value)
            if not known:
                self._tell(origin, _unknown_filter(command.kind, value))
                return
            digest = _filter(digest, command.kind, value, known)
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
            ),
        )

    def _known(self, kind: str, value: str) -> int:
        """How many stored associations the filter covers (0: it names nothing we know)."""
        tracked = self.store.tracked()
        if kind == "account":
            return sum(1 for t in tracked if t.key.account_id == value)
        if kind == "region":
            return sum(1 for t in tracked if t.key.region == value)
        return sum(
            1
            for t in tracked
            if any(target.instance_id == value for target in t.association.failed_targets)
        )

    def history(self, origin: Origin, ref: parsing.AssociationRef) -> None:
        self._guard(origin, "read the history", lambda: self._history(origin, ref))

    def _history(self, origin: Origin, ref: parsing.AssociationRef) -> None:
        if ref.account_id and ref.region:
            key = AssociationKey(ref.account_id, ref.region, ref.association_id)
        else:
            item = self.lookup(origin, ref)
            if item is None:
                return
            key = item.key
        ssm = self.services.access.ssm(Scope(key.account_id, key.region))
        history = fetch_history(ssm, key)
        tell(self.client, origin, kit.history_message(history, now=self.now(), zone=self.zone))

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
            item = self.lookup(origin, ref)
            if item is None or not self._may_rerun(origin, item.key):
                return
            tell(self.client, origin, kit.rerun_confirmation(item, manual=False))

        self._guard(origin, "prepare the re-run", work)

    def _may_rerun(self, origin: Origin, key: AssociationKey) -> bool:
        decision = self.services.operators.may_rerun(origin.user)
        if not decision.allowed:
            self._audit(origin, "rerun", "refused", key, decision.reason)
            self._tell(origin, decision.reason)
        return decision.allowed

    def rerun(self, origin: Origin, key: AssociationKey) -> None:
        self._guard(origin, "re-run the association", lambda: self._rerun(origin, key))

    def _rerun(self, origin: Origin, key: AssociationKey) -> None:
        item = self.lookup_key(origin, key)
        if item is None or not self._may_rerun(origin, key):
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
            self._audit(
                origin,
                "rerun",
                "refused",
                key,
                f"cooldown: started by {rerun.by} at {iso(rerun.at)}",
            )
            self._tell(
                origin,
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
            raise
        manual = not state.rerun_can_fix
        self._audit(origin, "rerun", "started", key, "SyncCompliance MANUAL" if manual else None)
        self._refresh(origin)
        minutes = max(1, round(self.services.followup_delay_s / 60))
        text = (
            f"↻ {kit.mention(origin.user)} re-ran {kit.inert(item.association.display_name, 80)} "
            f"({kit.escape(key.account_id)} {kit.escape(key.region)}). I'll check in about "
            f"{minutes} min whether it came back compliant."
        )
        if manual:
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
    def _may_acknowledge(self, origin: Origin, key: AssociationKey, action: str) -> bool:
        decision = self.services.operators.may_acknowledge(origin.user)
        if not decision.allowed:
            self._audit(origin, action, "refused", key, decision.reason)
            self._tell(origin, decision.reason)
        return decision.allowed

    def _failing(self, origin: Origin, item: TrackedAssociation) -> bool:
        if item.association.failing:
            return True
        self._tell(
            origin,
            f"{kit.inert(item.association.display_name, 80)} is not failing (its status is "
            f"{kit.escape(item.association.status)}); there is nothing to acknowledge.",
        )
        return False

    def open_ack(
        self, origin: Origin, ref: parsing.AssociationRef, reason: str | None = None
    ) -> None:
        """Open the acknowledgement modal (from the button, or `ack ID` without a reason)."""

        def work() -> None:
            item = self.lookup(origin, ref)
            if item is None or not self._failing(origin, item):
                return
            if not self._may_acknowledge(origin, item.key, "ack"):
                return
            context = kit.AckContext(
                key=item.key,
                channel=origin.channel,
                message_ts=origin.message_ts if origin.in_digest else None,
                response_url=None if origin.in_digest else origin.response_url,
            )
            self.client.views_open(
                trigger_id=str(origin.trigger_id),
                view=kit.ack_modal(item, context, reason=reason),
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
        item = self.lookup(origin, ref)
        if item is None or not self._failing(origin, item):
            return
        if not self._may_acknowledge(origin, item.key, "ack"):
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
            item = self.lookup(origin, ref)
            if item is None or not self._may_acknowledge(origin, item.key, "unack"):
                return
            name = kit.inert(item.association.display_name, 80)
            if not self.store.unacknowledge(item.key, by=origin.user, now=self.now()):
                self._tell(origin, f"{name} was not acknowledged; nothing changed.")
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
        if not services.sweep_lock.acquire(blocking=False):
            self._audit(origin, "sweep", "refused", detail="a sweep is already running")
            self._tell(
                origin, "A sweep is already running; its results will be in the next digest."
            )
            return
        try:
            self._audit(origin, "sweep", "started")
            try:
                summary = run_sweep(
                    settings=services.settings,
                    access=services.access,
                    store=self.store,
                    now=services.clock,
                    trigger="slack",
                )
            except (SweepError, ConfigError) as exc:
                self._audit(origin, "sweep", "failed", detail=str(exc))
                self._tell(origin, f"The sweep could not start: {kit.inert(str(exc), 400)}")
                return
        finally:
            services.sweep_lock.release()
        self._audit(origin, "sweep", "done", detail=summary.sweep_id)
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


def _filter(digest: Digest, kind: str, value: str, associations: int) -> Digest:
    def matches(t: TrackedAssociation) -> bool:
        if kind == "account":
            return t.key.account_id == value
        if kind == "region":
            return t.key.region == value
        return any(target.instance_id == value for target in t.association.failed_targets)

    failing = tuple(t for t in digest.failing if matches(t))
    acked = tuple(t for t in digest.acknowledged if matches(t))
    scopes = tuple(
        s
        for s in digest.scopes_failed
        if (kind == "account" and s.scope.account_id == value)
        or (kind == "region" and s.scope.region == value)
    )
    instances = {
        (t.key.account_id, t.key.region, target.instance_id)
        for t in (*failing, *acked)
        for target in t.association.failed_targets
    }
    totals = DigestTotals(
        associations=associations,
        failing=len(failing) + len(acked),
        acknowledged=len(acked),
        noncompliant_instances=len(instances),
        scopes=digest.totals.scopes,
        scopes_failed=len(scopes),
    )
    return replace(digest, failing=failing, acknowledged=acked, scopes_failed=scopes, totals=totals)


def _unknown_filter(kind: str, value: str) -> str:
    shown = kit.inert(value, 60)
    if kind == "account":
        return f"I know no association in account {shown}. Is it in SSM3_ACCOUNTS, and has a sweep reached it?"
    if kind == "region":
        return f"I know no association in region {shown}. Is it in SSM3_REGIONS?"
    return f"No failing association targets instance {shown}."
