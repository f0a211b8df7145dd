"""One sweep: resolve the account-regions, read them in a bounded pool, stream results to the store.

Memory stays bounded however large the organisation: scopes are handed to the pool a few at
a time (at most twice the concurrency are read or waiting to be stored at once), each result
is written to SQLite and dropped as soon as it arrives, and each scope's client is closed
when the scope is read.

An error in one scope (AccessDenied, throttling that outlasted the retries, an endpoint that
does not answer) marks that scope failed with its reason; it never makes the scope look
compliant and never stops the others.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from bot.aws.errors import AWS_ERRORS, describe_error
from bot.aws.reader import ScopeReader
from bot.aws.session import AwsAccess
from bot.models import Scope, ScopeResult, SweepCoverage, SweepSummary
from bot.settings.config import ConfigError, Settings
from bot.store import Store
from bot.sweeping.hubs import HubsRead, check_security_hubs
from bot.util.clock import utcnow
from bot.util.logs import log_context
from bot.wiring.context import Context
from bot.wiring.findings import after_read

log = logging.getLogger(__name__)

ORG_ACCOUNTS = "org_accounts"
ORG_ACCOUNTS_TTL = timedelta(minutes=15)

Progress = Callable[[int, int, ScopeResult], None]

# Scopes read or waiting to be stored at once, per worker: enough that no worker waits for
# the store, few enough that results never pile up in memory.
IN_FLIGHT_PER_WORKER = 2


class SweepError(RuntimeError):
    """The sweep could not start: no scope could even be listed (e.g. no credentials)."""


class SweepInterrupted(SweepError):
    """Asked to stop (SIGTERM): the scopes read so far are stored, the sweep is not finished,
    and `run_sweep(resume=sweep_id)` completes it."""

    def __init__(self, sweep_id: str, done: int, total: int) -> None:
        super().__init__(f"sweep {sweep_id} stopped after {done} of {total} account-regions")
        self.sweep_id = sweep_id
        self.done = done
        self.total = total


def resolve_scopes(
    settings: Settings,
    access: AwsAccess,
    store: Store | None = None,
    now: datetime | None = None,
) -> list[Scope]:
    """The account-regions to sweep, from SSM3_ACCOUNTS / SSM3_REGIONS and the caller's identity.

    With SSM3_ACCOUNTS=org the account list is kept for ORG_ACCOUNTS_TTL: Organizations allows
    only a few calls a second per organisation, and two sweeps in a row need not ask twice.
    """
    regions = settings.regions or ((access.default_region,) if access.default_region else ())
    if not regions:
        raise ConfigError(
            "SSM3_REGIONS",
            "not set, and no AWS region is configured (set AWS_REGION or SSM3_REGIONS)",
        )
    try:
        if settings.accounts_from_org:
            accounts = _organization_accounts(access, store, now or utcnow())
        else:
            accounts = list(settings.accounts) or [access.caller_account]
    except AWS_ERRORS as exc:
        raise SweepError(f"cannot list the accounts to sweep: {describe_error(exc)}") from exc
    return [Scope(account, region) for account in accounts for region in regions]


def _organization_accounts(access: AwsAccess, store: Store | None, now: datetime) -> list[str]:
    """The ACTIVE accounts' IDs; their names are stored with the list (the same call)."""
    cached = store.cache.get(ORG_ACCOUNTS, max_age=ORG_ACCOUNTS_TTL, now=now) if store else None
    if isinstance(cached, list):
        return [str(account) for account in cached]
    listed = access.organization_accounts()
    accounts = [account_id for account_id, _ in listed]
    if store is not None:
        store.account_names.remember(dict(listed), now=now)
        store.cache.put(ORG_ACCOUNTS, accounts, now=now)
    return accounts


def read_scope(
    access: AwsAccess, scope: Scope, store: Store, now: Callable[[], datetime] = utcnow
) -> ScopeResult:
    """Read one scope; AssumeRole and client errors become a failed ScopeResult, not an exception."""
    with log_context(account_id=scope.account_id, region=scope.region):
        return _read_scope(access, scope, store, now)


def _read_scope(
    access: AwsAccess, scope: Scope, store: Store, now: Callable[[], datetime]
) -> ScopeResult:
    started = now()
    try:
        client = access.ssm(scope)
    except AWS_ERRORS as exc:
        access.forget(scope.account_id)
        return ScopeResult(scope, False, describe_error(exc), (), started, 0.0)
    try:
        return ScopeReader(
            client,
            scope,
            prior=store.associations.prior_drilldowns(scope),
            prior_compliance=store.associations.prior_compliance(scope),
            now=now,
        ).read()
    finally:
        client.close()


