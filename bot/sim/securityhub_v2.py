"""Both Security Hubs' "is it on" calls and the new Security Hub's findings API (V2: OCSF).

The new Security Hub ingests Security Hub CSPM's control findings into a store of its own: here
each `SimFinding` has an OCSF twin (`ocsf_finding`) derived from the same compliance state, with
its own workflow (`v2_status_id`) and `v2_comment`, which only BatchUpdateFindingsV2 and the
automatic moves (bot/sim/fleet.py `_observe`) change; CSPM's workflow never shows here, nor this
one in CSPM (AWS documents no sync between the two).

AWS does not document the exact OCSF strings of an ingested CSPM control finding nor the
resource UID's format: these follow OCSF 1.6's Compliance Finding class and AWS's V2 docs, and
docs/simulator.md lists them among the known differences.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bot.sim.envelope import envelope
from bot.sim.fleet import SSM3_TITLE, Fleet, SimFinding
from bot.sim.handlers import ApiError, Caller, Handler, _iso, _page, _scope, _with_token

# OCSF 1.6 finding status_id names (BatchUpdateFindingsV2's StatusId).
STATUS_NAMES = {
    0: "Unknown",
    1: "New",
    2: "In Progress",
    3: "Suppressed",
    4: "Resolved",
    5: "Archived",
    6: "Deleted",
    99: "Other",
}
SEVERITY_NAMES = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High"}
SEVERITY_NAMES |= {5: "Critical", 6: "Fatal", 99: "Other"}
MAX_FINDINGS_UPDATED = 100  # BatchUpdateFindingsV2: MetadataUids + FindingIdentifiers
COMMENT_MAX = 512
PAGE_DEFAULT = PAGE_MAX = 100


def _product_uid(region: str) -> str:
    return f"arn:aws:securityhub:{region}::productv2/aws/securityhub"


def describe_hub(fleet: Fleet, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
    """Security Hub CSPM is on where SSM.3's control has a status (bot/sim/fleet.py SimScope)."""
    with fleet.lock:
        status = _scope(fleet, caller).ssm3_control
    if status is None or not fleet.cspm_api:
        raise ApiError(
            "InvalidAccessException",
            f"Account {caller.account_id} is not subscribed to AWS Security Hub",
            401,
        )
    return {
        "HubArn": f"arn:aws:securityhub:{caller.region}:{caller.account_id}:hub/default",
        "SubscribedAt": "2024-01-15T09:30:00.000Z",
        "AutoEnableControls": True,
        "ControlFindingGenerator": "SECURITY_CONTROL",
    }


def _require_v2(fleet: Fleet, caller: Caller) -> None:
    if not fleet.hub_v2 or caller.account_id != fleet.caller_account:
        raise ApiError(
            "AccessDeniedException",
            f"Security Hub is not enabled for account {caller.account_id} in {caller.region}.",
            403,
        )


