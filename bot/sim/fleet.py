"""The simulated State Manager estate: accounts, regions, instances, associations, executions.

A `Fleet` is plain in-memory state guarded by one lock. The HTTP front end in `server.py`
turns AWS API calls into reads and writes of it; tests reach in directly to make an
association fail, recover or be re-run, and to read how many calls of each kind were made.
"""

from __future__ import annotations

import hashlib
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bot.sim.documents import SimCalendar, SimDocument, catalogue
from bot.sim.remedies import SimAutomation, SimCommand

Cause = Literal[
    "unreachable",
    "permissions",
    "bad_parameter",
    "script_error",
    "timeout",
    "agent_outdated",
    "stopped_by_alarm",
]
# The causes the generator draws from; "timeout" is only made on request (`timed_out`).
CAUSES: tuple[Cause, ...] = ("unreachable", "permissions", "bad_parameter", "script_error")
ComplianceStatus = Literal["COMPLIANT", "NON_COMPLIANT"]
Severity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNSPECIFIED"]
SEVERITIES: tuple[Severity, ...] = (
    "CRITICAL",
    "HIGH",
    "MEDIUM",
    "LOW",
    "INFORMATIONAL",
    "UNSPECIFIED",
)  # most severe first
AccountState = Literal["ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED"]
WorkflowStatus = Literal["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"]
ASSOCIATION_COMPLIANCE = "AWS::SSM::AssociationCompliance"
LATEST_AGENT_VERSION = (
    "3.3.1345.0"  # what IsLatestVersion compares with (and AWS-UpdateSSMAgent installs)
)
SSM3_TITLE = (
    "Amazon EC2 instances managed by Systems Manager should have an association compliance "
    "status of COMPLIANT"
)


@dataclass(frozen=True)
class Failure:
    """Why one instance failed one execution, in the words SSM and the agent use."""

    cause: Cause
    detailed_status: str
    error_code: str
    summary: str
    stderr: str
    status: Literal["Failed", "TimedOut"] = "Failed"
    # A call the step was refused: GetCommandInvocation prints the AccessDenied line the AWS
    # CLI (`cli`) or an SDK inside the agent (`go`) would, naming the instance's own role.
    denied_action: str | None = None
    denied_resource: str | None = None
    denied_by: Literal["identity", "scp"] = "identity"
    denied_style: Literal["cli", "go"] = "cli"
    parameter: tuple[str, str] | None = None  # a bad_parameter: the name and the value refused


@dataclass
class SimInstance:
    instance_id: str
    ping_status: Literal["Online", "ConnectionLost", "Inactive"] = "Online"
    agent_version: str = "3.3.1142.0"
    platform: Literal["Linux", "Windows"] = "Linux"
    platform_name: str = "Amazon Linux"
    computer_name: str = "ip-10-0-0-1.ec2.internal"
    last_ping: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The instance profile's role (what its steps' AWS calls run as) and what
    # DescribeInstanceInformation says in IamRole (set for hybrid nodes and Default Host
    # Management; EC2 instances with an instance profile leave it empty).
    role_name: str = "app-instance-role"
    iam_role: str | None = None
    # Why AWSSupport-TroubleshootManagedInstance finds it unmanaged (when it is not Online).
    unreachable_reason: str = "The instance is stopped: its agent cannot reach Systems Manager."


@dataclass
class SimExecution:
    """One run of an association over its targets; only failures are stored, the rest succeeded."""

    execution_id: str
    created_at: datetime
    instance_ids: Sequence[str]
    failures: dict[str, Failure]
    command_id: str
    association_version: str = "1"
    triggered_alarms: tuple[str, ...] = ()  # CloudWatch alarms that stopped it
    # Until then the run is InProgress (its outcome is decided, not yet visible).
    finishes_at: datetime | None = None
    clock: Callable[[], datetime] | None = field(default=None, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        if self.finishes_at is None:
            return True
        now = self.clock() if self.clock else datetime.now(UTC)
        return now >= self.finishes_at

    @property
    def status(self) -> str:
        """InProgress until it finishes; then Failed if any target failed, else TimedOut if any
        timed out, else Success."""
        if not self.finished:
            return "InProgress"
        statuses = {failure.status for failure in self.failures.values()}
        if "Failed" in statuses:
            return "Failed"
        return "TimedOut" if statuses else "Success"

    def counts(self) -> dict[str, int]:
        if not self.finished:
            return {"InProgress": len(self.instance_ids)} if self.instance_ids else {}
        failed = sum(1 for f in self.failures.values() if f.status == "Failed")
        timed_out = len(self.failures) - failed
        succeeded = len(self.instance_ids) - failed - timed_out
        pairs = (("Failed", failed), ("Success", succeeded), ("TimedOut", timed_out))
        return {name: n for name, n in pairs if n}

    def target_status(self, instance_id: str) -> str:
        if not self.finished:
            return "InProgress"
        failure = self.failures.get(instance_id)
        return failure.status if failure else "Success"


@dataclass
class SimAssociation:
    association_id: str
    name: str | None
    document: str
    schedule: str
    instance_ids: Sequence[str]
    target_key: str = "tag:Environment"
    target_value: str = "prod"
    sync_compliance: Literal["AUTO", "MANUAL"] = "AUTO"
    executions: list[SimExecution] = field(default_factory=list)  # newest first
    fix_on_rerun: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    compliance_severity: Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNSPECIFIED"] = "UNSPECIFIED"
    # What DescribeAssociation reports and UpdateAssociation changes.
    parameters: dict[str, list[str]] = field(default_factory=dict)
    document_version: str = "$DEFAULT"
    version: int = 1  # AssociationVersion: every UpdateAssociation adds one
    updated_at: datetime | None = None
    calendar_names: tuple[str, ...] = ()
    alarm_names: tuple[str, ...] = ()
    dispatch_role: str | None = None  # AssociationDispatchAssumeRole
    apply_only_at_cron: bool = False
    output_bucket: str | None = None
    max_concurrency: str | None = None
    max_errors: str | None = None
    # How a new run behaves: how long it stays InProgress (None: the fleet's `run_seconds`),
    # and how long its step takes on instances whose run timed out (None: longer than any
    # timeout, so a new run times out again).
    run_seconds: float | None = None
    step_seconds: int | None = None

    @property
    def latest(self) -> SimExecution | None:
        """The newest finished execution: what the status, the Overview and the compliance
        items reflect while a newer run is InProgress."""
        return next((e for e in self.executions if e.finished), None)

    @property
    def newest(self) -> SimExecution | None:
        """The newest execution, finished or still InProgress."""
        return self.executions[0] if self.executions else None

    @property
    def status(self) -> str:
        """The latest execution's status (Success, Failed, TimedOut), or Pending."""
        return self.latest.status if self.latest else "Pending"

    @property
    def overview_status(self) -> str:
        """Overview.Status, which only knows Pending, Success and Failed."""
        return "Failed" if self.status == "TimedOut" else self.status


@dataclass(frozen=True)
class ComplianceItem:
    """One compliance item of one resource, as PutComplianceItems stores it."""

    resource_id: str
    compliance_type: str
    item_id: str
    title: str
    status: ComplianceStatus
    execution_time: datetime
    severity: Severity = "UNSPECIFIED"
    execution_id: str | None = None
    execution_type: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)
    resource_type: str = "ManagedInstance"

    def to_api(self) -> dict[str, Any]:
        """The item as ListComplianceItems returns it."""
        summary: dict[str, Any] = {"ExecutionTime": self.execution_time}
        if self.execution_id:
            summary["ExecutionId"] = self.execution_id
        if self.execution_type:
            summary["ExecutionType"] = self.execution_type
        item: dict[str, Any] = {
            "ComplianceType": self.compliance_type,
            "ResourceType": self.resource_type,
            "ResourceId": self.resource_id,
            "Title": self.title,
            "Status": self.status,
            "Severity": self.severity,
            "ExecutionSummary": summary,
            "Details": dict(self.details),
        }
        if self.item_id:
            item["Id"] = self.item_id
        return item


