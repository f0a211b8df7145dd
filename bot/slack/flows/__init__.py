"""What each Slack request does, whichever way it was asked (slash command, button, modal), one
module a flow: `status`, `history`, `reruns`, `acks`, `sweeps`, `home`, each run inside the
`guard`. Listeners acknowledge Slack at once and call these from a worker thread: every AWS
call, sweep and upload happens here, after the ack. Each state change goes through its use
case, built once here (permission first, the audit log), is shown in the digest (edited in
place) and announced where it was asked for; each refusal is told to the person who asked."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.app.acknowledgements import Acknowledgements
from bot.app.reruns import Reruns
from bot.app.resolve import Miss, Target, resolve
from bot.app.sweeps import ManualSweeps
from bot.aws.actions import AwsAssociationActions
from bot.models import DigestMessage, SweepSummary, TrackedAssociation
from bot.scheduling.runner import SweepBusy
from bot.slack import blocks as kit
from bot.slack import parsing
from bot.slack.access import may_read
from bot.slack.flows.acks import AckFlow
from bot.slack.flows.guard import Guard
from bot.slack.flows.history import HistoryCommand
from bot.slack.flows.home import HomeTab
from bot.slack.flows.refresh import Refresh
from bot.slack.flows.reruns import RerunFlow
from bot.slack.flows.status import StatusCommand
from bot.slack.flows.sweeps import SweepFlow
from bot.slack.replies import Origin, tell
from bot.slack.services import Services
from bot.sweeping.sweep import SweepError
from bot.wiring.findings import findings_sync


class _ScheduledRunner:
    """`serve`'s Runner once it runs (it is set after the app is built), else a bare one."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def sweep(self, trigger: str) -> SweepSummary:
        return self.services.scheduled().sweep(trigger)

    def after_sweep(self, also: Iterable[DigestMessage | None] = ()) -> None:
        self.services.scheduled().after_sweep(also)

    def sweep_busy(self) -> bool:
        return self.services.scheduled().sweep_busy()


@dataclass
class Flows:
    """Every flow of the Slack app over one set of use cases, built once (`build`)."""

    services: Services
    guard: Guard
    home: HomeTab
    status: StatusCommand
    history: HistoryCommand
    reruns: RerunFlow
    acks: AckFlow
    sweeps: SweepFlow

    @classmethod
    def build(cls, services: Services) -> Flows:
        context = services.context
        store, permissions, clock = services.store, services.permissions, services.clock
        guard = Guard(services.client)
        home = HomeTab(services)
        services.after_sweep.append(home.refresh)
        refresh = Refresh(services, home)
        reruns = Reruns(
            store=store,
            permissions=permissions,
            actions=AwsAssociationActions(services.access),
            clock=clock,
            cooldown_s=services.settings.rerun_cooldown_s,
        )
        acks = Acknowledgements(
            store=store, permissions=permissions, clock=clock, sync=findings_sync(context)
        )
        sweeps = ManualSweeps(
            store=store,
            permissions=permissions,
            runner=_ScheduledRunner(services),
            clock=clock,
            busy=(SweepBusy,),
            failed=(SweepError,),
        )
        return cls(
            services=services,
            guard=guard,
            home=home,
            status=StatusCommand(services),
            history=HistoryCommand(services),
            reruns=RerunFlow(services, reruns, guard, refresh),
            acks=AckFlow(services, acks, guard, refresh),
            sweeps=SweepFlow(sweeps, guard, refresh, home),
        )

    def resolve(self, ref: Target) -> TrackedAssociation | Miss:
        """The one stored association `ref` names, or why there is none."""
        return resolve(self.services.store, ref, self.services.clock())

    # -- the read-only requests, in the guard ----------------------------------------------------
    def show_status(self, origin: Origin, command: parsing.Status) -> None:
        self.guard.run(origin, "show the status", lambda: self.status.show(origin, command))

    def show_history(self, origin: Origin, ref: Target) -> None:
        self.guard.run(
            origin, "read the history", lambda: self.history.show(origin, ref), ref.association_id
        )

    def show_audit(self, origin: Origin) -> None:
        services = self.services

        def work() -> None:
            if may_read(services, origin, "audit log"):
                entries = services.store.audit.entries(limit=20)
                tell(
                    services.client, origin, kit.audit_message(entries, zone=services.settings.zone)
                )

        self.guard.run(origin, "read the audit log", work)
