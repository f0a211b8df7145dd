"""JSON documents: the contract's `sweep --json` document and the digest's JSON form."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot.core.digest import Digest
from bot.models import Orphan, ScopeStatus, SecurityHubCheck, SweepSummary, TrackedAssociation
from bot.util.clock import iso


def association_json(tracked: TrackedAssociation) -> dict[str, Any]:
    """One association in the contract's shape."""
    a = tracked.association
    return {
        "account_id": a.account_id,
        "region": a.region,
        "association_id": a.association_id,
        "association_name": a.association_name,
        "document_name": a.document_name,
        "status": a.status,
        "detailed_status": a.detailed_status,
        "counts": dict(a.counts),
        "failed_targets": [
            {
                "instance_id": t.instance_id,
                "detailed_status": t.detailed_status,
                "error_code": t.error_code,
                "summary": t.summary,
                "output_url": t.output_url,
            }
            for t in a.failed_targets
        ],
        "last_execution_at": iso(a.last_execution_at),
        "failing_since": iso(tracked.failing_since) if a.failing else None,
        "acknowledged": {
            "by": tracked.ack.by,
            "reason": tracked.ack.reason,
            "until": iso(tracked.ack.until),
        }
        if tracked.ack and a.failing
        else None,
        "sync_compliance": a.sync_compliance,
        "failing": a.failing,
        "failure_kind": a.failure_kind,
        "noncompliant_instances": list(a.noncompliant_instances),
    }


def orphan_json(orphan: Orphan) -> dict[str, Any]:
    return {
        "account_id": orphan.account_id,
        "region": orphan.region,
        "association_id": orphan.association_id,
        "instance_id": orphan.instance_id,
        "title": orphan.title,
    }


def security_hub_json(check: SecurityHubCheck | None) -> dict[str, Any] | None:
    """The contract's `security_hub` block (the digest also says what Security Hub passes
    while the sweep fails; the contract's block has no field for it, so it stays out)."""
    if check is None:
        return None

    def instances(keys: Iterable[Any]) -> list[dict[str, str]]:
        return [
            {"account_id": k.account_id, "region": k.region, "instance_id": k.instance_id}
            for k in keys
        ]

    def verdict(one: SecurityHubCheck) -> dict[str, Any]:
        return {
            "failed_instances": one.failed_instances,
            "explained": one.explained,
            "unexplained": instances(one.unexplained),
            "error": one.error,
        }

    # The top-level fields are Security Hub CSPM's; `v2` the new Security Hub's (null: off).
    return {
        "region": check.region,
        **verdict(check),
        "hubs": list(check.hubs),
        "v2": None if check.v2 is None else verdict(check.v2),
    }


def scope_json(scope: ScopeStatus) -> dict[str, Any]:
    return {
        "account_id": scope.scope.account_id,
        "region": scope.scope.region,
        "ok": scope.ok,
        "error": scope.error,
    }


def sweep_document(
    summary: SweepSummary,
    scopes: Sequence[ScopeStatus],
    associations: Iterable[TrackedAssociation],
    *,
    orphans: Iterable[Orphan] = (),
    security_hub: SecurityHubCheck | None = None,
) -> dict[str, Any]:
    """The contract's `sweep --json` document."""
    return {
        "sweep_id": summary.sweep_id,
        "started_at": iso(summary.started_at),
        "finished_at": iso(summary.finished_at),
        "scopes": [scope_json(s) for s in scopes],
        "associations": [association_json(t) for t in associations],
        "orphans": [orphan_json(o) for o in orphans],
        "security_hub": security_hub_json(security_hub),
        "summary": {
            "associations": summary.associations,
            "failing": summary.failing,
            "acknowledged": summary.acknowledged,
            "noncompliant_instances": summary.noncompliant_instances,
            "scopes_failed": summary.scopes_failed,
        },
    }


def digest_document(digest: Digest) -> dict[str, Any]:
    """The digest as JSON: the same association shape as the sweep document."""
    last = digest.last_sweep
    return {
        "generated_at": iso(digest.generated_at),
        "last_sweep": {"sweep_id": last.sweep_id, "finished_at": iso(last.finished_at)}
        if last
        else None,
        "summary": {
            "associations": digest.totals.associations,
            "failing": digest.totals.failing,
            "acknowledged": digest.totals.acknowledged,
            "noncompliant_instances": digest.totals.noncompliant_instances,
            "scopes": digest.totals.scopes,
            "scopes_failed": digest.totals.scopes_failed,
        },
        "failing": [association_json(t) for t in digest.failing],
        "acknowledged": [association_json(t) for t in digest.acknowledged],
        "scopes_not_swept": [scope_json(s) for s in digest.scopes_failed],
        "orphans": [orphan_json(o) for o in digest.orphans],
        "security_hub": security_hub_json(digest.security_hub),
        # Beyond the sweep document's shape: names from Organizations, and the 14-day trend.
        "account_names": dict(sorted(digest.account_names.items())),
        "trend": [
            {"day": day.isoformat(), "failing": failing, "noncompliant_instances": instances}
            for day, failing, instances in zip(
                digest.trend.days, digest.trend.failing, digest.trend.noncompliant, strict=True
            )
        ]
        if digest.trend is not None
        else [],
    }
