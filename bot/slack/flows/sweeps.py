"""`/ssm3 sweep` and the Home tab's Sweep button: permission and the lease first, then the sweep
and the scheduled sweep's after-sweep step, told to the person who asked."""

from __future__ import annotations

from bot.app.outcomes import Refusal
from bot.app.sweeps import ManualSweeps, NotStarted
from bot.slack import blocks as kit
from bot.slack.flows.guard import Guard
from bot.slack.flows.home import HomeTab
from bot.slack.flows.refresh import Refresh
from bot.slack.replies import Origin


class SweepFlow:
    def __init__(self, sweeps: ManualSweeps, guard: Guard, refresh: Refresh, home: HomeTab) -> None:
        self.sweeps = sweeps
        self.guard = guard
        self.refresh = refresh
        self.home = home

    def sweep(self, origin: Origin) -> None:
        self.guard.run(origin, "sweep", lambda: self._sweep(origin))

    def _sweep(self, origin: Origin) -> None:
        tell = self.guard.tell
        refused = self.sweeps.begin(origin.user, channel=origin.channel)
        if refused is not None:
            tell(
                origin,
                refused.decision.reason
                if refused.decision
                else "A sweep is already running; its results will be in the next digest.",
            )
            return
        tell(origin, "Sweeping every account-region now; I'll tell you here when it is done.")
        outcome = self.sweeps.run(
            origin.user,
            trigger="slack",
            channel=origin.channel,
            also=self.refresh.digests_shown(origin),
        )
        if isinstance(outcome, Refusal):
            tell(origin, "Another sweep started just now; its results will be in the next digest.")
            return
        if isinstance(outcome, NotStarted):
            tell(origin, f"The sweep could not start: {kit.inert(outcome.error, 400)}")
            return
        summary = outcome.summary
        if origin.home:  # asked from the Home tab: that is published again too
            self.home.publish(origin.user)
        tell(
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
