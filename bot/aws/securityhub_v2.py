"""The new Security Hub (V2, OCSF findings) beside Security Hub CSPM: which hubs are on, the new
hub's SSM.3 failures for the cross-check, and its reads and writes for the acknowledgement sync.

Both hubs are read in SSM3_SECURITYHUB_REGION with the bot's own credentials. The OCSF findings
are untyped JSON and AWS does not document the exact strings of an ingested CSPM control finding
nor its resource UID format, so a finding is read defensively: the control ID, the account and
region, and the `i-…`/`mi-…` at the end of the first resource's UID, nothing more.

BatchUpdateFindingsV2 records no author: the bot's marker is in the Comment it writes. Its
findings are named by `metadata.uid` (MetadataUids), 100 a call, paced by the CSPM writer's
`Pacer`; what stays unprocessed is retried as CSPM's is (bot/aws/securityhub_sync.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.aws.errors import AWS_ERRORS, error_code
from bot.aws.securityhub import pages
from bot.aws.securityhub_sync import SecurityHubWriter, is_final, stopped_by, write_in_batches
from bot.core.findings import CSPM, MARKER, V2, Finding, FindingId, Update, WriteResult
from bot.core.ids import INSTANCE_AT_END
from bot.models import InstanceKey, Scope

if TYPE_CHECKING:
    from mypy_boto3_securityhub import SecurityHubClient

# OCSF finding status_id <-> the CSPM workflow names the sync's rule speaks.
STATUS_ID = {"NEW": 1, "NOTIFIED": 2, "SUPPRESSED": 3, "RESOLVED": 4}
WORKFLOW = {number: name for name, number in STATUS_ID.items()}


def _string(field: str, value: str, comparison: str = "EQUALS") -> dict[str, Any]:
    return {"FieldName": field, "Filter": {"Value": value, "Comparison": comparison}}


SSM3 = _string("compliance.control", "SSM.3")
FAILING = {"FieldName": "compliance.status_id", "Filter": {"Eq": 3}}  # OCSF 3: Fail


def _filters(*composites: Mapping[str, Any]) -> dict[str, Any]:
    return {"CompositeFilters": list(composites), "CompositeOperator": "AND"}


def scope_filters(scopes: Sequence[Scope] | None) -> list[dict[str, Any]]:
    """Composites (ORed inside, ANDed together) covering `scopes`' accounts and regions (a
    superset when several: the caller keeps only its scopes' findings)."""
    if not scopes:
        return []
    accounts = sorted({s.account_id for s in scopes})
    regions = sorted({s.region for s in scopes})
    return [
        {"StringFilters": [_string("cloud.account.uid", a) for a in accounts], "Operator": "OR"},
        {"StringFilters": [_string("cloud.region", r) for r in regions], "Operator": "OR"},
    ]


def hub_is_on(describe: Callable[[], object], off_codes: frozenset[str]) -> bool:
    """Whether a hub answers its Describe call; its "off" codes say no, other errors raise."""
    try:
        describe()
    except AWS_ERRORS as exc:
        if error_code(exc) in off_codes:
            return False
        raise
    return True


def hubs_on(client: SecurityHubClient) -> tuple[str, ...]:
    """The hubs on in the client's region: CSPM (DescribeHub; InvalidAccessException: off) and
    the new one (DescribeSecurityHubV2; ResourceNotFoundException: off). Raises what else
    AWS answers (no access, throttled): the caller says the hubs are unknown."""
    found = []
    if hub_is_on(client.describe_hub, frozenset({"InvalidAccessException"})):
        found.append(CSPM)
    if hub_is_on(client.describe_security_hub_v2, frozenset({"ResourceNotFoundException"})):
        found.append(V2)
    return tuple(found)


