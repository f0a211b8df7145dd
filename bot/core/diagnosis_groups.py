"""Instances grouped by cause and evidence, as every surface lists them ("4 instances: the
instance role may not s3:GetObject on …"). Evidence that differs between instances failing
for one reason is summarised rather than split on: the latest last ping, the oldest agent, the
patches missing in all. Pure."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import replace

from bot.core import fix_texts
from bot.core.diagnosis import CAUSES, CauseGroup, CauseName, InstanceDiagnosis, JsonValue

_VOLATILE: dict[CauseName, frozenset[str]] = {
    "unreachable": frozenset({"last_ping_at"}),
    "agent_outdated": frozenset({"agent_version"}),
    "missing_patches": frozenset({"missing", "by_severity", "examples"}),
}


def group(instances: Iterable[InstanceDiagnosis]) -> tuple[CauseGroup, ...]:
    """Instances by cause and evidence (volatile evidence summarised), in the contract's order
    of causes, the largest group of a cause first."""
    buckets: dict[tuple[str, str], list[InstanceDiagnosis]] = {}
    for item in instances:
        volatile = _VOLATILE.get(item.cause, frozenset())
        stable = {k: v for k, v in item.evidence.items() if k not in volatile}
        buckets.setdefault((item.cause, json.dumps(stable, sort_keys=True)), []).append(item)
    groups = [_merge(members) for members in buckets.values()]
    groups.sort(key=lambda g: (CAUSES.index(g.cause), -len(g.instances)))
    return tuple(groups)


def _merge(members: list[InstanceDiagnosis]) -> CauseGroup:
    first = members[0]
    ids = tuple(m.instance_id for m in members)
    evidence = dict(first.evidence)
    if first.cause == "unreachable":
        pings = [m.evidence["last_ping_at"] for m in members if m.evidence.get("last_ping_at")]
        evidence["last_ping_at"] = max(pings) if pings else None
    elif first.cause == "agent_outdated":
        versions = [m.evidence["agent_version"] for m in members if m.evidence.get("agent_version")]
        evidence["agent_version"] = min(versions, key=_version_key) if versions else None
    elif first.cause == "missing_patches":
        evidence = _patches_total(members)
    fix = replace(first.fix, instance_ids=ids)
    if first.fix.command and "--instance-ids" in first.fix.command:
        fix = fix_texts.install_patches(ids)
    return CauseGroup(first.cause, ids, evidence, fix)


def _patches_total(members: list[InstanceDiagnosis]) -> dict[str, JsonValue]:
    by_severity: dict[str, int] = {}
    examples: list[str] = []
    for m in members:
        for severity, count in m.evidence["by_severity"].items():
            by_severity[severity] = by_severity.get(severity, 0) + int(count)
        examples += [e for e in m.evidence["examples"] if e not in examples]
    return {
        "missing": sum(int(m.evidence["missing"]) for m in members),
        "by_severity": by_severity,
        "examples": examples[:5],
    }


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))
