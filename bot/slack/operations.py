"""What each Slack request does, whichever way it was asked (slash command, button, modal).

Listeners acknowledge Slack at once and then call these from a worker thread: every AWS call,
sweep and upload happens here, after the ack. Each state change is permission-checked first,
written to the audit log, shown in the digest (edited in place) and announced where it was
asked for; each refusal is audited and told to the person who asked.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.error import URLError

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app.acknowledgements import Acknowledgements
from bot.app.findings_triggers import sync_change
from bot.app.home import HomeAudience
from bot.app.outcomes import Refusal
from bot.app.reruns import AwsAssociationActions, Reruns, StartFailed
from bot.app.resolve import Miss, resolve
from bot.app.sweeps import ManualSweeps, NotStarted
from bot.aws.errors import describe_error
from bot.causes import kind_label, remedy
from bot.core.routing import routes_of
from bot.logs import log_context
from bot.models import AssociationKey, DigestMessage, Rerun, ScheduledJob, TrackedAssociation
from bot.runner import SweepBusy
from bot.slack import access, faults, parsing
from bot.slack import blocks as kit
from bot.slack.history import AWS_ERRORS, HistoryCommand, aws_problem
from bot.slack.home import HomeTab
from bot.slack.replies import Origin, announce, delete_original, tell
from bot.slack.services import Services
from bot.slack.status import StatusCommand
from bot.slack.wording import miss_message, refusal_message

log = logging.getLogger(__name__)

FOLLOW_UP = "rerun_follow_up"  # a scheduled job: some minutes after a re-run, check it


class Operations:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store
        self.client = services.client
        self.zone = services.settings.zone
        self._status = StatusCommand(services, self.lookup)
        self._history = HistoryCommand(services)
        self.home = HomeTab(services, first_for=self._routes_first)
        self.audience = HomeAudience(store=services.store, clock=services.clock)
        services.after_sweep.append(self.refresh_homes)
        services.jobs.register(FOLLOW_UP, self._follow_up_job)

    def home_opened(self, user: str, teams: tuple[str, ...] = ()) -> None:
        """Someone opened the Home tab: remember them (a sweep refreshes it), publish it."""
        self.audience.opened(user)
        self.home.publish(user, teams=teams)

    def refresh_homes(self) -> None:
        """After a sweep: the Home tabs of those who opened theirs lately, published anew."""
        users = self.audience.recent()
        if users:
            state = self.home.state()  # read once: only each viewer's ordering differs
            for user in users:
                self.home.publish(user, state)

    def _routes_first(self, user: str) -> Callable[[TrackedAssociation], bool] | None:
        """On the Home tab, the failures of the routes the user belongs to come first."""

        def members(group: str) -> frozenset[str] | None:
            found = self.services.operators.members.members(group)  # one cache
            return found if isinstance(found, frozenset) else None

        mine = routes_of(user, self.services.settings.routes, members)
        if not mine:
            return None
        return lambda t: any(
            r.matches(t.key.account_id, t.key.region, t.association.document_name) for r in mine
        )

    # -- helpers --------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.services.clock()

    def _tell(self, origin: Origin, text: str) -> None:
        tell(self.client, origin, kit.notice(text))

    def resolve(self, ref: parsing.AssociationRef) -> TrackedAssociation | Miss:
        """The one stored association `ref` names, or why there is none."""
        return resolve(self.store, ref, self.services.clock())

    def lookup(self, origin: Origin, ref: parsing.AssociationRef) -> TrackedAssociation | None:
        """The stored association the user named; tells them plainly when there is none."""
        found = self.resolve(ref)
        if isinstance(found, Miss):
            self._tell(origin, miss_message(found))
            return None
        return found

    @staticmethod
    def _ref(key: AssociationKey) -> parsing.AssociationRef:
        return parsing.AssociationRef(key.association_id, key.account_id, key.region)

    def _refresh(self, origin: Origin, key: AssociationKey | None = None) -> None:
        """After a change: edit today's digests, the digest clicked in and each channel's latest,
        and the alerts that told of `key`."""
        runner = self.services.scheduled()
        runner.refresh_digest(also=self._digests_shown(origin))
        if key is not None:
            runner.refresh_alerts([key])
        if origin.home:  # asked from the Home tab: that is published again too
            self.home.publish(origin.user)

    def _digests_shown(self, origin: Origin) -> list[DigestMessage | None]:
        """Beyond today's digests: the one clicked in and each channel's latest."""
        digests = self.store.digests
        clicked = (
            digests.get(str(origin.channel), str(origin.message_ts)) if origin.in_digest else None
        )
        return [clicked, *(digests.latest(c.id) for c in self.services.settings.channels)]

    def _guard(
        self, origin: Origin, what: str, work: Callable[[], None], about: str | None = None
    ) -> None:
        """Run one request's work; any failure becomes one line for the user, never a trace.
        Its log lines name the Slack user and the association (`about`) where known."""
        with log_context(slack_user=origin.user or None, association_id=about):
            self._guarded(origin, what, work)

    def _guarded(self, origin: Origin, what: str, work: Callable[[], None]) -> None:
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
        self._guard(origin, "show the status", lambda: self._status.show(origin, command))

    def history(self, origin: Origin, ref: parsing.AssociationRef) -> None:
        self._guard(
            origin, "read the history", lambda: self._history.show(origin, ref), ref.association_id
        )

    def audit(self, origin: Origin) -> None:
        def work() -> None:
            if access.may_read(self.services, origin, "audit log"):
                entries = self.store.audit.entries(limit=20)
                tell(self.client, origin, kit.audit_message(entries, zone=self.zone))

        self._guard(origin, "read the audit log", work)

    # -- re-run ---------------------------------------------------------------------------------
    def _reruns(self, origin: Origin) -> Reruns:
        return Reruns(
            store=self.store,
            permissions=access.permissions(self.services, origin),
            actions=AwsAssociationActions(self.services.access),
            clock=self.services.clock,
            cooldown_s=self.services.settings.rerun_cooldown_s,
        )

    def confirm_rerun(self, origin: Origin, ref: parsing.AssociationRef) -> None:
        """The slash command's confirm step: permission first, then what would run."""

        def work() -> None:
            reruns = self._reruns(origin)
            item = reruns.target(origin.user, ref, channel=origin.channel)
            if isinstance(item, Refusal):
                self._tell(origin, refusal_message(item))
                return
            can_fix = reruns.can_fix(item)
            tell(self.client, origin, kit.rerun_confirmation(item, rerun_can_fix=can_fix))

        self._guard(origin, "prepare the re-run", work, ref.association_id)

    def rerun(self, origin: Origin, key: AssociationKey) -> None:
        self._guard(
            origin,
            "re-run the association",
            lambda: self._rerun(origin, key),
            key.association_id,
        )

    def _rerun(self, origin: Origin, key: AssociationKey) -> None:
        reruns = self._reruns(origin)
        outcome = reruns.start(origin.user, self._ref(key), channel=origin.channel)
        if isinstance(outcome, Refusal):
            cooldown = self.services.settings.rerun_cooldown_s
            self._tell(origin, refusal_message(outcome, self.zone, cooldown))
            return
        name = kit.inert(outcome.item.association.display_name, 80)
        where = f"{kit.escape(key.account_id)} {kit.escape(key.region)}"
        if isinstance(outcome, StartFailed):
            self._tell(
                origin,
                f"Could not re-run {name} in {where}: {aws_problem(outcome.error, key, self.services.settings.role_name)}",
            )
            return
        self._refresh(origin, key)
        minutes = max(1, round(self.services.followup_delay_s / 60))
        text = (
            f"↻ {kit.mention(origin.user)} re-ran {name} ({where}). I'll check in about "
            f"{minutes} min whether it came back compliant."
        )
        a = outcome.item.association
        if a.failure_kind == "reported":
            text += f"\n:warning: *{kit.escape(kind_label(a))}*: {kit.escape(remedy(a))}"
        elif not outcome.can_fix:
            text += (
                "\n:warning: Its SyncCompliance is MANUAL: compliance comes from "
                "PutComplianceItems, so this re-run cannot change it."
            )
        delete_original(origin)
        announce(self.client, origin, kit.notice(text))
        # A row, not a timer alone: the check still happens after a restart or a deploy.
        self.services.jobs.schedule(
            FOLLOW_UP,
            self.services.followup_delay_s,
            {
                "origin": dataclasses.asdict(origin),
                "key": [key.account_id, key.region, key.association_id],
                "rerun_id": outcome.rerun.id,
            },
        )

    def _follow_up_job(self, job: ScheduledJob) -> str:
        """The scheduled follow-up of a re-run, from what its row says."""
        fields = {f.name for f in dataclasses.fields(Origin)}
        origin = Origin(**{k: v for k, v in job.payload["origin"].items() if k in fields})
        key = AssociationKey(*job.payload["key"])
        rerun = self.store.reruns.get(int(job.payload["rerun_id"]))
        if rerun is None or rerun.checked_at is not None:
            return "already checked"
        found = self.store.associations.tracked(keys=[key], now=self.now())
        if not found:
            return "no longer tracked"
        with log_context(slack_user=origin.user or None, association_id=key.association_id):
            self.follow_up(origin, found[0], rerun)
        return "checked"

    def follow_up(self, origin: Origin, item: TrackedAssociation, rerun: Rerun) -> None:
        """Some minutes after a re-run: say whether the association came back compliant."""
        checked = self._reruns(origin).follow_up(item, rerun, channel=origin.channel)
        name = kit.inert(item.association.display_name, 80)
        if checked.error is not None:
            announce(
                self.client,
                origin,
                kit.notice(
                    f"Could not check {name} after its re-run: "
                    f"{kit.inert(describe_error(checked.error), 300)}"
                ),
            )
            return
        if checked.outcome == "compliant":
            text = f":white_check_mark: {name} is COMPLIANT again after the re-run."
        elif checked.outcome == "pending":
            text = f"{name} is still running after the re-run; the next sweep will tell."
        else:
            assert checked.state is not None
            counts = ", ".join(f"{k} {v}" for k, v in sorted(checked.state.counts.items()))
            text = (
                f":x: {name} still fails after the re-run ({kit.escape(counts)}). "
                "Its *History* shows why."
            )
        self._refresh(origin, item.key)
        announce(self.client, origin, kit.notice(text))

    # -- acknowledge ----------------------------------------------------------------------------
    def _acks(self, origin: Origin) -> Acknowledgements:
        return Acknowledgements(
            store=self.store,
            permissions=access.permissions(self.services, origin),
            clock=self.services.clock,
        )

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
            item = self._acks(origin).target(origin.user, ref, channel=origin.channel)
            if isinstance(item, Refusal):
                self._tell(origin, refusal_message(item))
                return
            context = kit.AckContext(
                key=item.key,
                channel=origin.channel,
                message_ts=origin.message_ts if origin.in_digest else None,
                response_url=None if origin.in_digest else origin.response_url,
                home=origin.home,
            )
            preset, until = kit.ack_expiry(duration, self.now(), self.zone)
            self.client.views_open(
                trigger_id=str(origin.trigger_id),
                view=kit.ack_modal(item, context, reason=reason, preset=preset, until=until),
            )

        self._guard(origin, "open the acknowledgement form", work, ref.association_id)

    def acknowledge(
        self,
        origin: Origin,
        ref: parsing.AssociationRef,
        *,
        reason: str,
        until: datetime,
    ) -> None:
        def work() -> None:
            outcome = self._acks(origin).acknowledge(
                origin.user,
                ref,
                reason=reason,
                until=until,
                channel=origin.channel,
                actor_name=origin.user_name,
            )
            if isinstance(outcome, Refusal):
                self._tell(origin, refusal_message(outcome))
                return
            self._refresh(origin, outcome.item.key)
            announce(
                self.client,
                origin,
                kit.notice(
                    f":white_check_mark: {kit.mention(origin.user)} acknowledged "
                    f"{kit.ack_line(outcome.item, self.zone)}"
                    + self._security_hub(origin, outcome.item, acknowledged=True)
                ),
            )

        self._guard(origin, "acknowledge", work, ref.association_id)

    def unacknowledge(self, origin: Origin, ref: parsing.AssociationRef) -> None:
        def work() -> None:
            outcome = self._acks(origin).unacknowledge(origin.user, ref, channel=origin.channel)
            if isinstance(outcome, Refusal):
                self._tell(origin, refusal_message(outcome))
                return
            key = outcome.item.key
            self._refresh(origin, key)
            announce(
                self.client,
                origin,
                kit.notice(
                    f"{kit.mention(origin.user)} reopened "
                    f"{kit.inert(outcome.item.association.display_name, 80)} "
                    f"({kit.escape(key.account_id)} {kit.escape(key.region)}): "
                    "it is back among the failing."
                    + self._security_hub(origin, outcome.item, acknowledged=False)
                ),
            )

        self._guard(origin, "reopen the association", work, ref.association_id)

    def _security_hub(self, origin: Origin, item: TrackedAssociation, *, acknowledged: bool) -> str:
        """SSM3_SECURITYHUB=sync: the findings brought in line; their one line for the reply."""
        services = self.services
        line = sync_change(
            settings=services.settings,
            access=services.access,
            store=self.store,
            clock=services.clock,
            item=item,
            actor=origin.user,
            channel=origin.channel,
            acknowledged=acknowledged,
        )
        return f"\n{kit.escape(line)}" if line else ""

    # -- sweep ----------------------------------------------------------------------------------
    def sweep(self, origin: Origin) -> None:
        self._guard(origin, "sweep", lambda: self._sweep(origin))

    def _sweep(self, origin: Origin) -> None:
        services = self.services
        sweeps = ManualSweeps(
            store=self.store,
            permissions=access.permissions(self.services, origin),
            runner=services.scheduled(),
            clock=services.clock,
            busy=(SweepBusy,),
        )
        refused = sweeps.begin(origin.user, channel=origin.channel)
        if refused is not None:
            self._tell(
                origin,
                refused.decision.reason
                if refused.decision
                else "A sweep is already running; its results will be in the next digest.",
            )
            return
        self._tell(origin, "Sweeping every account-region now; I'll tell you here when it is done.")
        outcome = sweeps.run(
            origin.user, trigger="slack", channel=origin.channel, also=self._digests_shown(origin)
        )
        if isinstance(outcome, Refusal):
            self._tell(
                origin, "Another sweep started just now; its results will be in the next digest."
            )
            return
        if isinstance(outcome, NotStarted):
            self._tell(origin, f"The sweep could not start: {kit.inert(outcome.error, 400)}")
            return
        summary = outcome.summary
        if origin.home:  # asked from the Home tab: that is published again too
            self.home.publish(origin.user)
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