@dataclass
class SimScope:
    account_id: str
    region: str
    instances: dict[str, SimInstance] = field(default_factory=dict)
    associations: dict[str, SimAssociation] = field(default_factory=dict)
    # Security Hub's SSM.3 control in the foundational standard; None: Security Hub is off here.
    ssm3_control: Literal["ENABLED", "DISABLED"] | None = "ENABLED"
    # AWS Config's recorder: recording or stopped; None: no recorder was ever set up.
    config_recording: bool | None = True
    # The resource types the recorder records; None: all supported types (allSupported).
    config_resource_types: frozenset[str] | None = None
    # Explicit compliance items (PutComplianceItems), by (ResourceId, ComplianceType).
    compliance: dict[tuple[str, str], list[ComplianceItem]] = field(default_factory=dict)
    # The account's own documents here (AWS's are the fleet's), its change calendars, the
    # state of CloudWatch alarms associations name, Run Command's commands and Automation's
    # executions, by ID.
    documents: dict[str, SimDocument] = field(default_factory=dict)
    calendars: dict[str, SimCalendar] = field(default_factory=dict)
    alarms: dict[str, Literal["OK", "ALARM", "INSUFFICIENT_DATA"]] = field(default_factory=dict)
    commands: dict[str, SimCommand] = field(default_factory=dict)
    automations: dict[str, SimAutomation] = field(default_factory=dict)

    def associations_of(self, instance_id: str) -> Iterator[SimAssociation]:
        for association in self.associations.values():
            if instance_id in association.instance_ids:
                yield association

    @property
    def records_association_compliance(self) -> bool:
        """Whether AWS Config records what SSM.3's Config rule evaluates."""
        return bool(self.config_recording) and (
            self.config_resource_types is None
            or ASSOCIATION_COMPLIANCE in self.config_resource_types
        )

    def derived_items(self, association: SimAssociation) -> list[ComplianceItem]:
        """The Association items SSM itself writes for an AUTO association's latest run."""
        latest = association.latest
        if association.sync_compliance != "AUTO" or latest is None:
            return []
        return [
            ComplianceItem(
                resource_id=instance_id,
                compliance_type="Association",
                item_id=association.association_id,
                # What AWS shows: association items carry an empty Title.
                title="",
                status="NON_COMPLIANT" if instance_id in latest.failures else "COMPLIANT",
                execution_time=latest.created_at,
                severity=association.compliance_severity,
                execution_id=latest.execution_id,
                execution_type="Command",
                details={"DocumentName": association.document, "DocumentVersion": "1"},
            )
            for instance_id in association.instance_ids
        ]

    def compliance_by_resource(self) -> dict[str, dict[str, list[ComplianceItem]]]:
        """Every resource's items (derived and explicit) by compliance type, in a stable order:
        the scope's instances first, then other resources as they are first met."""
        found: dict[str, dict[str, dict[str, ComplianceItem]]] = {
            instance_id: {} for instance_id in self.instances
        }
        for (resource_id, compliance_type), items in self.compliance.items():
            kinds = found.setdefault(resource_id, {})
            for item in items:
                kinds.setdefault(compliance_type, {})[item.item_id] = item
        for association in self.associations.values():
            for item in self.derived_items(association):
                kinds = found.setdefault(item.resource_id, {})
                kinds.setdefault("Association", {})[item.item_id] = item
        return {
            resource_id: {kind: list(items.values()) for kind, items in kinds.items() if items}
            for resource_id, kinds in found.items()
            if any(kinds.values())
        }

    def put_items(
        self,
        resource_id: str,
        compliance_type: str,
        items: Sequence[ComplianceItem],
        *,
        upload_type: Literal["COMPLETE", "PARTIAL"] = "COMPLETE",
    ) -> None:
        """PutComplianceItems: COMPLETE replaces the type's items; PARTIAL upserts by item Id."""
        key = (resource_id, compliance_type)
        if upload_type == "COMPLETE":
            kept: dict[str, ComplianceItem] = {}
        else:
            kept = {item.item_id: item for item in self.compliance.get(key, [])}
        for item in items:
            kept[item.item_id] = item
        if kept:
            self.compliance[key] = list(kept.values())
        else:
            self.compliance.pop(key, None)


@dataclass
class SimAccount:
    account_id: str
    name: str
    denies_assume_role: bool = False
    state: AccountState = "ACTIVE"


@dataclass
class SimFinding:
    """One persistent SSM.3 control finding of Security Hub (one managed instance)."""

    finding_id: str
    account_id: str
    region: str
    instance_id: str
    resource_arn: str
    compliance_status: Literal["PASSED", "FAILED"]
    created_at: datetime
    updated_at: datetime
    last_observed_at: datetime
    workflow_status: WorkflowStatus = "NEW"
    record_state: Literal["ACTIVE", "ARCHIVED"] = "ACTIVE"
    note: dict[str, Any] | None = None  # set by BatchUpdateFindings: {Text, UpdatedBy, UpdatedAt}
    user_defined_fields: dict[str, str] = field(default_factory=dict)  # BatchUpdateFindings
    # The new Security Hub's own copy (OCSF, bot/sim/securityhub_v2.py): ingested from this
    # finding, with its own workflow (StatusId: 1 New, 2 In Progress, 3 Suppressed, 4 Resolved)
    # and Comment, set only by BatchUpdateFindingsV2 and the same automatic moves as CSPM's.
    v2_status_id: int = 1
    v2_comment: str | None = None
    v2_modified_at: datetime | None = None


