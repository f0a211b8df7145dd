"""EventBridge events as the queue delivers them, read into what they claim (pure: no I/O).

The four kinds the bot handles, in EventBridge's standard envelope (`detail-type`, `account`,
`region`, `detail`):

- "Configuration Compliance State Change" (source aws.ssm): one managed instance's compliance
  of one type changed; only `compliance-type` Association is SSM.3's business.
- "EC2 State Manager Association State Change": an association's overall status changed.
- "EC2 State Manager Instance Association State Change": one instance's run of an association
  (association-id, instance-id, status, ...). Best effort, and seen saying Failed where the
  API said Success: a claim to check, never a verdict.
- "Security Hub Findings - Imported": one or more findings changed; the account and region are
  each finding's own `AwsAccountId` and `Region` (the envelope's are where the update was made,
  the administrator account for the bot's own updates). Only SSM.3 findings count.
- "Findings Imported V2" (the new Security Hub): the same, with OCSF findings: the account and
  region are each finding's `cloud.account.uid` and `cloud.region`, SSM.3's are those whose
  `compliance.control` is SSM.3 (read defensively: the findings are untyped JSON).

`classify` sorts a message body into a Hint (re-read these account-regions), Ignored (a good
event about nothing SSM.3 judges: delete it) or Unusable (not an event the bot can act on:
leave it for the queue's dead-letter queue). Nothing here trusts the body: every field is
checked for type and shape, and a reason never echoes more than a few characters of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from bot.aws.securityhub import instance_of
from bot.aws.securityhub_v2 import instance_of as v2_instance_of
from bot.core.ids import ASSOCIATION_ID, INSTANCE_ID
from bot.models import Scope
from bot.models.hints import Claim, Classified, Hint, Ignored, Kind, Unusable
from bot.settings.config import ACCOUNT_ID, REGION

COMPLIANCE = "Configuration Compliance State Change"
ASSOCIATION = "EC2 State Manager Association State Change"
INSTANCE_ASSOCIATION = "EC2 State Manager Instance Association State Change"
FINDINGS_IMPORTED = "Security Hub Findings - Imported"
FINDINGS_IMPORTED_V2 = "Findings Imported V2"  # the new Security Hub's (OCSF findings)
DETAIL_TYPES: dict[str, Kind] = {
    COMPLIANCE: "compliance",
    ASSOCIATION: "association",
    INSTANCE_ASSOCIATION: "instance_association",
    FINDINGS_IMPORTED: "securityhub",
    FINDINGS_IMPORTED_V2: "securityhub",
}

# SQS takes at most 256 KiB a message; anything larger did not come through SQS as it is.
MAX_BODY_BYTES = 256 * 1024
# What the bot writes on the notes of the findings it updates (the Security Hub sync's marker).
BOT_NOTE_AUTHOR = "ssm3-bot"
SSM3 = "SSM.3"
FAILING_RUNS = frozenset({"Failed", "TimedOut"})


def classify(body: str | bytes) -> Classified:
    """Sort one SQS message body (an EventBridge event) into a Hint, Ignored or Unusable."""
    event = _event(body)
    if isinstance(event, Unusable):
        return event
    kind = DETAIL_TYPES.get(event["detail-type"])
    if kind is None:
        return Unusable(f"unhandled detail-type {_quote(event['detail-type'])}")
    detail = event.get("detail")
    detail = detail if isinstance(detail, dict) else {}
    if kind == "securityhub":
        return _findings(detail, v2=event["detail-type"] == FINDINGS_IMPORTED_V2)
    scope = _envelope_scope(event)
    if isinstance(scope, Unusable):
        return scope
    if kind == "compliance":
        return _compliance(detail, scope)
    status = _text(detail.get("status"))
    claim = Claim(
        scope=scope,
        association_id=_match(detail.get("association-id"), ASSOCIATION_ID),
        instance_id=_match(detail.get("instance-id"), INSTANCE_ID)
        if kind == "instance_association"
        else None,
        failing=True if status in FAILING_RUNS else False if status == "Success" else None,
    )
    return Hint(kind, (claim,))


def _event(body: str | bytes) -> dict[str, Any] | Unusable:
    """The body as a JSON object with a detail-type, or why it is not one."""
    size = len(body.encode("utf-8", "replace") if isinstance(body, str) else body)
    if size > MAX_BODY_BYTES:
        return Unusable(f"the body is {size} bytes, more than SQS's {MAX_BODY_BYTES}")
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        return Unusable("the body is not JSON")
    if not isinstance(event, dict):
        return Unusable("the body is JSON but not an object")
    detail_type = event.get("detail-type")
    if not isinstance(detail_type, str) or not detail_type.strip():
        return Unusable("no detail-type")
    return event


def _envelope_scope(event: Mapping[str, Any]) -> Scope | Unusable:
    account, region = event.get("account"), event.get("region")
    if account is None:
        return Unusable("no account")
    if region is None:
        return Unusable("no region")
    if not isinstance(account, str) or not ACCOUNT_ID.fullmatch(account):
        return Unusable(f"account {_quote(account)} is not a 12-digit account ID")
    if not isinstance(region, str) or not REGION.fullmatch(region):
        return Unusable(f"region {_quote(region)} is not an AWS region")
    return Scope(account, region)


def _compliance(detail: Mapping[str, Any], scope: Scope) -> Hint | Ignored:
    kind = _text(detail.get("compliance-type"))
    if kind is not None and kind != "Association":
        # Patch and Custom:… compliance never counts for SSM.3.
        return Ignored("compliance", f"compliance-type {_quote(kind)}", (scope,))
    status = (_text(detail.get("compliance-status")) or "").lower()
    claim = Claim(
        scope=scope,
        instance_id=_match(detail.get("resource-id"), INSTANCE_ID),
        failing=True if status == "non_compliant" else False if status == "compliant" else None,
    )
    return Hint("compliance", (claim,))


def _findings(detail: Mapping[str, Any], *, v2: bool = False) -> Classified:
    findings = detail.get("findings")
    if not isinstance(findings, list) or not findings:
        return Unusable("a Security Hub event without findings")
    if v2:
        return _v2_findings(findings)
    claims: list[Claim] = []
    others: set[Scope] = set()
    nameless = 0
    for finding in findings:
        if not isinstance(finding, dict):
            nameless += 1
            continue
        scope = _finding_scope(finding)
        if not _is_ssm3(finding):
            if scope is not None:
                others.add(scope)
            continue
        if scope is None:
            nameless += 1
            continue
        claims.append(_finding_claim(finding, scope))
    if claims:
        return Hint("securityhub", tuple(claims))
    if nameless:
        return Unusable("a Security Hub finding without a valid AwsAccountId and Region")
    return Ignored("securityhub", f"not an {SSM3} finding", tuple(sorted(others, key=str)))


def _v2_findings(findings: list[Any]) -> Classified:
    """The new hub's OCSF findings: SSM.3's claims, as for CSPM's."""
    claims: list[Claim] = []
    others: set[Scope] = set()
    nameless = 0
    for finding in findings:
        scope = _v2_scope(finding) if isinstance(finding, dict) else None
        if not isinstance(finding, dict) or (scope is None and _v2_is_ssm3(finding)):
            nameless += 1
        elif not _v2_is_ssm3(finding):
            others |= {scope} if scope is not None else set()
        elif scope is not None:
            claims.append(_v2_claim(finding, scope))
    if claims:
        return Hint("securityhub", tuple(claims))
    if nameless:
        return Unusable("a new Security Hub finding without a valid cloud.account.uid and region")
    return Ignored("securityhub", f"not an {SSM3} finding", tuple(sorted(others, key=str)))


