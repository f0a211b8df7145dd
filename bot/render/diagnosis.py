"""A diagnosis as `ssm3bot diagnose --json` prints it (the contract's document) and as text
for a terminal: instances grouped by cause, each group with its evidence and fix."""

from __future__ import annotations

from typing import Any

from bot.core.diagnosis import CauseGroup, Diagnosis, Fix
from bot.core.diagnosis_words import headline
from bot.models import is_reported, is_run_failure
from bot.util.clock import iso
from bot.util.strings import clip, terminal_safe

SHOWN_INSTANCES = 8


def diagnosis_json(diagnosis: Diagnosis) -> dict[str, Any]:
    """The contract's document, exactly its keys."""
    key = diagnosis.key
    return {
        "association": {
            "account_id": key.account_id,
            "region": key.region,
            "association_id": key.association_id,
            "association_name": diagnosis.association_name,
            "document_name": diagnosis.document_name,
            "document_version": diagnosis.document_version,
            "failure_kind": diagnosis.failure_kind,
            "dispatch_role": diagnosis.dispatch_role,
        },
        "instances": [
            {
                "instance_id": item.instance_id,
                "cause": item.cause,
                "evidence": dict(item.evidence),
                "fix": _fix(item.fix),
            }
            for item in diagnosis.instances
        ],
        "causes": [
            {
                "cause": group.cause,
                "instances": list(group.instances),
                "evidence": dict(group.evidence),
                "fix": _fix(group.fix),
            }
            for group in diagnosis.causes
        ],
        "warnings": list(diagnosis.warnings),
    }


def _fix(fix: Fix) -> dict[str, str]:
    return {"kind": fix.kind, "text": fix.text}


def render_diagnosis(diagnosis: Diagnosis) -> str:
    """Text for a terminal: AWS-supplied strings flattened to one line each, and no control
    character (a step's stderr is anyone's text) reaches the terminal."""
    key = diagnosis.key
    name = diagnosis.association_name or key.association_id
    version = f", version {diagnosis.document_version}" if diagnosis.document_version else ""
    lines = [
        f"Diagnosis of {clip(name, 80)} ({clip(diagnosis.document_name, 80)}{version})",
        f"  {key.account_id} {key.region} {key.association_id}",
        f"  how it fails SSM.3: {_kind(diagnosis)}",
    ]
    if not diagnosis.causes:
        lines.append("  no failing instance")
    for group in diagnosis.causes:
        lines += ["", *_group(group)]
    if diagnosis.warnings:
        lines += ["", "Warnings:", *(f"  - {clip(w, 300)}" for w in diagnosis.warnings)]
    calls = sum(diagnosis.aws_calls.values())
    lines += ["", f"Read at {iso(diagnosis.read_at)} with {calls} AWS calls."]
    return terminal_safe("\n".join(lines) + "\n")


def _kind(diagnosis: Diagnosis) -> str:
    if is_run_failure(diagnosis.failure_kind):
        return "its latest run failed (a re-run can fix it once the cause is fixed)"
    if is_reported(diagnosis.failure_kind):
        return "reported NON_COMPLIANT (a re-run alone will not fix it)"
    return "not known from the store (run `ssm3bot sweep` to judge it)"


def _group(group: CauseGroup) -> list[str]:
    ids = list(group.instances)
    shown = ", ".join(ids[:SHOWN_INSTANCES])
    more = f" (+{len(ids) - SHOWN_INSTANCES} more)" if len(ids) > SHOWN_INSTANCES else ""
    evidence = ", ".join(f"{k}={_value(v)}" for k, v in group.evidence.items())
    lines = [
        f"{clip(headline(group), 300)}",
        f"  cause: {group.cause}; instances: {shown}{more}",
        f"  evidence: {clip(evidence, 300)}",
        f"  fix ({group.fix.kind}): {clip(group.fix.text, 400)}",
    ]
    if group.fix.command:
        lines.append(f"    {clip(group.fix.command, 300)}")
    return lines


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)