@dataclass(frozen=True)
class Credential:
    """An access key the simulator recognises, and whom it speaks for."""

    access_key_id: str
    secret_access_key: str
    account_id: str
    arn: str
    session_token: str | None = None
    expires_at: datetime | None = None


@dataclass
class Fault:
    """An injected error: the next `times` matching calls (None: every one) fail with it.

    `drop=True` closes the connection without an answer, as an unreachable endpoint would.
    """

    error_code: str = "ThrottlingException"
    message: str = "Rate exceeded"
    http_status: int = 400
    operation: str | None = None
    account_id: str | None = None
    region: str | None = None
    times: int | None = None
    drop: bool = False

    def matches(self, operation: str, account_id: str | None, region: str) -> bool:
        return (
            (self.operation is None or self.operation == operation)
            and (self.account_id is None or self.account_id == account_id)
            and (self.region is None or self.region == region)
            and (self.times is None or self.times > 0)
        )


@dataclass
class Latency:
    seconds: float
    operation: str | None = None
    account_id: str | None = None
    region: str | None = None

    def matches(self, operation: str, account_id: str | None, region: str) -> bool:
        return (
            (self.operation is None or self.operation == operation)
            and (self.account_id is None or self.account_id == account_id)
            and (self.region is None or self.region == region)
        )


@dataclass
class UpdateRejection:
    """An injected partial failure of BatchUpdateFindings: the next `times` updates (None:
    every one) of the findings named (None: any) come back in UnprocessedFindings."""

    error_code: str = "ConcurrentUpdateError"
    message: str = "Concurrent finding updates detected"
    finding_ids: frozenset[str] | None = None
    times: int | None = 1

    def matches(self, finding_id: str) -> bool:
        return (self.finding_ids is None or finding_id in self.finding_ids) and (
            self.times is None or self.times > 0
        )


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    account_id: str | None
    region: str