def _v2_scope(finding: Mapping[str, Any]) -> Scope | None:
    cloud = finding.get("cloud")
    cloud = cloud if isinstance(cloud, dict) else {}
    account = cloud.get("account")
    account_id = account.get("uid") if isinstance(account, dict) else None
    return _finding_scope({"AwsAccountId": account_id, "Region": cloud.get("region")})


def _v2_is_ssm3(finding: Mapping[str, Any]) -> bool:
    compliance = finding.get("compliance")
    return isinstance(compliance, dict) and compliance.get("control") == SSM3


def _v2_claim(finding: Mapping[str, Any], scope: Scope) -> Claim:
    compliance = finding.get("compliance")
    status_id = compliance.get("status_id") if isinstance(compliance, dict) else None
    status = {3: "FAILED", 1: "PASSED"}.get(status_id) if isinstance(status_id, int) else None
    comment = finding.get("comment")
    key = v2_instance_of(finding)
    return Claim(
        scope=scope,
        instance_id=key.instance_id if key is not None else None,
        failing=None if status is None else status == "FAILED",
        # The new hub records no author: the marker in the comment, as the bot writes it.
        by_bot=isinstance(comment, str) and BOT_NOTE_AUTHOR in comment,
        compliance=status,
    )


def _finding_scope(finding: Mapping[str, Any]) -> Scope | None:
    account, region = finding.get("AwsAccountId"), finding.get("Region")
    valid_account = isinstance(account, str) and ACCOUNT_ID.fullmatch(account)
    if valid_account and isinstance(region, str) and REGION.fullmatch(region):
        return Scope(str(account), region)
    return None


def _is_ssm3(finding: Mapping[str, Any]) -> bool:
    compliance = finding.get("Compliance")
    control = compliance.get("SecurityControlId") if isinstance(compliance, dict) else None
    generator = finding.get("GeneratorId")
    return control == SSM3 or (isinstance(generator, str) and generator.endswith("/" + SSM3))


def _finding_claim(finding: Mapping[str, Any], scope: Scope) -> Claim:
    compliance = finding.get("Compliance")
    status = _text(compliance.get("Status")) if isinstance(compliance, dict) else None
    active = finding.get("RecordState", "ACTIVE") == "ACTIVE"
    note = finding.get("Note")
    author = note.get("UpdatedBy") if isinstance(note, dict) else None
    try:
        key = instance_of(finding)
    except (AttributeError, TypeError):  # Resources of the wrong shape
        key = None
    failing: bool | None = None
    if not active:
        failing = False  # an archived finding fails nothing
    elif status is not None:
        failing = status == "FAILED"
    return Claim(
        scope=scope,
        instance_id=key.instance_id if key is not None else None,
        failing=failing,
        by_bot=author == BOT_NOTE_AUTHOR,
        compliance=status if active else None,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _match(value: object, pattern: re.Pattern[str]) -> str | None:
    return value if isinstance(value, str) and pattern.fullmatch(value) else None


def _quote(value: object, limit: int = 60) -> str:
    """A value from the body, quoted and cut short enough for one log line."""
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"  # never a repr: a nested value may be huge or deep
    text = value
    text = re.sub(r"[\x00-\x1f\x7f-\x9f]", "?", text)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
