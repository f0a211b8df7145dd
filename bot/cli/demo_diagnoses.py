"""The demo's last part: a lab account where one association fails for each cause a diagnosis
names, swept on its own (so the digest above stays the organisation's), then diagnosed the way
`ssm3bot diagnose` does — every cause found by reading AWS (the simulator), never written in."""

from __future__ import annotations

from typing import TextIO

from bot.app.diagnoses import Diagnoses
from bot.aws.evidence import AwsEvidence
from bot.aws.session import AwsAccess
from bot.core.diagnosis import Diagnosis
from bot.core.diagnosis_words import headline
from bot.models import AssociationRef, Scope
from bot.settings.config import Settings
from bot.sim.fleet import Fleet
from bot.sim.showcase import add_showcase
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from bot.util.clock import utcnow
from bot.util.strings import clip

LAB_ACCOUNT = "444444444444"
WIDTH = 22


def show_diagnoses(
    fleet: Fleet,
    *,
    access: AwsAccess,
    store: Store,
    settings: Settings,
    region: str,
    out: TextIO,
    err: TextIO,
) -> None:
    fleet.add_account(LAB_ACCOUNT, "diagnosis-lab")
    shown = add_showcase(fleet, LAB_ACCOUNT, region)
    summary = run_sweep(
        settings=settings, access=access, store=store, trigger="demo",
        scopes=[Scope(LAB_ACCOUNT, region)],
    )  # fmt: skip
    err.write(
        f"Sweep 3: the lab account diagnosis-lab ({LAB_ACCOUNT}) in {region}, "
        f"{summary.failing} failing, {summary.aws_calls} AWS calls.\n"
    )
    cases = Diagnoses(store=store, evidence=AwsEvidence(access, clock=utcnow), clock=utcnow)
    out.write(
        f"\nDIAGNOSES - diagnosis-lab ({LAB_ACCOUNT}) {region}: one association failing for each "
        "cause (`ssm3bot diagnose ID` shows the evidence in full)\n"
    )
    calls = 0
    for association_id in shown.associations.values():
        found = cases.diagnose(AssociationRef(association_id, LAB_ACCOUNT, region))
        if not isinstance(found, Diagnosis):
            out.write(f"  {association_id}: {found.message}\n")
            continue
        calls += sum(found.aws_calls.values())
        name = clip(found.association_name or association_id[:8], WIDTH)
        for group in found.causes:
            out.write(f"  {name:<{WIDTH}} {group.cause}: {clip(headline(group), 150)}\n")
            out.write(f"  {'':<{WIDTH}} fix ({group.fix.kind}): {clip(group.fix.text, 150)}\n")
        for warning in found.warnings:
            out.write(f"  {'':<{WIDTH}} warning: {clip(warning, 150)}\n")
    err.write(f"Diagnosed {len(shown.associations)} associations with {calls} AWS calls.\n")
