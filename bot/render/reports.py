"""JSON forms of `health` and `history` (`--json`): the same facts as their text (doctor's is
bot/doctor/render.py's)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.util.clock import iso

if TYPE_CHECKING:
    from bot.aws.history import History
    from bot.core.health import Health


def health_json(health: Health) -> dict[str, Any]:
    return {
        "healthy": health.healthy,
        "last_sweep_at": iso(health.last_sweep_at),
        "max_age_s": int(health.max_age.total_seconds()),
        "lines": list(health.lines),
    }


def history_json(history: History) -> dict[str, Any]:
    key = history.key
    return {
        "account_id": key.account_id,
        "account_name": history.account_name,
        "region": key.region,
        "association_id": key.association_id,
        "association_name": history.association_name,
        "document_name": history.document_name,
        "sync_compliance": history.sync_compliance,
        "failure_kind": history.failure_kind,
        "remedy": history.remedy,
        "executions": [
            {
                "execution_id": e.execution_id,
                "status": e.status,
                "detailed_status": e.detailed_status,
                "created_at": iso(e.created_at),
                "counts": dict(e.counts),
            }
            for e in history.executions
        ],
        "failed_execution_id": history.failed_execution.execution_id
        if history.failed_execution
        else None,
        "failed_count": history.failed_count,
        "failed_targets": [
            {
                "instance_id": t.instance_id,
                "detailed_status": t.detailed_status,
                "error_code": t.error_code,
                "summary": t.summary,
                "output_url": t.output_url,
                "stderr": t.stderr,
                "ping_status": t.ping_status,
                "agent_version": t.agent_version,
                "platform": t.platform,
                "likely_cause": t.cause.name,
            }
            for t in history.targets
        ],
        "compliance": [
            {
                "instance_id": c.instance_id,
                "error": c.error,
                "items": [
                    {
                        "association_id": i.association_id,
                        "status": i.status,
                        "title": i.title,
                        "execution_time": iso(i.execution_time),
                    }
                    for i in c.items
                ],
            }
            for c in history.compliance
        ],
    }
