"""Writing acknowledgements to SSM.3 findings (SSM3_SECURITYHUB=sync), with the bot's own
credentials in SSM3_SECURITYHUB_REGION (the Security Hub administrator account's aggregation
home region, where member and linked-region findings can be updated).

Two reads say what the findings are now: the ACTIVE, FAILED SSM.3 findings (those an
acknowledgement may cover; after a sweep, the cross-check's own read is reused), and the ACTIVE
SSM.3 findings the bot holds in an acknowledgement workflow (its note, `UpdatedBy: ssm3-bot`,
SUPPRESSED or NOTIFIED: those an ended acknowledgement must release, compliant or not).

BatchUpdateFindings takes at most 100 findings a call and about 10 calls a second: updates go
in batches of 100, paced by one process-wide `Pacer`. Findings left in UnprocessedFindings are
retried (twice) unless retrying cannot help; throttling that outlasts botocore's retries,
AccessDenied and the like stop the writing and say why in one line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.errors import AWS_ERRORS, describe_error, error_code, iam_hint, is_denied, is_throttled
from bot.aws.securityhub import failed_findings, parse_finding, scope_filters
from bot.aws.securityhub import findings as all_findings
from bot.core.findings import ACK_WORKFLOWS, MARKER, Finding, FindingId, Update, WriteResult
from bot.models import Scope
from bot.models.answers import AwsFailure

if TYPE_CHECKING:
    from mypy_boto3_securityhub import SecurityHubClient

UPDATE_LIMIT = 100  # findings a BatchUpdateFindings (or BatchUpdateFindingsV2) call may name
CALLS_PER_SECOND = 10.0
UNPROCESSED_RETRIES = 2
WRITE_ATTEMPTS = 3  # botocore's attempts per call: a throttled ack is told so in seconds
# UnprocessedFindings codes a retry cannot change (CSPM's; the new hub's: ResourceNotFound and
# Validation).
FINAL = frozenset(
    {
        "FindingNotFound",
        "DuplicatedFindingIdentifier",
        "FindingSizeExceeded",
        "ResourceNotFoundException",
        "ValidationException",
    }
)
FINAL_PREFIX = "InvalidInput"


class Pacer:
    """At most `rate` calls a second, across every thread that shares it."""

    def __init__(
        self,
        rate: float = CALLS_PER_SECOND,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        with self._lock:
            now = self._monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)


PACER = Pacer()


def stopped_by(exc: ClientError | BotoCoreError, region: str) -> str:
    """Why Security Hub was not updated, in a few words for the person who asked."""
    if is_throttled(exc):
        return "throttled"
    if is_denied(exc):
        operation = exc.operation_name if isinstance(exc, ClientError) else None
        read = operation in ("GetFindings", "GetFindingsV2")
        return f"denied: {iam_hint('securityhub:GetFindings' if read else 'securityhub:BatchUpdateFindings')}"
    if error_code(exc) == "InvalidAccessException":
        return f"Security Hub is not enabled for the bot's account in {region}"
    return describe_error(exc)


SSM3_ACTIVE: dict[str, list[dict[str, str]]] = {
    "ComplianceSecurityControlId": [{"Value": "SSM.3", "Comparison": "EQUALS"}],
    "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
}


def is_final(code: str) -> bool:
    """An UnprocessedFindings code a retry cannot change (CSPM's and the new hub's)."""
    return code in FINAL or code.startswith(FINAL_PREFIX)


T = TypeVar("T")
Call = Callable[[Update, Sequence[T], WriteResult], list[tuple[T, str]]]


def write_in_batches(
    groups: Sequence[tuple[Update, Sequence[T]]],
    call: Call[T],
    *,
    key: Callable[[T], str],
    final: Callable[[str], bool],
    limit: int = UPDATE_LIMIT,  # both hubs: 100 findings a call
) -> WriteResult:
    """Each update sent for its findings `limit` a call (`call` paces itself and returns what
    stayed unprocessed, "Code: message"); what stays unprocessed is retried twice unless
    `final` says retrying cannot help; once a call stops the writing, the rest is not sent."""
    result = WriteResult()
    for update, findings in groups:
        pending = list(dict.fromkeys(findings))
        for attempt in range(UNPROCESSED_RETRIES + 1):
            retry: list[T] = []
            for start in range(0, len(pending), limit):
                chunk = pending[start : start + limit]
                if result.stopped is not None:
                    result.not_attempted.update(key(i) for i in chunk)
                    continue
                for ident, problem in call(update, chunk, result):
                    if final(problem.partition(":")[0]) or attempt == UNPROCESSED_RETRIES:
                        result.unprocessed[key(ident)] = problem
                    else:
                        retry.append(ident)
            pending = retry
            if not pending:
                break
    return result


class SecurityHubWriter:
    """The sync's reads and writes through one Security Hub client (the caller closes it)."""

    parse: Callable[[Mapping[str, Any]], Finding | None] = staticmethod(parse_finding)

    def __init__(self, client: SecurityHubClient, *, region: str, pacer: Pacer = PACER) -> None:
        self.client = client
        self.region = region
        self.pacer = pacer

    def close(self) -> None:
        self.client.close()

    def failed(self, scopes: Sequence[Scope] | None) -> list[Finding]:
        """ACTIVE, FAILED SSM.3 findings in these account-regions (None: all visible)."""
        return self._read(lambda: failed_findings(self.client, scopes))

    def held(self, scopes: Sequence[Scope] | None) -> list[Finding]:
        """ACTIVE SSM.3 findings the bot holds in an acknowledgement workflow."""
        filters = {
            **SSM3_ACTIVE,
            "NoteUpdatedBy": [{"Value": MARKER, "Comparison": "EQUALS"}],
            "WorkflowStatus": [{"Value": w, "Comparison": "EQUALS"} for w in ACK_WORKFLOWS],
            **scope_filters(scopes),
        }
        return self._read(lambda: all_findings(self.client, filters))

    def _read(self, pages: Callable[[], Iterable[Mapping[str, Any]]]) -> list[Finding]:
        """The findings parsed (those naming no instance dropped); AWS's refusal or silence
        as AwsFailure, with what stopped the sync in a few words."""
        try:
            return [f for f in map(self.parse, pages()) if f is not None]
        except AWS_ERRORS as exc:
            raise AwsFailure(describe_error(exc), exc, reason=stopped_by(exc, self.region)) from exc

    def update(self, groups: Sequence[tuple[Update, Sequence[FindingId]]]) -> WriteResult:
        """Apply each update to its findings, 100 a call, paced; retry what stays unprocessed."""
        return write_in_batches(groups, self._call, key=lambda ident: ident[0], final=is_final)

    def _call(
        self, update: Update, chunk: Sequence[FindingId], result: WriteResult
    ) -> list[tuple[FindingId, str]]:
        """One BatchUpdateFindings; the findings it left unprocessed, with why."""
        self.pacer.wait()
        try:
            reply = self.client.batch_update_findings(
                FindingIdentifiers=[{"Id": i, "ProductArn": a} for i, a in chunk],
                Workflow={"Status": update.workflow},  # type: ignore[typeddict-item]
                Note={"Text": update.note, "UpdatedBy": MARKER},
                UserDefinedFields=update.fields(),
            )
        except AWS_ERRORS as exc:
            result.stopped = stopped_by(exc, self.region)
            result.not_attempted.update(i for i, _ in chunk)
            return []
        finally:
            result.calls += 1
        result.processed.update(str(f["Id"]) for f in reply.get("ProcessedFindings", []))
        left = []
        for entry in reply.get("UnprocessedFindings", []):
            ident = entry["FindingIdentifier"]
            problem = f"{entry.get('ErrorCode', 'Unknown')}: {entry.get('ErrorMessage', '')}"
            left.append(((str(ident["Id"]), str(ident["ProductArn"])), problem.strip()))
        return left
