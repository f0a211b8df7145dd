"""What a diagnosis reads about one association, within the contract's budget:

- one DescribeAssociation (its parameters, document version, calendars, dispatch role);
- one DescribeAssociationExecutions (the latest finished run, its TriggeredAlarms) and its
  unsuccessful targets (DescribeAssociationExecutionTargets, 50 a page, one listing per
  unsuccessful status the run reports);
- one GetDocument for the association's document version (cached: `DocumentCache`);
- DescribeInstanceInformation filtered on the instances, 50 a call (in parallel);
- GetCalendarState when it has change calendars (one call; one per calendar when closed and
  there are several, to name the closed ones);
- GetCommandInvocation for the instances `plan_reads` picks (at most 5 per way of failing);
- for a reported failure of a patch document, ListResourceComplianceSummaries of the Patch
  type (20 instances a call) and the titles of up to 5 instances' missing patches
  (ListComplianceItems, one instance a call).

A read that fails (other than DescribeAssociation) becomes a warning naming what to grant, and
the diagnosis goes on with what it has. Nothing here writes to AWS.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from bot.aws.documents import DocumentCache, read_document
from bot.aws.errors import AWS_ERRORS, describe_error, error_code, iam_hint, is_denied
from bot.aws.reader import PAGE, parse_resource_counts
from bot.core.diagnosis import (
    AgentFacts,
    AssociationFacts,
    CalendarFacts,
    DocumentFacts,
    Evidence,
    PatchFacts,
    RunFacts,
    StepOutput,
    TargetFacts,
)
from bot.core.diagnosis_rules import plan_reads
from bot.models import UNSUCCESSFUL, Association, AssociationKey, Orphan
from bot.models.answers import AssociationGone
from bot.util.clock import aware, parse_iso

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

INSTANCES_A_CALL = 50  # DescribeInstanceInformation: MaxResults 50
RESOURCES_A_FILTER = 20  # a compliance filter takes at most 20 values
PATCH_EXAMPLES = 5  # instances whose missing patches' titles are read
WORKERS = 8
RUNNING = frozenset({"InProgress", "Pending"})
T = TypeVar("T")


class EvidenceReader:
    """Reads the evidence for one association through one SSM client; counts every call."""

    def __init__(
        self,
        ssm: SSMClient,
        key: AssociationKey,
        *,
        documents: DocumentCache,
        workers: int = WORKERS,
    ) -> None:
        self.ssm = ssm
        self.key = key
        self.documents = documents
        self.workers = workers
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self._notes: list[str] = []

    def _count(self, operation: str, n: int = 1) -> None:
        with self._lock:
            self.calls[operation] = self.calls.get(operation, 0) + n

    def _note(self, what: str, action: str, exc: BaseException) -> None:
        hint = f"; {iam_hint(action)}" if is_denied(exc) else ""
        self._notes.append(f"Could not read {what} ({describe_error(exc)}){hint}.")

    def _parallel(self, work: Callable[[T], Any], items: Sequence[T]) -> list[Any]:
        if len(items) <= 1:
            return [work(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            return list(pool.map(work, items))

    # -- the whole read ------------------------------------------------------------------------
    def read(self, *, stored: Association | None, orphans: Sequence[Orphan] = ()) -> Evidence:
        """Everything the rules need. Raises ClientError/BotoCoreError when DescribeAssociation
        itself fails, and AssociationGone (with nothing orphaned to diagnose) when it is gone."""
        try:
            facts = self._association(stored)
        except AssociationGone:
            return self._gone(stored, orphans)
        evidence = self._first_pass(facts, stored)
        plan = plan_reads(evidence)
        outputs = self._outputs(plan.stderr)
        patches = self._patches(plan.patches)
        return replace(evidence, outputs=outputs, patches=patches, notes=tuple(self._notes))

    def _gone(self, stored: Association | None, orphans: Sequence[Orphan]) -> Evidence:
        mine = [o.instance_id for o in orphans if o.association_id == self.key.association_id]
        if stored is not None:  # deleted after the last sweep: its items may remain
            mine += [i for i in stored.noncompliant_instances if i not in mine]
            self._notes.append(
                "The association was deleted after the last sweep: run a sweep to see which of "
                "its items remain."
            )
        if not mine:
            raise AssociationGone(self.key.association_id)
        facts = AssociationFacts(
            key=self.key,
            name=stored.association_name if stored else None,
            document_name=stored.document_name if stored else "",
            document_version="",
            association_version=None,
            parameters={},
            sync_compliance=stored.sync_compliance if stored else None,
            failure_kind=stored.failure_kind if stored else None,
        )
        return Evidence(facts, tuple(mine), exists=False, notes=tuple(self._notes))

    def _first_pass(self, facts: AssociationFacts, stored: Association | None) -> Evidence:
        with ThreadPoolExecutor(max_workers=3) as pool:
            runs = pool.submit(self._runs)
            document = pool.submit(self._document, facts)
            calendar = pool.submit(self._calendar, facts.calendar_names)
            run, targets, running_since = runs.result()
            found_document, found_calendar = document.result(), calendar.result()
        noncompliant = (
            stored.noncompliant_instances if stored is not None and stored.failing else ()
        )
        instances = tuple(dict.fromkeys([*targets, *noncompliant]))
        agents, agents_error = self._agents(instances)
        return Evidence(
            association=facts,
            instances=instances,
            document=found_document,
            run=run,
            run_in_progress_since=running_since,
            targets=targets,
            agents=agents,
            agents_error=agents_error,
            calendar=found_calendar,
        )

    # -- the reads -----------------------------------------------------------------------------
    def _association(self, stored: Association | None) -> AssociationFacts:
        self._count("DescribeAssociation")
        try:
            found = self.ssm.describe_association(AssociationId=self.key.association_id)
        except ClientError as exc:
            if error_code(exc) == "AssociationDoesNotExist":
                raise AssociationGone(self.key.association_id) from None
            raise
        description = found["AssociationDescription"]
        return AssociationFacts(
            key=self.key,
            name=description.get("AssociationName"),
            document_name=str(description.get("Name") or ""),
            document_version=str(description.get("DocumentVersion") or "$DEFAULT"),
            association_version=description.get("AssociationVersion"),
            parameters={
                str(k): tuple(str(v) for v in values)
                for k, values in (description.get("Parameters") or {}).items()
            },
            sync_compliance=description.get("SyncCompliance"),
            calendar_names=tuple(description.get("CalendarNames") or ()),
            dispatch_role=description.get("AssociationDispatchAssumeRole"),
            failure_kind=stored.failure_kind if stored is not None else None,
        )

    def _runs(self) -> tuple[RunFacts | None, dict[str, TargetFacts], datetime | None]:
        self._count("DescribeAssociationExecutions")
        try:
            listed = self.ssm.describe_association_executions(
                AssociationId=self.key.association_id, MaxResults=10
            ).get("AssociationExecutions", [])
        except AWS_ERRORS as exc:
            self._note("its executions", "ssm:DescribeAssociationExecutions", exc)
            return None, {}, None
        running = [e for e in listed if e.get("Status") in RUNNING]
        finished = next((e for e in listed if e.get("Status") not in RUNNING), None)
        since = aware(running[-1].get("CreatedTime")) if running and finished is not None else None
        if finished is None:
            return None, {}, aware(running[-1].get("CreatedTime")) if running else None
        run = RunFacts(
            execution_id=finished["ExecutionId"],
            status=str(finished.get("Status") or ""),
            created_at=aware(finished.get("CreatedTime")),
            triggered_alarms=tuple(a["Name"] for a in finished.get("TriggeredAlarms") or []),
        )
        return run, self._targets(finished), since

    def _targets(self, execution: Mapping[str, Any]) -> dict[str, TargetFacts]:
        counts = parse_resource_counts(execution.get("ResourceCountByStatus"))
        statuses = [s for s in UNSUCCESSFUL if counts.get(s)]
        found: dict[str, TargetFacts] = {}
        try:
            for status in statuses:
                token: str | None = None
                while True:
                    self._count("DescribeAssociationExecutionTargets")
                    page = self.ssm.describe_association_execution_targets(
                        AssociationId=self.key.association_id,
                        ExecutionId=execution["ExecutionId"],
                        Filters=[{"Key": "Status", "Value": status}],
                        MaxResults=PAGE,
                        **({"NextToken": token} if token else {}),
                    )
                    for target in page.get("AssociationExecutionTargets", []):
                        found[target["ResourceId"]] = TargetFacts(
                            instance_id=target["ResourceId"],
                            status=str(target.get("Status") or status),
                            detailed_status=target.get("DetailedStatus"),
                            command_id=(target.get("OutputSource") or {}).get("OutputSourceId"),
                        )
                    token = page.get("NextToken")
                    if not token:
                        break
        except AWS_ERRORS as exc:
            self._note("the run's failed targets", "ssm:DescribeAssociationExecutionTargets", exc)
        return found

    def _document(self, facts: AssociationFacts) -> DocumentFacts | None:
        key = (self.key.account_id, self.key.region, facts.document_name, facts.document_version)
        cached = self.documents.get(key)
        if cached is not None:
            return cached
        self._count("GetDocument")
        try:
            found = read_document(self.ssm, facts.document_name, facts.document_version)
        except AWS_ERRORS as exc:
            self._note(f"the document {facts.document_name}", "ssm:GetDocument", exc)
            return None
        self.documents.put(key, found)
        return found

    def _calendar(self, names: tuple[str, ...]) -> CalendarFacts | None:
        if not names:
            return None
        try:
            self._count("GetCalendarState")
            state = self.ssm.get_calendar_state(CalendarNames=list(names))
            if state.get("State") != "CLOSED":
                return CalendarFacts(names, (), None)
            closed = names
            if len(names) > 1:  # which of them: one call each
                self._count("GetCalendarState", len(names))
                closed = tuple(
                    n
                    for n in names
                    if self.ssm.get_calendar_state(CalendarNames=[n]).get("State") == "CLOSED"
                )
        except AWS_ERRORS as exc:
            self._note("its change calendars", "ssm:GetCalendarState", exc)
            return None
        return CalendarFacts(names, closed, parse_iso(state.get("NextTransitionTime")))

    def _agents(self, instances: Sequence[str]) -> tuple[dict[str, AgentFacts], str | None]:
        chunks = [
            list(instances[i : i + INSTANCES_A_CALL])
            for i in range(0, len(instances), INSTANCES_A_CALL)
        ]
        self._count("DescribeInstanceInformation", len(chunks))

        def one(chunk: list[str]) -> list[Any]:
            return list(
                self.ssm.describe_instance_information(
                    Filters=[{"Key": "InstanceIds", "Values": chunk}], MaxResults=INSTANCES_A_CALL
                ).get("InstanceInformationList", [])
            )

        try:
            pages = self._parallel(one, chunks)
        except AWS_ERRORS as exc:
            self._note("the instances' agents", "ssm:DescribeInstanceInformation", exc)
            return {}, describe_error(exc)
        found = {}
        for info in (i for page in pages for i in page):
            found[info["InstanceId"]] = AgentFacts(
                instance_id=info["InstanceId"],
                ping_status=info.get("PingStatus"),
                last_ping_at=aware(info.get("LastPingDateTime")),
                agent_version=info.get("AgentVersion"),
                is_latest=info.get("IsLatestVersion"),
                iam_role=info.get("IamRole") or None,
                platform=info.get("PlatformName"),
            )
        return found, None

    def _outputs(self, wanted: Sequence[tuple[str, str]]) -> dict[str, StepOutput]:
        if wanted:
            self._count("GetCommandInvocation", len(wanted))

        def one(pair: tuple[str, str]) -> StepOutput:
            instance_id, command_id = pair
            try:
                found = self.ssm.get_command_invocation(
                    CommandId=command_id, InstanceId=instance_id
                )
            except AWS_ERRORS as exc:  # invocations expire after 30 days; or not granted
                return StepOutput(instance_id, None, describe_error(exc))
            return StepOutput(instance_id, str(found.get("StandardErrorContent") or ""))

        return {o.instance_id: o for o in self._parallel(one, list(wanted))}

    def _patches(self, instances: Sequence[str]) -> dict[str, PatchFacts]:
        if not instances:
            return {}
        chunks = [
            list(instances[i : i + RESOURCES_A_FILTER])
            for i in range(0, len(instances), RESOURCES_A_FILTER)
        ]
        self._count("ListResourceComplianceSummaries", len(chunks))
        try:
            summaries = [s for page in self._parallel(self._patch_summaries, chunks) for s in page]
        except AWS_ERRORS as exc:
            self._note(
                "the instances' Patch compliance", "ssm:ListResourceComplianceSummaries", exc
            )
            return {}
        found: dict[str, PatchFacts] = {}
        for summary in summaries:
            counts = (summary.get("NonCompliantSummary") or {}).get("SeveritySummary") or {}
            missing = int((summary.get("NonCompliantSummary") or {}).get("NonCompliantCount") or 0)
            by_severity = {
                name.removesuffix("Count"): int(n) for name, n in counts.items() if int(n or 0)
            }
            found[summary["ResourceId"]] = PatchFacts(summary["ResourceId"], missing, by_severity)
        missing_ids = [i for i in instances if i in found and found[i].missing][:PATCH_EXAMPLES]
        if missing_ids:
            self._count("ListComplianceItems", len(missing_ids))
        for instance_id, titles in zip(
            missing_ids, self._parallel(self._patch_titles, missing_ids), strict=True
        ):
            found[instance_id] = replace(found[instance_id], examples=tuple(titles))
        return found

    def _patch_summaries(self, chunk: list[str]) -> list[Any]:
        return list(
            self.ssm.list_resource_compliance_summaries(
                Filters=[
                    {"Key": "ComplianceType", "Values": ["Patch"], "Type": "EQUAL"},
                    {"Key": "ResourceId", "Values": chunk, "Type": "EQUAL"},
                ],
                MaxResults=PAGE,
            ).get("ResourceComplianceSummaryItems", [])
        )

    def _patch_titles(self, instance_id: str) -> list[str]:
        try:
            items = self.ssm.list_compliance_items(
                ResourceIds=[instance_id],
                ResourceTypes=["ManagedInstance"],
                Filters=[
                    {"Key": "ComplianceType", "Values": ["Patch"], "Type": "EQUAL"},
                    {"Key": "Status", "Values": ["NON_COMPLIANT"], "Type": "EQUAL"},
                ],
                MaxResults=PATCH_EXAMPLES,
            ).get("ComplianceItems", [])
        except AWS_ERRORS:
            return []
        return [str(i.get("Title") or i.get("Id") or "?") for i in items]


def read_evidence(
    ssm: SSMClient,
    key: AssociationKey,
    *,
    stored: Association | None,
    orphans: Iterable[Orphan] = (),
    documents: DocumentCache,
) -> tuple[Evidence, dict[str, int]]:
    """The evidence for one association and the AWS calls it took, by operation."""
    reader = EvidenceReader(ssm, key, documents=documents)
    evidence = reader.read(stored=stored, orphans=list(orphans))
    return evidence, dict(reader.calls)
