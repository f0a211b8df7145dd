"""The acknowledgement sync across both Security Hubs (SSM3_SECURITYHUB=sync): one
`FindingsSync` a hub, each with the same rules and its own record of what it wrote, run in turn
for the hubs that are on. Which are on is the caller's answer (the latest cross-check's, or a
read that just found each hub's failures)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace

from bot.app.findings_sync import BOT_ACTOR, FindingsSync
from bot.app.sync_report import SyncReport
from bot.core import findings as rule
from bot.core.findings import CSPM, V2
from bot.models import InstanceKey, Scope


class HubsSync:
    def __init__(
        self,
        syncs: Mapping[str, FindingsSync],
        *,
        hubs: Callable[[], Sequence[str]],
        workflow: str,
        region: str,
    ) -> None:
        self.syncs = syncs
        self.hubs = hubs  # which hubs are on, when the caller does not say
        self.workflow = workflow
        self.region = region

    def run(
        self,
        *,
        scopes: Sequence[Scope],
        actor: str = BOT_ACTOR,
        channel: str | None = None,
        focus: Collection[InstanceKey] = (),
        failed: Sequence[rule.Finding] | None = None,
        failed_v2: Sequence[rule.Finding] | None = None,
        hubs: Sequence[str] | None = None,
    ) -> SyncReport:
        """Sync `scopes` in each hub on (`hubs`, else the caller's answer); `failed` and
        `failed_v2`: each hub's failing SSM.3 findings when a sweep has just read them."""
        reports = []
        read = {CSPM: failed, V2: failed_v2}
        for name in hubs if hubs is not None else self.hubs():
            sync = self.syncs.get(name)
            if sync is not None:
                reports.append(
                    sync.run(
                        scopes=scopes,
                        actor=actor,
                        channel=channel,
                        focus=focus,
                        failed=read.get(name),
                    )
                )
        if not reports:
            return SyncReport(
                workflow=self.workflow,
                error=f"neither Security Hub is on for the bot's account in {self.region}",
            )
        first, *rest = reports
        return replace(first, also=rest[0]) if rest else first