def describe_security_hub_v2(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    """The new hub's subscription; ResourceNotFoundException when it is off (as documented)."""
    with fleet.lock:
        on = fleet.hub_v2 and caller.account_id == fleet.caller_account
    if not on:
        raise ApiError("ResourceNotFoundException", "Security Hub V2 is not enabled.", 404)
    return {
        "HubV2Arn": f"arn:aws:securityhub:{caller.region}:{caller.account_id}:hubv2/default",
        "SubscribedAt": "2025-12-02T10:00:00.000Z",
    }


def ocsf_finding(finding: SimFinding) -> dict[str, Any]:
    """The OCSF 1.6 Compliance Finding (class 2003) the new hub holds for one SSM.3 finding."""
    failed = finding.compliance_status == "FAILED"
    modified = finding.v2_modified_at or finding.updated_at
    region, account = finding.region, finding.account_id
    document: dict[str, Any] = {
        "activity_id": 1 if finding.v2_modified_at is None else 2,
        "activity_name": "Create" if finding.v2_modified_at is None else "Update",
        "category_name": "Findings",
        "category_uid": 2,
        "class_name": "Compliance Finding",
        "class_uid": 2003,
        "type_uid": 200301 if finding.v2_modified_at is None else 200302,
        "cloud": {"account": {"uid": account}, "provider": "AWS", "region": region},
        "compliance": {
            "control": "SSM.3",
            "standards": ["aws-foundational-security-best-practices/v/1.0.0"],
            "status": "Fail" if failed else "Pass",
            "status_id": 3 if failed else 1,
        },
        "finding_info": {
            "uid": finding.finding_id,
            "title": SSM3_TITLE,
            "types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
            "created_time_dt": _iso(finding.created_at),
            "first_seen_time_dt": _iso(finding.created_at),
            "last_seen_time_dt": _iso(finding.last_observed_at),
            "modified_time_dt": _iso(modified),
        },
        "metadata": {
            "uid": finding.finding_id,
            "version": "1.6.0",
            "profiles": ["cloud", "datetime"],
            "product": {
                "uid": _product_uid(region),
                "name": "Security Hub",
                "vendor_name": "AWS",
            },
        },
        "resources": [
            {
                "uid": finding.resource_arn,
                "type": "AWS::EC2::Instance"
                if ":ec2:" in finding.resource_arn
                else "AWS::SSM::ManagedInstanceInventory",
                "region": region,
                "cloud_partition": "aws",
                "owner": {"account": {"uid": account}},
            }
        ],
        "severity": "Low" if failed else "Informational",
        "severity_id": 2 if failed else 1,
        "status": STATUS_NAMES[finding.v2_status_id],
        "status_id": finding.v2_status_id,
        "time_dt": _iso(finding.last_observed_at),
    }
    if finding.v2_comment:
        document["comment"] = finding.v2_comment
    return document


# -- filters: OCSF field names, as GetFindingsV2's model lists them ------------------------------

_STRINGS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "metadata.uid": lambda d: [d["metadata"]["uid"]],
    "metadata.product.uid": lambda d: [d["metadata"]["product"]["uid"]],
    "metadata.product.name": lambda d: [d["metadata"]["product"]["name"]],
    "finding_info.uid": lambda d: [d["finding_info"]["uid"]],
    "finding_info.title": lambda d: [d["finding_info"]["title"]],
    "cloud.account.uid": lambda d: [d["cloud"]["account"]["uid"]],
    "cloud.region": lambda d: [d["cloud"]["region"]],
    "cloud.provider": lambda d: [d["cloud"]["provider"]],
    "class_name": lambda d: [d["class_name"]],
    "compliance.control": lambda d: [d["compliance"]["control"]],
    "compliance.status": lambda d: [d["compliance"]["status"]],
    "comment": lambda d: [d.get("comment", "")],
    "status": lambda d: [d["status"]],
    "severity": lambda d: [d["severity"]],
    "resources.uid": lambda d: [r["uid"] for r in d["resources"]],
    "resources.type": lambda d: [r["type"] for r in d["resources"]],
    "resources.region": lambda d: [r["region"] for r in d["resources"]],
}
_NUMBERS: dict[str, Callable[[Mapping[str, Any]], float]] = {
    "compliance.status_id": lambda d: float(d["compliance"]["status_id"]),
    "status_id": lambda d: float(d["status_id"]),
    "severity_id": lambda d: float(d["severity_id"]),
    "activity_id": lambda d: float(d["activity_id"]),
}
_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "EQUALS": lambda v, x: v == x,
    "PREFIX": lambda v, x: v.startswith(x),
    "NOT_EQUALS": lambda v, x: v != x,
    "PREFIX_NOT_EQUALS": lambda v, x: not v.startswith(x),
    "CONTAINS": lambda v, x: x in v,
    "NOT_CONTAINS": lambda v, x: x not in v,
}
_NUMBER_TESTS: dict[str, Callable[[float, float], bool]] = {
    "Eq": lambda v, x: v == x,
    "Gte": lambda v, x: v >= x,
    "Lte": lambda v, x: v <= x,
    "Gt": lambda v, x: v > x,
    "Lt": lambda v, x: v < x,
}
Test = Callable[[Mapping[str, Any]], bool]