def findings(client: SecurityHubClient, filters: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every OCSF finding GetFindingsV2 returns for `filters`, 100 a page."""
    return pages(lambda page: client.get_findings_v2(**page), filters)


def failed_findings(
    client: SecurityHubClient, scopes: Sequence[Scope] | None = None
) -> Iterator[Mapping[str, Any]]:
    """Every SSM.3 finding of the new hub whose compliance fails (in `scopes`, when given)."""
    return findings(
        client,
        _filters({"StringFilters": [SSM3], "NumberFilters": [FAILING]}, *scope_filters(scopes)),
    )


def _at(document: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(document, Mapping):
            return None
        document = document.get(key)
    return document


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def instance_of(document: Mapping[str, Any]) -> InstanceKey | None:
    """The (account, region, instance) an OCSF SSM.3 finding is about, if it names one."""
    resources = document.get("resources")
    first = resources[0] if isinstance(resources, list) and resources else None
    match = INSTANCE_AT_END.search(_text(_at(first, "uid")) or "")
    account = _text(_at(document, "cloud", "account", "uid")) or _text(
        _at(first, "owner", "account", "uid")
    )
    region = _text(_at(document, "cloud", "region")) or _text(_at(first, "region"))
    if match is None or account is None or region is None:
        return None
    return InstanceKey(account, region, match.group(1))


def parse_finding(document: Mapping[str, Any]) -> Finding | None:
    """An OCSF SSM.3 finding as the sync's rule reads it, in CSPM's workflow words (None: it
    names no instance or no uid, or is not SSM.3's)."""
    instance = instance_of(document)
    uid = _text(_at(document, "metadata", "uid"))
    if instance is None or uid is None or _at(document, "compliance", "control") != "SSM.3":
        return None
    status = _at(document, "status_id")
    compliance = _at(document, "compliance", "status_id")
    comment = _text(document.get("comment"))
    return Finding(
        finding_id=uid,
        product_arn=_text(_at(document, "metadata", "product", "uid")) or "",
        instance=instance,
        workflow=WORKFLOW.get(status, f"STATUS_{status}") if isinstance(status, int) else "OTHER",
        compliance={3: "FAILED", 1: "PASSED"}.get(compliance, "")
        if isinstance(compliance, int)
        else "",
        note_text=comment,
        # The new hub records no author: a comment carrying the marker is only a claim (the
        # sync's ownership rests on its own store, never on this).
        note_by=MARKER if comment is not None and MARKER in comment else None,
    )


class SecurityHubV2Writer(SecurityHubWriter):
    """The sync's reads and writes of the new hub through one client (the caller closes it):
    CSPM's writer with the new hub's reads, findings and update call."""

    parse = staticmethod(parse_finding)

    def failed(self, scopes: Sequence[Scope] | None) -> list[Finding]:
        """SSM.3 findings failing compliance in these account-regions (None: all visible)."""
        return self._read(lambda: failed_findings(self.client, scopes))

    def held(self, scopes: Sequence[Scope] | None) -> list[Finding]:
        """SSM.3 findings In Progress or Suppressed whose comment carries the bot's marker."""
        held = {
            "NumberFilters": [{"FieldName": "status_id", "Filter": {"Gte": 2, "Lte": 3}}],
            "StringFilters": [SSM3, _string("comment", MARKER, "CONTAINS")],
        }
        return self._read(lambda: findings(self.client, _filters(held, *scope_filters(scopes))))

    def update(self, groups: Sequence[tuple[Update, Sequence[FindingId]]]) -> WriteResult:
        """Each update's StatusId and Comment on its findings (by metadata.uid), 100 a call,
        paced; what stays unprocessed is retried as CSPM's is."""
        by_uid = [(update, [uid for uid, _ in named]) for update, named in groups]
        return write_in_batches(by_uid, self._send, key=lambda uid: uid, final=is_final)

    def _send(
        self, update: Update, chunk: Sequence[str], result: WriteResult
    ) -> list[tuple[str, str]]:
        """One BatchUpdateFindingsV2; the findings it left unprocessed, with why."""
        self.pacer.wait()
        try:
            reply = self.client.batch_update_findings_v2(
                MetadataUids=list(chunk), StatusId=STATUS_ID[update.workflow], Comment=update.note
            )
        except AWS_ERRORS as exc:
            result.stopped = stopped_by(exc, self.region)
            result.not_attempted.update(chunk)
            return []
        finally:
            result.calls += 1
        for entry in reply.get("ProcessedFindings", []):
            uid = _uid_of(entry)
            if uid:
                result.processed.add(uid)
        left = []
        for entry in reply.get("UnprocessedFindings", []):
            uid = _uid_of(entry)
            problem = f"{entry.get('ErrorCode', 'Unknown')}: {entry.get('ErrorMessage', '')}"
            if uid:
                left.append((str(uid), problem.strip()))
        return left


def _uid_of(entry: Mapping[str, Any]) -> str | None:
    """The finding an answer names: by metadata.uid (how the bot asks), else finding_info.uid."""
    ident = entry.get("FindingIdentifier")
    named = entry.get("MetadataUid") or (ident.get("FindingInfoUid") if ident else None)
    return str(named) if named else None