class Fleet:
    """All simulated state, safe to use from the server's threads and from tests at once."""

    def __init__(
        self,
        *,
        caller_account: str,
        role_name: str = "SSM3ReadOnly",
        credential_lifetime_s: int = 3600,
    ) -> None:
        self.lock = threading.RLock()
        self.caller_account = caller_account
        self.role_name = role_name
        self.credential_lifetime_s = credential_lifetime_s
        self.accounts: dict[str, SimAccount] = {}
        self.scopes: dict[tuple[str, str], SimScope] = {}
        self.credentials: dict[str, Credential] = {}
        self.faults: list[Fault] = []
        self.latencies: list[Latency] = []
        self.calls: Counter[Call] = Counter()
        self.errors: Counter[tuple[Call, str]] = Counter()  # error answers sent, by error code
        self.violations: list[str] = []
        self.clock_offset = timedelta()
        # Security Hub's SSM.3 control findings by finding Id, refreshed from compliance state
        # by `refresh_findings` (GetFindings calls it unless `findings_frozen`: Config lag).
        self.findings: dict[str, SimFinding] = {}
        self.findings_frozen = False
        # BatchUpdateFindings: injected partial failures, and the "Security Hub Findings -
        # Imported" event each updated finding emits (EventBridge's envelope), oldest first.
        self.update_rejections: list[UpdateRejection] = []
        self.imported_events: list[dict[str, Any]] = []
        # The new Security Hub (off unless a test turns it on, as in a real account): on for
        # the caller (administrator) account, aggregating into `securityhub_home`; its partial
        # failures of BatchUpdateFindingsV2 and the "Findings Imported V2" events it emits.
        self.hub_v2 = False
        # Security Hub CSPM's own API for the caller account (False: "only the new hub on":
        # DescribeHub, GetFindings and BatchUpdateFindings refuse, while the controls are
        # still evaluated and their findings reach the new hub).
        self.cspm_api = True
        self.v2_update_rejections: list[UpdateRejection] = []
        self.imported_v2_events: list[dict[str, Any]] = []
        self._securityhub_home: str | None = None
        # AWS's own documents (every account sees them); each account's are in its scopes.
        self.documents: dict[str, SimDocument] = catalogue()
        # How long a new association run stays InProgress, and a command or an Automation
        # execution runs, unless an association says otherwise (0: done at once).
        self.run_seconds = 0.0
        self.command_seconds = 0.0
        caller = self.add_account(caller_account, "security-tooling")
        self.caller_credentials = self._issue(
            caller.account_id, f"arn:aws:iam::{caller_account}:user/ssm3-bot", temporary=False
        )

    @property
    def securityhub_home(self) -> str:
        """The caller account's aggregation region: GetFindings there sees every region."""
        if self._securityhub_home:
            return self._securityhub_home
        with self.lock:
            return next(iter(self.scopes), ("", "us-east-1"))[1]

    @securityhub_home.setter
    def securityhub_home(self, region: str) -> None:
        self._securityhub_home = region

    # -- time -------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The simulator's clock; tests move it forward to expire credentials."""
        return datetime.now(UTC) + self.clock_offset

    # -- building -----------------------------------------------------------------------------
    def add_account(
        self, account_id: str, name: str, *, denies_assume_role: bool = False
    ) -> SimAccount:
        with self.lock:
            account = SimAccount(account_id, name, denies_assume_role)
            self.accounts[account_id] = account
            return account

    def scope(self, account_id: str, region: str) -> SimScope:
        with self.lock:
            key = (account_id, region)
            if key not in self.scopes:
                self.scopes[key] = SimScope(account_id, region)
            return self.scopes[key]

    def find_document(self, scope: SimScope, name: str) -> SimDocument | None:
        """A document by name or ARN: the account's own in that region, else AWS's."""
        bare = name.rsplit("/", 1)[-1] if name.startswith("arn:") else name
        with self.lock:
            return scope.documents.get(bare) or self.documents.get(bare)

    def find_association(self, association_id: str) -> tuple[SimScope, SimAssociation]:
        with self.lock:
            for scope in self.scopes.values():
                if association_id in scope.associations:
                    return scope, scope.associations[association_id]
        raise KeyError(association_id)

    # -- credentials --------------------------------------------------------------------------
    def _issue(self, account_id: str, arn: str, *, temporary: bool) -> Credential:
        prefix = "ASIA" if temporary else "AKIA"
        key = prefix + uuid.uuid4().hex[:16].upper()
        credential = Credential(
            access_key_id=key,
            secret_access_key=uuid.uuid4().hex + uuid.uuid4().hex[:8],
            account_id=account_id,
            arn=arn,
            session_token=("FwoGZXIvYXdzE" + uuid.uuid4().hex * 3) if temporary else None,
            expires_at=self.now() + timedelta(seconds=self.credential_lifetime_s)
            if temporary
            else None,
        )
        with self.lock:
            self.credentials[key] = credential
        return credential

    def assume_role(self, caller: Credential, role_arn: str, session_name: str) -> Credential:
        """Issue temporary credentials, or raise PermissionError as STS's AccessDenied."""
        parts = role_arn.split(":")
        account_id = parts[4] if len(parts) == 6 else ""
        role = parts[5].removeprefix("role/") if len(parts) == 6 else ""
        account = self.accounts.get(account_id)
        if account is None or account.denies_assume_role or role != self.role_name:
            raise PermissionError(
                f"User: {caller.arn} is not authorized to perform: sts:AssumeRole "
                f"on resource: {role_arn}"
            )
        return self._issue(
            account_id,
            f"arn:aws:sts::{account_id}:assumed-role/{role}/{session_name}",
            temporary=True,
        )

    # -- faults and accounting ----------------------------------------------------------------
    def inject(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def add_latency(self, latency: Latency) -> None:
        with self.lock:
            self.latencies.append(latency)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self.latencies.clear()

    def take_fault(self, operation: str, account_id: str | None, region: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(operation, account_id, region):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def latency_for(self, operation: str, account_id: str | None, region: str) -> float:
        with self.lock:
            return sum(
                x.seconds for x in self.latencies if x.matches(operation, account_id, region)
            )

    def record_call(self, call: Call) -> None:
        with self.lock:
            self.calls[call] += 1

    def call_count(
        self,
        operation: str | None = None,
        *,
        service: str | None = None,
        account_id: str | None = None,
        region: str | None = None,
    ) -> int:
        with self.lock:
            return sum(
                n
                for call, n in self.calls.items()
                if (operation is None or call.operation == operation)
                and (service is None or call.service == service)
                and (account_id is None or call.account_id == account_id)
                and (region is None or call.region == region)
            )

    def record_error(self, call: Call, code: str) -> None:
        with self.lock:
            self.errors[(call, code)] += 1

    def error_codes(self, operation: str | None = None) -> Counter[str]:
        """How many error answers of each code were sent (for one operation, or all)."""
        with self.lock:
            found: Counter[str] = Counter()
            for (call, code), n in self.errors.items():
                if operation is None or call.operation == operation:
                    found[code] += n
            return found

    def reset_calls(self) -> None:
        with self.lock:
            self.calls.clear()
            self.errors.clear()

    # -- changing the estate --------------------------------------------------------------------
    def run_association(
        self,
        association_id: str,
        *,
        failures: dict[str, Failure] | None = None,
        at: datetime | None = None,
        seconds: float = 0.0,
        triggered_alarms: tuple[str, ...] = (),
    ) -> SimExecution:
        """Record a new execution: the given instances fail, every other target succeeds; it
        stays InProgress for `seconds` after it starts."""
        with self.lock:
            _, association = self.find_association(association_id)
            started = at or self.now()
            execution = SimExecution(
                execution_id=str(uuid.uuid4()),
                created_at=started,
                instance_ids=association.instance_ids,
                failures=dict(failures or {}),
                command_id=str(uuid.uuid4()),
                association_version=str(association.version),
                triggered_alarms=triggered_alarms,
                finishes_at=started + timedelta(seconds=seconds) if seconds > 0 else None,
                clock=self.now,
            )
            association.executions.insert(0, execution)
            return execution

    def delete_association(self, association_id: str, *, keep_compliance: bool = True) -> None:
        """Delete an association. `keep_compliance` leaves its Association items behind as
        explicit items (as AWS can: orphans that SSM.3 still judges); else they go too."""
        with self.lock:
            scope, association = self.find_association(association_id)
            derived = scope.derived_items(association)
            del scope.associations[association_id]
            for key, items in list(scope.compliance.items()):
                if key[1] == "Association":
                    kept = [i for i in items if i.item_id != association_id]
                    if kept:
                        scope.compliance[key] = kept
                    else:
                        del scope.compliance[key]
            if keep_compliance:
                for item in derived:
                    scope.put_items(item.resource_id, "Association", [item], upload_type="PARTIAL")

    def report_compliance(
        self,
        association_id: str,
        statuses: Mapping[str, ComplianceStatus],
        *,
        at: datetime | None = None,
        title: str | None = None,
        execution: SimExecution | None = None,
    ) -> None:
        """What a MANUAL association's document does: PutComplianceItems of type Association,
        item Id = the association ID, one PARTIAL upload for each instance given (from
        `execution`, else its latest finished run)."""
        with self.lock:
            scope, association = self.find_association(association_id)
            latest = execution or association.latest
            when = at or (latest.created_at if latest else self.now())
            for instance_id, status in statuses.items():
                item = ComplianceItem(
                    resource_id=instance_id,
                    compliance_type="Association",
                    item_id=association_id,
                    title=title or "",
                    status=status,
                    execution_time=when,
                    severity=association.compliance_severity,
                    execution_id=latest.execution_id if latest else None,
                    execution_type="Command",
                    details={"DocumentName": association.document, "DocumentVersion": "1"},
                )
                scope.put_items(instance_id, "Association", [item], upload_type="PARTIAL")

    def put_compliance(
        self,
        account_id: str,
        region: str,
        instance_id: str,
        compliance_type: str,
        items: Sequence[tuple[str, str, str]],  # (id, title, status)
        *,
        at: datetime | None = None,
    ) -> None:
        """A COMPLETE upload of other compliance (Patch, Custom:...) for one instance."""
        with self.lock:
            when = at or self.now()
            entries = [
                ComplianceItem(
                    resource_id=instance_id,
                    compliance_type=compliance_type,
                    item_id=item_id,
                    title=title,
                    status="NON_COMPLIANT" if status == "NON_COMPLIANT" else "COMPLIANT",
                    execution_time=when,
                    severity="MEDIUM" if status == "NON_COMPLIANT" else "UNSPECIFIED",
                    execution_type="Command",
                )
                for item_id, title, status in items
            ]
            self.scope(account_id, region).put_items(instance_id, compliance_type, entries)

    def put_patches(
        self,
        account_id: str,
        region: str,
        instance_id: str,
        missing: Sequence[tuple[str, str, Severity]],  # (id, title, severity)
        *,
        at: datetime | None = None,
    ) -> None:
        """What a patch scan reports: a COMPLETE upload of Patch items, the missing ones
        NON_COMPLIANT at their severity (an empty list: nothing missing, one COMPLIANT item)."""
        with self.lock:
            when = at or self.now()
            entries = [
                ComplianceItem(
                    resource_id=instance_id,
                    compliance_type="Patch",
                    item_id=item_id,
                    title=title,
                    status="NON_COMPLIANT",
                    execution_time=when,
                    severity=severity,
                    execution_type="Command",
                    details={"Classification": "SecurityUpdates", "PatchState": "Missing"},
                )
                for item_id, title, severity in missing
            ] or [
                ComplianceItem(
                    resource_id=instance_id,
                    compliance_type="Patch",
                    item_id="kernel.x86_64:0:6.1.0",
                    title="kernel",
                    status="COMPLIANT",
                    execution_time=when,
                    execution_type="Command",
                    details={"Classification": "SecurityUpdates", "PatchState": "Installed"},
                )
            ]
            self.scope(account_id, region).put_items(instance_id, "Patch", entries)

    def compliance_items(
        self, account_id: str, region: str, instance_id: str
    ) -> list[dict[str, Any]]:
        """Every compliance item of one instance (all types, derived and explicit), API-shaped."""
        with self.lock:
            kinds = self.scope(account_id, region).compliance_by_resource().get(instance_id, {})
            return [item.to_api() for items in kinds.values() for item in items]

    # -- Security Hub ---------------------------------------------------------------------------
    def refresh_findings(self) -> None:
        """Bring the SSM.3 findings up to date with compliance, as Config and Security Hub do.

        One finding per instance with any Association item, in scopes where SSM.3 is enabled
        and Config records AWS::SSM::AssociationCompliance. FAILED when any Association item is
        NON_COMPLIANT. Workflow: new findings start NEW; FAILED again (or ARCHIVED -> ACTIVE)
        sends NOTIFIED and RESOLVED back to NEW (SUPPRESSED stays: "the finding is no longer
        updated"); PASSED sets NEW and NOTIFIED to RESOLVED.
        A finding whose instance has no Association items any more is ARCHIVED; so are the
        findings of a scope where SSM.3 is no longer enabled. Where Config stopped recording,
        findings stay as they were.
        """
        with self.lock:
            now = self.now()
            seen: set[str] = set()
            for scope in self.scopes.values():
                if scope.ssm3_control != "ENABLED":
                    continue  # its findings are archived below
                if not scope.records_association_compliance:
                    seen |= {
                        f.finding_id
                        for f in self.findings.values()
                        if (f.account_id, f.region) == (scope.account_id, scope.region)
                    }
                    continue
                for resource_id, kinds in scope.compliance_by_resource().items():
                    items = kinds.get("Association")
                    if not items:
                        continue
                    failed = any(item.status == "NON_COMPLIANT" for item in items)
                    seen.add(self._observe(scope, resource_id, failed, now))
            for finding in self.findings.values():
                if finding.finding_id not in seen and finding.record_state == "ACTIVE":
                    finding.record_state = "ARCHIVED"
                    finding.updated_at = now

    def _observe(self, scope: SimScope, instance_id: str, failed: bool, now: datetime) -> str:
        finding_id = _finding_id(scope.account_id, scope.region, instance_id)
        status: Literal["PASSED", "FAILED"] = "FAILED" if failed else "PASSED"
        finding = self.findings.get(finding_id)
        if finding is None:
            finding = SimFinding(
                finding_id=finding_id,
                account_id=scope.account_id,
                region=scope.region,
                instance_id=instance_id,
                resource_arn=_resource_arn(scope.account_id, scope.region, instance_id),
                compliance_status=status,
                created_at=now,
                updated_at=now,
                last_observed_at=now,
            )
            self.findings[finding_id] = finding
            if not failed:
                finding.workflow_status = "RESOLVED"
                finding.v2_status_id = 4
            return finding_id
        finding.last_observed_at = now
        if finding.record_state == "ARCHIVED":
            finding.record_state = "ACTIVE"
            finding.updated_at = now
            if finding.workflow_status in ("NOTIFIED", "RESOLVED"):
                finding.workflow_status = "NEW"  # documented: ARCHIVED -> ACTIVE resets these
            if finding.v2_status_id in (2, 4):
                finding.v2_status_id = 1
        if finding.compliance_status != status:
            finding.compliance_status = status
            finding.updated_at = now
            if failed and finding.workflow_status in ("NOTIFIED", "RESOLVED"):
                finding.workflow_status = "NEW"
            elif not failed and finding.workflow_status in ("NEW", "NOTIFIED"):
                finding.workflow_status = "RESOLVED"
            # The new hub's own workflow moves the same way (In Progress ~ NOTIFIED).
            if failed and finding.v2_status_id in (2, 4):
                finding.v2_status_id = 1
            elif not failed and finding.v2_status_id in (1, 2):
                finding.v2_status_id = 4
        return finding_id

    def finding_for(self, account_id: str, region: str, instance_id: str) -> SimFinding | None:
        with self.lock:
            return self.findings.get(_finding_id(account_id, region, instance_id))

    def reject_updates(self, rejection: UpdateRejection) -> UpdateRejection:
        """Make BatchUpdateFindings leave some findings unprocessed (see UpdateRejection)."""
        with self.lock:
            self.update_rejections.append(rejection)
        return rejection

    def reject_v2_updates(self, rejection: UpdateRejection) -> UpdateRejection:
        """Make BatchUpdateFindingsV2 leave some findings unprocessed (error codes of its own:
        ConflictException, ResourceNotFoundException, ValidationException, ...)."""
        with self.lock:
            self.v2_update_rejections.append(rejection)
        return rejection

    def take_rejection(self, finding_id: str, *, v2: bool = False) -> UpdateRejection | None:
        with self.lock:
            for rejection in self.v2_update_rejections if v2 else self.update_rejections:
                if rejection.matches(finding_id):
                    if rejection.times is not None:
                        rejection.times -= 1
                    return rejection
        return None


def _finding_id(account_id: str, region: str, instance_id: str) -> str:
    name = uuid.uuid5(uuid.NAMESPACE_URL, f"ssm3/{account_id}/{region}/{instance_id}")
    return f"arn:aws:securityhub:{region}:{account_id}:security-control/SSM.3/finding/{name}"


def _resource_arn(account_id: str, region: str, instance_id: str) -> str:
    """Either ARN form: which one a real finding carries is not documented (take the ID's tail)."""
    if hashlib.sha256(instance_id.encode()).digest()[0] % 2:
        return f"arn:aws:ssm:{region}:{account_id}:managed-instance/{instance_id}"
    return f"arn:aws:ec2:{region}:{account_id}:instance/{instance_id}"


# -- a seeded generator of realistic estates ------------------------------------------------------

_TEMPLATES: tuple[tuple[str, str, str, int], ...] = (
    # name stem, document, schedule, hours between runs
    ("patch-scan", "AWS-RunPatchBaseline", "rate(1 day)", 24),
    ("patch-install-sunday", "AWS-RunPatchBaseline", "cron(0 2 ? * SUN *)", 168),
    ("inventory-hourly", "AWS-GatherSoftwareInventory", "rate(1 hour)", 1),
    ("ssm-agent-update", "AWS-UpdateSSMAgent", "rate(14 days)", 336),
    ("cloudwatch-agent", "AmazonCloudWatch-ManageAgent", "rate(1 day)", 24),
    ("falcon-sensor", "AWS-ConfigureAWSPackage", "rate(1 day)", 24),
    ("cis-hardening", "AWS-ApplyAnsiblePlaybooks", "rate(7 days)", 168),
    ("log-rotation", "AWS-RunShellScript", "rate(12 hours)", 12),
    ("defender-signatures", "AWS-RunPowerShellScript", "rate(1 day)", 24),
    ("inspector-agent", "AmazonInspector2-ConfigureInspectorSsmPlugin", "rate(7 days)", 168),
)
# Each template's parameters, accepted by its document (a run with other values fails).
_TEMPLATE_PARAMETERS: dict[str, dict[str, list[str]]] = {
    "patch-scan": {"Operation": ["Scan"]},
    "patch-install-sunday": {"Operation": ["Install"], "RebootOption": ["RebootIfNeeded"]},
    "falcon-sensor": {"action": ["Install"], "name": ["FalconSensor-Linux"]},
    "log-rotation": {"commands": ["logrotate -f /etc/logrotate.conf"]},
    "defender-signatures": {"commands": ["Update-MpSignature"]},
}
_ENVIRONMENTS = ("prod", "staging", "web", "batch", "data", "ci", "edge", "core")
# What a patch scan finds missing (ids and titles as Patch Manager reports them).
MISSING_PATCHES: tuple[tuple[str, str, Severity], ...] = (
    ("ALAS2023-2025-812", "openssl-3.0.8-1.amzn2023.0.20.x86_64", "CRITICAL"),
    ("ALAS2023-2025-797", "kernel-6.1.119-129.201.amzn2023.x86_64", "HIGH"),
    ("ALAS2023-2025-779", "curl-8.5.0-1.amzn2023.0.5.x86_64", "MEDIUM"),
    ("ALAS2023-2025-760", "sudo-1.9.15-1.p5.amzn2023.0.2.x86_64", "HIGH"),
)
_ACCOUNT_NAMES = ("security-tooling", "payments-prod", "sandbox", "data-platform", "web-prod")


_PLUGINS = {
    "AWS-RunPatchBaseline": "PatchLinux",
    "AWS-GatherSoftwareInventory": "aws:softwareInventory",
    "AWS-UpdateSSMAgent": "aws:updateSsmAgent",
    "AWS-ConfigureAWSPackage": "configurePackage",
    "AWS-RunPowerShellScript": "aws:runPowerShellScript",
    "AmazonCloudWatch-ManageAgent": "ControlCloudWatchAgentLinux",
}


def failure_for(cause: Cause, document: str, rng: random.Random) -> Failure:
    """A failure as the agent would report it for this cause and document."""
    plugin = _PLUGINS.get(document, "aws:runShellScript")
    if cause == "unreachable":
        return Failure(
            cause,
            "DeliveryTimedOut",
            "TIMEOUT",
            "The association could not be delivered: the instance has not reported to "
            "Systems Manager for 3 hours (PingStatus ConnectionLost).",
            "",
        )
    if cause == "permissions":
        bucket = rng.choice(("patch-baselines-prod", "ssm-output-logs", "ansible-playbooks"))
        # The stderr line is written by GetCommandInvocation, naming the instance's own role.
        return denied(plugin, "s3:GetObject", f"arn:aws:s3:::{bucket}/config.json")
    if cause == "bad_parameter":
        name, values = BAD_PARAMETERS.get(document, _BAD_DEFAULT)
        value = rng.choice(values)
        return bad_parameter(document, name, value)
    if cause == "agent_outdated":
        return agent_outdated()
    code = rng.choice(("1", "2", "127"))
    return Failure(
        cause,
        "Failed",
        code,
        "1 out of 1 plugin processed, 0 success, 1 failed, 0 timedout, 0 skipped. "
        f"The operation {plugin} failed with exit code {code}.",
        f"/var/lib/amazon/ssm/i/document/orchestration/_script.sh: line 4: command exited {code}\n"
        "yum: error: cannot find a valid baseurl for repo: amzn2-core/2/x86_64",
    )


def denied(
    plugin: str,
    action: str,
    resource: str | None,
    *,
    by: Literal["identity", "scp"] = "identity",
    style: Literal["cli", "go"] = "cli",
) -> Failure:
    """A step refused `action` on `resource`: the AccessDenied line is printed on stderr."""
    return Failure(
        "permissions",
        "Failed",
        "1",
        "1 out of 1 plugin processed, 0 success, 1 failed, 0 timedout, 0 skipped. "
        f"The operation {plugin} failed: AccessDenied.",
        "",
        denied_action=action,
        denied_resource=resource,
        denied_by=by,
        denied_style=style,
    )


# A parameter of each document and three values it does not accept (what `failure_for` draws).
BAD_PARAMETERS: dict[str, tuple[str, tuple[str, str, str]]] = {
    "AWS-RunPatchBaseline": ("Operation", ("Scan2", "Instal", "latestt")),
    "AWS-RunPatchBaselineAssociation": ("Operation", ("Scan2", "Instal", "latestt")),
    "AWS-GatherSoftwareInventory": ("applications", ("enabled", "On", "yes")),
    "AWS-UpdateSSMAgent": ("allowDowngrade", ("True", "yes", "1")),
    "AmazonCloudWatch-ManageAgent": ("action", ("restart", "Configure", "reload")),
    "AWS-ConfigureAWSPackage": ("action", ("Instal", "install", "Upgrade")),
    "AWS-ApplyAnsiblePlaybooks": ("Check", ("true", "yes", "0")),
    "AWS-RunShellScript": ("executionTimeout", ("0", "1h", "200000")),
    "AWS-RunPowerShellScript": ("executionTimeout", ("0", "1h", "200000")),
    "AmazonInspector2-ConfigureInspectorSsmPlugin": ("Operation", ("Instal", "install", "Enable")),
}
_BAD_DEFAULT = ("Operation", ("Scan2", "Instal", "latestt"))


def bad_parameter(document: str, name: str, value: str) -> Failure:
    """The run refused a parameter value the document does not accept (the association's
    `parameters` must hold it, as `generate_fleet` and the tests set them)."""
    return Failure(
        "bad_parameter",
        "InvalidParameters",
        "",
        f"Parameter '{name}' value '{value}' is not valid for {document}.",
        f"Invalid parameter value '{value}' for parameter '{name}'.",
        parameter=(name, value),
    )


def agent_outdated(kind: Literal["schema", "plugin"] = "schema") -> Failure:
    """The agent is too old for the document: its error, word for word (amazon-ssm-agent)."""
    stderr = (
        "Document with schema version 2.2 is not supported by this version of ssm agent, please "
        "update to latest version"
        if kind == "schema"
        else "Plugin with name aws:runDocument is not supported by this version of ssm agent, "
        "please update to latest version. Step name: runDocument"
    )
    return Failure(
        "agent_outdated",
        "Failed",
        "",
        "1 out of 1 plugin processed, 0 success, 1 failed, 0 timedout, 0 skipped.",
        stderr,
    )


def timed_out(document: str) -> Failure:
    """A target that timed out: Status TimedOut, as State Manager reports it."""
    return Failure(
        "timeout",
        "TimedOut",
        "",
        "The association timed out on the instance.",
        "",
        status="TimedOut",
    )


_timed_out_failure = timed_out  # `generate_fleet`'s knob of the same name shadows it there


def generate_fleet(
    *,
    seed: int = 7,
    accounts: Sequence[str] | int = 2,
    regions: Sequence[str] = ("eu-west-1", "us-east-1"),
    associations: int = 12,
    failing: int = 3,
    instances: int = 40,
    failed_instances: tuple[int, int] = (1, 5),
    deny_accounts: Iterable[str] = (),
    unnamed_every: int = 9,
    history: int = 5,
    now: datetime | None = None,
    role_name: str = "SSM3ReadOnly",
    credential_lifetime_s: int = 3600,
    manual: int = 0,
    manual_noncompliant: tuple[int, int] = (1, 3),
    patch_noise: bool = False,
    timed_out: int = 0,
    failing_every: int = 1,
) -> Fleet:
    """Build a reproducible estate; the first account is the caller's (management) account.

    Each account-region gets `instances` instances and `associations` associations, of which
    `failing` failed their latest run on `failed_instances` (inclusive range) instances, with a
    failing streak of one or more runs so `failing_since` has something to find.

    Extra knobs, all off by default (then the fleet is exactly what it was without them; their
    draws come from a second generator, `Random(seed + 1000)`), each per account-region:
    - `manual`: MANUAL-sync patch-scanning associations (`AWS-RunPatchBaselineAssociation`,
      like Quick Setup's `patch-scan-quicksetup`, rate(1 day)): every run succeeds, yet
      `manual_noncompliant` (inclusive range) of their targets are reported NON_COMPLIANT
      through `report_compliance` and the rest COMPLIANT;
    - `patch_noise`: NON_COMPLIANT Patch items and a COMPLIANT Custom item on a few
      instances (they never count for SSM.3);
    - `timed_out`: AUTO associations whose latest run timed out on 1 or 2 instances.

    `failing_every`: only every n-th account-region (in account, then region order) has its
    `failing` associations; the others are clean (a large organisation where failures are few).
    """
    rng = random.Random(seed)
    extra = random.Random(seed + 1000)
    now = now or datetime.now(UTC)
    account_ids = (
        list(accounts)
        if not isinstance(accounts, int)
        else [_account_id(i, rng) for i in range(accounts)]
    )
    fleet = Fleet(
        caller_account=account_ids[0],
        role_name=role_name,
        credential_lifetime_s=credential_lifetime_s,
    )
    denied = set(deny_accounts)
    scope_index = 0
    for index, account_id in enumerate(account_ids):
        if account_id not in fleet.accounts:
            name = _ACCOUNT_NAMES[index % len(_ACCOUNT_NAMES)]
            fleet.add_account(account_id, f"{name}-{index}" if index >= 5 else name)
        fleet.accounts[account_id].denies_assume_role = account_id in denied
        for region in regions:
            scope_index += 1
            _populate(
                fleet.scope(account_id, region),
                rng=rng,
                associations=associations,
                failing=failing if (scope_index - 1) % failing_every == 0 else 0,
                instances=instances,
                failed_instances=failed_instances,
                unnamed_every=unnamed_every,
                history=history,
                now=now,
            )
            if manual or patch_noise or timed_out:
                _add_extras(
                    fleet,
                    fleet.scope(account_id, region),
                    rng=extra,
                    manual=manual,
                    manual_noncompliant=manual_noncompliant,
                    patch_noise=patch_noise,
                    timed_out=timed_out,
                    history=history,
                    now=now,
                )
    if regions:
        fleet.securityhub_home = regions[0]
    return fleet


def _add_extras(
    fleet: Fleet,
    scope: SimScope,
    *,
    rng: random.Random,
    manual: int,
    manual_noncompliant: tuple[int, int],
    patch_noise: bool,
    timed_out: int,
    history: int,
    now: datetime,
) -> None:
    instance_ids = list(scope.instances)
    if not instance_ids:
        return

    def add(name: str, document: str, schedule: str, every_h: int, **kw: Any) -> SimAssociation:
        size = min(len(instance_ids), rng.randrange(5, 40))
        association = SimAssociation(
            association_id=_uuid(rng),
            name=name,
            document=document,
            schedule=schedule,
            instance_ids=tuple(rng.sample(instance_ids, size)),
            created_at=now - timedelta(days=60),
            **kw,
        )
        scope.associations[association.association_id] = association
        latest_at = now - timedelta(minutes=rng.randrange(5, 55))
        for age in range(max(history, 1) - 1, -1, -1):
            association.executions.insert(
                0,
                SimExecution(
                    execution_id=_uuid(rng),
                    created_at=latest_at - timedelta(hours=every_h * age),
                    instance_ids=association.instance_ids,
                    failures={},
                    command_id=_uuid(rng),
                ),
            )
        return association

    for n in range(manual):
        association = add(
            "patch-scan-quicksetup" + (f"-{n + 1}" if n else ""),
            "AWS-RunPatchBaselineAssociation",
            "rate(1 day)",
            24,
            sync_compliance="MANUAL",
            target_key="tag:QSConfigId-ssm3",
            target_value="patch-scan",
            parameters={"Operation": ["Scan"]},
        )
        targets = list(association.instance_ids)
        bad = set(rng.sample(targets, min(len(targets), rng.randint(*manual_noncompliant))))
        statuses: dict[str, ComplianceStatus] = {
            i: "NON_COMPLIANT" if i in bad else "COMPLIANT" for i in targets
        }
        fleet.report_compliance(association.association_id, statuses)
        for position, instance_id in enumerate(sorted(bad)):  # what the scan found missing
            fleet.put_patches(
                scope.account_id,
                scope.region,
                instance_id,
                MISSING_PATCHES[: 2 + position % 3],
                at=association.executions[0].created_at,
            )
    if patch_noise:
        for instance_id in rng.sample(instance_ids, min(len(instance_ids), rng.randint(2, 4))):
            fleet.put_compliance(
                scope.account_id,
                scope.region,
                instance_id,
                "Patch",
                [
                    ("KB5034441", "2024-01 Security Update for Windows Server", "NON_COMPLIANT"),
                    ("openssl.x86_64:1:3.0.8-1.amzn2023", "openssl", "NON_COMPLIANT"),
                ],
                at=now - timedelta(hours=rng.randrange(1, 24)),
            )
            fleet.put_compliance(
                scope.account_id,
                scope.region,
                instance_id,
                "Custom:DiskEncryption",
                [("root-volume", "Root volume encrypted", "COMPLIANT")],
                at=now - timedelta(hours=rng.randrange(1, 24)),
            )
    for n in range(timed_out):
        association = add(
            f"long-running-backup-{n + 1}",
            "AWS-RunShellScript",
            "rate(6 hours)",
            6,
            target_value="batch",
            parameters={"commands": ["/opt/backup/run-nightly.sh"]},
        )
        latest = association.executions[0]
        slow = rng.sample(list(association.instance_ids), rng.randint(1, 2))
        latest.failures.update({i: _timed_out_failure(association.document) for i in slow})


def _account_id(index: int, rng: random.Random) -> str:
    if index < 9:
        return str(index + 1) * 12
    return str(rng.randrange(10**11, 10**12))


def _instance_id(rng: random.Random) -> str:
    return "i-" + "".join(rng.choice("0123456789abcdef") for _ in range(17))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _populate(
    scope: SimScope,
    *,
    rng: random.Random,
    associations: int,
    failing: int,
    instances: int,
    failed_instances: tuple[int, int],
    unnamed_every: int,
    history: int,
    now: datetime,
) -> None:
    instance_ids: list[str] = []
    for n in range(instances):
        windows = n % 5 == 4
        instance = SimInstance(
            instance_id=_instance_id(rng),
            agent_version=rng.choice(("3.3.1142.0", "3.3.1345.0", "3.2.2303.0")),
            platform="Windows" if windows else "Linux",
            platform_name="Microsoft Windows Server 2022 Datacenter" if windows else "Amazon Linux",
            computer_name=f"ip-10-{rng.randrange(256)}-{rng.randrange(256)}-{rng.randrange(256)}",
            last_ping=now - timedelta(minutes=rng.randrange(1, 5)),
        )
        scope.instances[instance.instance_id] = instance
        instance_ids.append(instance.instance_id)
    failing_indexes = set(rng.sample(range(associations), min(failing, associations)))
    for n in range(associations):
        stem, document, schedule, every_h = _TEMPLATES[n % len(_TEMPLATES)]
        environment = _ENVIRONMENTS[(n // len(_TEMPLATES)) % len(_ENVIRONMENTS)]
        generation = n // (len(_TEMPLATES) * len(_ENVIRONMENTS))
        name = f"{stem}-{environment}" + (f"-{generation + 1}" if generation else "")
        size = min(len(instance_ids), rng.randrange(5, 40)) if instance_ids else 0
        targets = tuple(rng.sample(instance_ids, size)) if size else ()
        association = SimAssociation(
            association_id=_uuid(rng),
            name=None if unnamed_every and n % unnamed_every == unnamed_every - 1 else name,
            document=document,
            schedule=schedule,
            instance_ids=targets,
            target_value=environment,
            created_at=now - timedelta(days=90),
            parameters={k: list(v) for k, v in _TEMPLATE_PARAMETERS.get(stem, {}).items()},
        )
        scope.associations[association.association_id] = association
        is_failing = n in failing_indexes and bool(targets)
        streak = rng.randrange(1, history + 1) if is_failing else 0
        failed = tuple(
            rng.sample(targets, min(len(targets), rng.randint(*failed_instances)))
            if is_failing
            else ()
        )
        causes = {instance_id: rng.choice(CAUSES) for instance_id in failed}
        association.fix_on_rerun = any(c == "script_error" for c in causes.values())
        for cause_instance, cause in causes.items():
            if cause == "unreachable":
                scope.instances[cause_instance].ping_status = "ConnectionLost"
                scope.instances[cause_instance].last_ping = now - timedelta(hours=3)
        latest_at = now - timedelta(minutes=rng.randrange(5, 55))
        for age in range(history - 1, -1, -1):  # oldest first, so inserting keeps newest first
            failures = (
                {i: failure_for(c, document, rng) for i, c in causes.items()}
                if age < streak
                else {}
            )
            association.executions.insert(
                0,
                SimExecution(
                    execution_id=_uuid(rng),
                    created_at=latest_at - timedelta(hours=every_h * age),
                    instance_ids=targets,
                    failures=failures,
                    command_id=_uuid(rng),
                ),
            )
        refused = [f.parameter for f in association.executions[0].failures.values() if f.parameter]
        if refused:  # the association holds the value its runs refuse
            association.parameters[refused[0][0]] = [refused[0][1]]