def _string_test(entry: Mapping[str, Any]) -> Test:
    name = str(entry.get("FieldName") or "")
    getter = _STRINGS.get(name)
    condition = entry.get("Filter") or {}
    comparison = str(condition.get("Comparison") or "")
    test = _STRING_TESTS.get(comparison)
    if getter is None or test is None:
        raise ApiError(
            "ValidationException", f"The simulator does not filter on {name} {comparison}."
        )
    wanted = str(condition.get("Value") or "")
    negative = comparison.startswith(("NOT_", "PREFIX_NOT"))
    combine = all if negative else any  # a list field: every value passes a negative test
    return lambda d: combine(test(v, wanted) for v in getter(d))


def _number_test(entry: Mapping[str, Any]) -> Test:
    name = str(entry.get("FieldName") or "")
    getter = _NUMBERS.get(name)
    condition = {k: v for k, v in (entry.get("Filter") or {}).items() if v is not None}
    if getter is None or not condition or not set(condition) <= set(_NUMBER_TESTS):
        raise ApiError("ValidationException", f"The simulator does not filter on {name}.")
    return lambda d: all(_NUMBER_TESTS[k](getter(d), float(x)) for k, x in condition.items())


def _composite(composite: Mapping[str, Any]) -> Test:
    tests: list[Test] = []
    for kind in ("DateFilters", "BooleanFilters", "MapFilters", "IpFilters"):
        if composite.get(kind):
            raise ApiError("ValidationException", f"The simulator does not support {kind}.")
    tests += [_string_test(e) for e in composite.get("StringFilters") or []]
    tests += [_number_test(e) for e in composite.get("NumberFilters") or []]
    tests += [_composite(c) for c in composite.get("NestedCompositeFilters") or []]
    return _joined(tests, composite.get("Operator"))


def _joined(tests: list[Test], operator: Any) -> Test:
    if operator not in (None, "AND", "OR"):
        raise ApiError("ValidationException", f"Operator {operator!r} is not AND or OR.")
    if operator == "OR":
        return lambda d: not tests or any(t(d) for t in tests)
    return lambda d: all(t(d) for t in tests)


def findings_filter(filters: Mapping[str, Any]) -> Test:
    """OcsfFindingFilters: each composite's filters joined by its Operator (AND unless OR), the
    composites by CompositeOperator."""
    composites = [_composite(c) for c in filters.get("CompositeFilters") or []]
    return _joined(composites, filters.get("CompositeOperator"))


def _visible(fleet: Fleet, caller: Caller, finding: SimFinding) -> bool:
    """The administrator sees every account's findings; the home region every region's."""
    every_region = caller.region == fleet.securityhub_home
    return finding.record_state == "ACTIVE" and (every_region or finding.region == caller.region)


