"""The Runner's jobs on APScheduler 3, with misfire and coalescing chosen on purpose.

- Jobs live in the memory job store and are rebuilt at every start; missed runs are not
  replayed by APScheduler (a persistent store with replace_existing=True would forget them
  anyway). What was missed is decided from SQLite instead: `Runner.startup()` posts the one
  digest that is due, and a reconcile job every few minutes does the same, so a digest that
  APScheduler skipped (a busy process, a misfire) still goes out, exactly once.
- coalesce=True and max_instances=1: a backlog of sweeps collapses into one run, and a slow
  sweep never overlaps itself.
- Work due later (re-run follow-ups, a sweep SIGTERM stopped) is rows in the store
  (bot/app/jobs.py); a job every JOBS_EVERY runs whatever is due, whichever process stored it.
- The sweep's misfire grace is half its period (a run later than that is not worth it: the
  next is near); the digest's is unlimited, since being late beats being silent.
- The evidence report (SSM3_REPORT_SCHEDULE) is claimed per period like the digest, with a
  reconcile job of its own; the store's upkeep (summaries, pruning) runs hourly.
"""

from __future__ import annotations

from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.scheduling.runner import Runner

EXPIRY_EVERY = timedelta(minutes=1)
RECONCILE_EVERY = timedelta(minutes=5)
JOBS_EVERY = timedelta(seconds=10)
UPKEEP_EVERY = timedelta(hours=1)


def build_scheduler(runner: Runner) -> BackgroundScheduler:
    """A scheduler (not started) with the sweep, digest, ack-expiry, reconcile and
    scheduled-jobs jobs."""
    zone = runner.settings.zone
    scheduler = BackgroundScheduler(
        timezone=zone, job_defaults={"coalesce": True, "max_instances": 1}
    )
    grace = max(60, int(runner.sweep_period.total_seconds() / 2))
    now = runner.clock()

    def every(span: timedelta) -> IntervalTrigger:
        # APScheduler would start the interval from the wall clock; the Runner's clock is the
        # one time source, so a scheduler built in virtual time fires in virtual time.
        return IntervalTrigger(seconds=span.total_seconds(), start_date=now + span, timezone=zone)

    scheduler.add_job(runner.sweep_job, runner.sweep_trigger, id="sweep", misfire_grace_time=grace)
    if runner.settings.triage != "off":  # SSM3_TRIAGE: the reconciling sweep of everything
        scheduler.add_job(
            runner.full_sweep_job,
            runner.full_sweep_trigger,
            id="full-sweep",
            misfire_grace_time=grace,
        )
    scheduler.add_job(
        runner.digest_job, runner.digest_trigger, id="digest", misfire_grace_time=None
    )
    scheduler.add_job(
        runner.expiry_job,
        every(EXPIRY_EVERY),
        id="ack-expiry",
    )
    scheduler.add_job(
        runner.digest_job,
        every(RECONCILE_EVERY),
        id="digest-reconcile",
    )
    scheduler.add_job(
        runner.jobs_job,
        every(JOBS_EVERY),
        id="scheduled-jobs",
    )
    reports = runner.reports
    if reports.trigger is not None:
        scheduler.add_job(reports.post_due, reports.trigger, id="report", misfire_grace_time=None)
        scheduler.add_job(reports.post_due, every(RECONCILE_EVERY), id="report-reconcile")
    scheduler.add_job(reports.upkeep, every(UPKEEP_EVERY), id="evidence-upkeep")
    return scheduler
