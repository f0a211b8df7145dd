"""Confirm COMPLIANT in Slack: the watch's looks run as scheduled jobs (bot/app/watches.py);
its verdict is said where the re-run or the fix was asked (the thread of the message clicked,
else ephemerally in the command's channel), with the run's failures and a fresh diagnosis
when it still fails. The association's account-region is then read again as a sweep reads it
(`Runner.refresh_scopes`: the store, the streak, its acknowledgement, the Security Hub sync,
the alerts and the digests all follow from one read, as after any sweep), and the alert and
the digests that show it are edited with the verdict."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import Block

from bot.app.reruns import watched_instances
from bot.app.watches import WATCH, Verdict, Watches
from bot.models import AssociationKey, ScheduledJob
from bot.slack import blocks as kit
from bot.slack.flows.refresh import Refresh
from bot.slack.replies import Origin, tell_later
from bot.slack.services import Services
from bot.util.logs import log_context

log = logging.getLogger(__name__)

FOLLOW_UP = "rerun_follow_up"  # the earlier five-minute check: rows a previous version left


def origin_of(reply_to: Mapping[str, Any]) -> Origin:
    """The Origin a job row carries (fields it does not know are left out)."""
    fields = {f.name for f in dataclasses.fields(Origin)}
    known = {k: v for k, v in reply_to.items() if k in fields}
    known.setdefault("user", "")
    return Origin(**known)


class WatchFlow:
    def __init__(self, services: Services, watches: Watches, refresh: Refresh) -> None:
        self.services = services
        self.watches = watches
        self.refresh = refresh
        services.jobs.register(WATCH, self._look)
        services.jobs.register(FOLLOW_UP, self._legacy_follow_up)

    def _look(self, job: ScheduledJob) -> str:
        watch = job.payload
        origin = origin_of(watch.get("reply_to") or {})
        with log_context(slack_user=origin.user or None):
            verdict = self.watches.look(job)
            if verdict is None:
                return "looking again"
            self._tell(origin, verdict)
        return verdict.outcome

    def _tell(self, origin: Origin, verdict: Verdict) -> None:
        key = verdict.watch.key
        if verdict.run is not None and verdict.run.finished:
            self._read_again(key)
        self.refresh.after_change(origin, key)
        tell_later(self.services.client, origin, self.message(verdict))

    def _read_again(self, key: AssociationKey) -> None:
        """The association's account-region read as a sweep reads it, so the store, the
        alerts and the digests agree with what the watch saw."""
        try:
            self.services.scheduled().refresh_scopes([key.scope], trigger="watch")
        except Exception as exc:  # the verdict stands; the next sweep brings the store up to date
            log.warning("could not read %s again after its watch: %s", key.scope, exc)

    def message(self, verdict: Verdict) -> kit.SlackMessage:
        watch = verdict.watch
        found = self.services.store.associations.tracked(
            keys=[watch.key], now=self.services.clock()
        )
        name = found[0].association.display_name if found else watch.key.association_id
        run = verdict.run
        words = kit.VerdictWords(
            name=name,
            outcome=verdict.outcome,
            action=watch.action,
            run_status=run.status if run else None,
            run_started=run is not None,
            watched=len(watch.instances),
            still_failing=verdict.still_failing,
            failures=[(f.instance_id, f.status, f.detailed_status) for f in verdict.failures],
            error=verdict.error.reason if verdict.error else None,
            watch_for=kit.watched_for(self.services.settings.watch_for),
        )
        more: list[Block] = []
        diagnosis = verdict.diagnosis
        if diagnosis is not None:
            kept = self.services.store.diagnoses.latest(watch.key)
            budget = kit.Budget(max_blocks=kit.MESSAGE_BLOCKS - 2)
            kit.add_groups(
                budget,
                kept.id if kept else 0,
                diagnosis,
                fixes=self.services.settings.fixes and kept is not None,
                thread_ts=origin_of(watch.reply_to).message_ts,
            )
            more = budget.used
        return kit.verdict_message(words, more)

    def _legacy_follow_up(self, job: ScheduledJob) -> str:
        """A five-minute check an earlier version scheduled: watched now like any re-run."""
        rerun = self.services.store.reruns.get(int(job.payload.get("rerun_id") or 0))
        if rerun is None or rerun.checked_at is not None:
            return "already checked"
        self.watches.begin(
            rerun.key,
            action="rerun",
            by=rerun.by,
            acted_at=rerun.at,
            instances=self._instances(rerun.key),
            rerun_id=rerun.id,
            channel=rerun.channel,
            reply_to=dict(job.payload.get("origin") or {}),
        )
        return "watched"

    def _instances(self, key: AssociationKey) -> tuple[str, ...]:
        found = self.services.store.associations.tracked(keys=[key], now=self.services.clock())
        return watched_instances(found[0]) if found else ()