def get_findings_v2(fleet: Fleet, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
    if params.get("SortCriteria"):
        raise ApiError("ValidationException", "The simulator does not sort findings.")
    if params.get("Scopes"):
        raise ApiError("ValidationException", "The simulator does not support Scopes.")
    matches = findings_filter(params.get("Filters") or {})
    with fleet.lock:
        _require_v2(fleet, caller)
        if not fleet.findings_frozen and not params.get("NextToken"):
            fleet.refresh_findings()
        documents = [ocsf_finding(f) for f in fleet.findings.values() if _visible(fleet, caller, f)]
        kept = [d for d in documents if matches(d)]
        page, token = _page(kept, params, PAGE_DEFAULT, PAGE_MAX)
        return _with_token({"Findings": page}, token)


def batch_update_findings_v2(
    fleet: Fleet, caller: Caller, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Set StatusId, SeverityId and Comment on up to 100 findings named by metadata.uid or by
    (account, finding_info.uid, product uid); each one updated emits "Findings Imported V2"."""
    uids = [str(u) for u in params.get("MetadataUids") or []]
    identifiers = [dict(i) for i in params.get("FindingIdentifiers") or []]
    status, comment = params.get("StatusId"), params.get("Comment")
    _validate_update(len(uids) + len(identifiers), params)
    with fleet.lock:
        _require_v2(fleet, caller)
        now = fleet.now()
        processed: list[dict[str, Any]] = []
        unprocessed: list[dict[str, Any]] = []
        named: list[tuple[dict[str, Any], SimFinding | None]] = []
        for uid in uids:
            found = fleet.findings.get(uid)
            named.append(({"MetadataUid": uid}, found))
        for ident in identifiers:
            found = fleet.findings.get(str(ident.get("FindingInfoUid", "")))
            if found is not None and (
                ident.get("CloudAccountUid") != found.account_id
                or ident.get("MetadataProductUid") != _product_uid(found.region)
            ):
                found = None
            named.append(({"FindingIdentifier": ident}, found))
        for answer, found in named:
            if found is None or not _visible(fleet, caller, found):
                unprocessed.append(
                    {
                        **answer,
                        "ErrorCode": "ResourceNotFoundException",
                        "ErrorMessage": "Not found",
                    }
                )
                continue
            rejection = fleet.take_rejection(found.finding_id, v2=True)
            if rejection is not None:
                unprocessed.append(
                    {**answer, "ErrorCode": rejection.error_code, "ErrorMessage": rejection.message}
                )
                continue
            if status is not None:
                found.v2_status_id = int(status)
            if comment is not None:
                found.v2_comment = str(comment)
            found.v2_modified_at = now
            processed.append(answer)
            fleet.imported_v2_events.append(imported_v2_event(found, caller, now))
        return {"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}


def _validate_update(named: int, params: Mapping[str, Any]) -> None:
    status, severity, comment = (
        params.get("StatusId"),
        params.get("SeverityId"),
        params.get("Comment"),
    )
    if not 1 <= named <= MAX_FINDINGS_UPDATED:
        raise ApiError(
            "ValidationException",
            f"Name 1 to {MAX_FINDINGS_UPDATED} findings (MetadataUids and FindingIdentifiers).",
        )
    if status is None and severity is None and comment is None:
        raise ApiError("ValidationException", "Give a StatusId, a SeverityId or a Comment.")
    if status is not None and status not in STATUS_NAMES:
        raise ApiError("ValidationException", f"StatusId {status!r} is not valid.")
    if severity is not None and severity not in SEVERITY_NAMES:
        raise ApiError("ValidationException", f"SeverityId {severity!r} is not valid.")
    if comment is not None and not 1 <= len(str(comment)) <= COMMENT_MAX:
        raise ApiError("ValidationException", f"Comment must be 1 to {COMMENT_MAX} characters.")


def imported_v2_event(finding: SimFinding, caller: Caller, now: datetime) -> dict[str, Any]:
    """EventBridge's envelope of one "Findings Imported V2" event (the OCSF finding in
    `detail.findings`), where the update was made."""
    return envelope(
        "Findings Imported V2",
        source="aws.securityhub",
        account=caller.account_id,
        region=caller.region,
        resources=[finding.finding_id],
        detail={"findings": [ocsf_finding(finding)]},
        at=now,
    )


HANDLERS: dict[tuple[str, str], Handler] = {
    ("securityhub", "DescribeHub"): describe_hub,
    ("securityhub", "DescribeSecurityHubV2"): describe_security_hub_v2,
    ("securityhub", "GetFindingsV2"): get_findings_v2,
    ("securityhub", "BatchUpdateFindingsV2"): batch_update_findings_v2,
}