def new_sweep_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def run_sweep(
    *,
    settings: Settings,
    access: AwsAccess,
    store: Store,
    now: Callable[[], datetime] = utcnow,
    progress: Progress | None = None,
    trigger: str = "cli",
    scopes: list[Scope] | None = None,
    stop: threading.Event | None = None,
    resume: str | None = None,
    coverage: SweepCoverage | None = None,
) -> SweepSummary:
    """Sweep every scope (or only `scopes`) and store the outcome; return the sweep's summary.

    `stop` set: read no further scope, store those being read, and raise SweepInterrupted.
    `resume`: complete that unfinished sweep, reading only the scopes it has not stored.
    `coverage` records what the sweep stands for: by default `full` for every scope and
    `partial` for given ones (bot/sweeping/triage.py passes `triage`).
    """
    targets = scopes if scopes is not None else resolve_scopes(settings, access, store, now())
    clock = time.monotonic()
    kind: SweepCoverage = coverage or ("full" if scopes is None else "partial")
    sweep_id, started, stored = _begin(
        store, targets, now=now(), trigger=trigger, resume=resume, kind=kind
    )
    with log_context(sweep_id=sweep_id):
        swept = _read_scopes(
            settings=settings,
            access=access,
            store=store,
            now=now,
            progress=progress,
            stop=stop,
            targets=targets,
            sweep_id=sweep_id,
            started=started,
            stored=stored,
        )
        if scopes is None:  # a sweep of the whole configuration: what is not in it is not watched
            forgotten = store.sweeps.forget_other_scopes(targets, sweep_id=sweep_id, now=now())
            if forgotten:
                log.info("no longer configured, forgotten: %s", ", ".join(map(str, forgotten)))
        hubs = HubsRead(check=None)  # a partial or triage read: no cross-check of its own
        if settings.securityhub != "off" and swept and scopes is None:
            hubs = check_security_hubs(settings, access, store, swept, now())
            if hubs.check is not None:
                store.sweeps.save_security_hub_check(sweep_id, hubs.check)
        summary = store.sweeps.finish(sweep_id, now(), time.monotonic() - clock)
        after_read(  # only what this read reached: never the whole aggregator
            Context(settings, store, access, now),
            coverage=kind,
            scopes=swept,
            failed=hubs.failed,
            failed_v2=hubs.failed_v2,
        )
        return summary


def _read_scopes(
    *,
    settings: Settings,
    access: AwsAccess,
    store: Store,
    now: Callable[[], datetime],
    progress: Progress | None,
    stop: threading.Event | None,
    targets: list[Scope],
    sweep_id: str,
    started: datetime,
    stored: dict[Scope, bool],
) -> list[Scope]:
    """Read and store the scopes not stored yet, a bounded window at a time; the scopes read
    ok (those stored before included). Raises SweepInterrupted when `stop` is set."""
    window = IN_FLIGHT_PER_WORKER * settings.concurrency
    todo = [scope for scope in targets if scope not in stored]
    pending = iter(todo)
    in_flight: dict[Future[ScopeResult], Scope] = {}
    done = len(targets) - len(todo)
    sent = 0
    swept: list[Scope] = [scope for scope in targets if stored.get(scope)]
    with ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="sweep") as pool:
        while True:
            if stop is None or not stop.is_set():
                for scope in itertools.islice(pending, window - len(in_flight)):
                    # Each scope in a copy of this context: its log lines name the sweep.
                    task = contextvars.copy_context().run
                    in_flight[pool.submit(task, read_scope, access, scope, store, now)] = scope
                    sent += 1
            if not in_flight:
                break
            finished = wait(in_flight, return_when=FIRST_COMPLETED).done
            while finished:  # popped one by one: no reference to a result outlives its storing
                future = finished.pop()
                scope = in_flight.pop(future)
                with log_context(account_id=scope.account_id, region=scope.region):
                    result = _outcome(future, scope, started)
                store.associations.save_scope(sweep_id, result, now())
                if result.ok:
                    swept.append(scope)
                done += 1
                if progress is not None:
                    progress(done, len(targets), result)
    if sent < len(todo):
        raise SweepInterrupted(sweep_id, done, len(targets))
    return swept


def _begin(
    store: Store,
    targets: list[Scope],
    *,
    now: datetime,
    trigger: str,
    resume: str | None,
    kind: SweepCoverage,
) -> tuple[str, datetime, dict[Scope, bool]]:
    """A new sweep's id and start; or the unfinished sweep to resume, and what it stored
    already (scope: read ok)."""
    if resume is None:
        sweep_id = new_sweep_id(now)
        store.sweeps.begin(sweep_id, now, len(targets), trigger, kind)
        return sweep_id, now, {}
    prior = store.sweeps.get(resume)
    if prior is None or prior.finished_at is not None:
        raise SweepError(f"there is no unfinished sweep {resume} to complete")
    wanted = set(targets)
    stored = {s.scope: s.ok for s in store.sweeps.sweep_scopes(resume) if s.scope in wanted}
    return resume, prior.started_at, stored


def _outcome(future: Future[ScopeResult], scope: Scope, started: datetime) -> ScopeResult:
    try:
        result = future.result()
    except Exception as exc:  # a bug in one scope must not lose the others' results
        log.exception("sweeping %s failed unexpectedly", scope)
        return ScopeResult(scope, False, f"internal error: {exc}", (), started, 0.0)
    if not result.ok:
        log.warning("scope %s not swept: %s", scope, result.error)
    return result
