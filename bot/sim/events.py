"""The EventBridge events AWS would emit for changes made in the simulated fleet, in their
standard envelope, for the tests and benchmarks that feed the real-time poller a queue.

Shapes follow the Systems Manager and Security Hub event examples: `detail-type`, `source`,
`account`, `region`, `time`, `resources`, `detail` (kebab-case keys for aws.ssm; the ASFF
finding itself for Security Hub).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.sim.envelope import envelope as _envelope
from bot.sim.fleet import Fleet
from bot.sim.handlers import _finding


def _when(moment: datetime | None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def instance_association_event(
    fleet: Fleet, association_id: str, instance_id: str, *, status: str | None = None
) -> dict[str, Any]:
    """ "EC2 State Manager Instance Association State Change" for the association's latest run
    on one instance; `status` overrides what the run says (an event that lies)."""
    with fleet.lock:
        scope, association = fleet.find_association(association_id)
        latest = association.latest
        actual = latest.target_status(instance_id) if latest else "Pending"
        failure = latest.failures.get(instance_id) if latest else None
        ran = latest.created_at if latest else None
        detail = {
            "association-id": association_id,
            "instance-id": instance_id,
            "document-name": association.document,
            "document-version": "1",
            "targets": f'[{{"key":"InstanceIds","values":["{instance_id}"]}}]',
            "creation-date": _when(ran),
            "last-successful-execution-date": _when(ran),
            "last-execution-date": _when(ran),
            "status": status or actual,
            "detailed-status": failure.detailed_status if failure else "",
            "error-code": failure.error_code if failure else "",
            "execution-summary": failure.summary if failure else "",
            "output-url": "",
            "instance-association-cwe-version": "1",
        }
        region, account = scope.region, scope.account_id
        return _envelope(
            "EC2 State Manager Instance Association State Change",
            source="aws.ssm",
            account=account,
            region=region,
            resources=[
                f"arn:aws:ec2:{region}:{account}:instance/{instance_id}",
                f"arn:aws:ssm:{region}:{account}:document/{association.document}",
            ],
            detail=detail,
            at=ran,
        )


def association_event(fleet: Fleet, association_id: str) -> dict[str, Any]:
    """ "EC2 State Manager Association State Change" with the association's overview status."""
    with fleet.lock:
        scope, association = fleet.find_association(association_id)
        latest = association.latest
        ran = latest.created_at if latest else None
        counts = latest.counts() if latest else {}
        detail = {
            "association-id": association_id,
            "document-name": association.document,
            "association-version": "1",
            "document-version": "Optional.empty",
            "targets": "[]",
            "creation-date": _when(ran),
            "last-execution-date": _when(ran),
            "last-updated-date": _when(ran),
            "status": association.overview_status,
            "association-status-aggregated-count": json.dumps(counts),
            "schedule-expression": association.schedule,
            "association-cwe-version": "1.0",
        }
        return _envelope(
            "EC2 State Manager Association State Change",
            source="aws.ssm",
            account=scope.account_id,
            region=scope.region,
            resources=[f"arn:aws:ssm:{scope.region}::document/{association.document}"],
            detail=detail,
            at=ran,
        )


def compliance_event(
    account_id: str,
    region: str,
    instance_id: str,
    *,
    status: str = "non_compliant",
    compliance_type: str = "Association",
) -> dict[str, Any]:
    """ "Configuration Compliance State Change" for one managed instance."""
    return _envelope(
        "Configuration Compliance State Change",
        source="aws.ssm",
        account=account_id,
        region=region,
        resources=[f"arn:aws:ssm:{region}:{account_id}:managed-instance/{instance_id}"],
        detail={
            "last-runtime": _when(None),
            "compliance-status": status,
            "resource-type": "managed-instance",
            "resource-id": instance_id,
            "compliance-type": compliance_type,
        },
    )


def findings_imported_event(
    fleet: Fleet, account_id: str, region: str, instance_id: str
) -> dict[str, Any]:
    """ "Security Hub Findings - Imported" for one instance's SSM.3 finding as it stands, as the
    aggregation home region's administrator account receives it."""
    with fleet.lock:
        finding = fleet.finding_for(account_id, region, instance_id)
        if finding is None:
            raise KeyError(f"no SSM.3 finding for {account_id}/{region}/{instance_id}")
        document = _finding(finding)
        return _envelope(
            "Security Hub Findings - Imported",
            source="aws.securityhub",
            account=fleet.caller_account,
            region=fleet.securityhub_home,
            resources=[finding.finding_id],
            detail={"findings": [document]},
        )


def findings_imported_v2_event(
    fleet: Fleet, account_id: str, region: str, instance_id: str
) -> dict[str, Any]:
    """ "Findings Imported V2" (the new Security Hub) for one instance's SSM.3 finding as it
    stands, in OCSF, as the aggregation home region's administrator account receives it."""
    from bot.sim.securityhub_v2 import ocsf_finding

    with fleet.lock:
        finding = fleet.finding_for(account_id, region, instance_id)
        if finding is None:
            raise KeyError(f"no SSM.3 finding for {account_id}/{region}/{instance_id}")
        return _envelope(
            "Findings Imported V2",
            source="aws.securityhub",
            account=fleet.caller_account,
            region=fleet.securityhub_home,
            resources=[finding.finding_id],
            detail={"findings": [ocsf_finding(finding)]},
        )
