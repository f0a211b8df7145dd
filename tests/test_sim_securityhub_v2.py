"""The simulator's new Security Hub (V2: OCSF findings) and both hubs' "is it on" calls, through
unmodified boto3; every response is checked against botocore's shapes at teardown."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.sim.fleet import Fleet, UpdateRejection
from tests.support.sim import Sim

ADMIN, MEMBER = "111111111111", "222222222222"
HOME, OTHER = "eu-west-1", "us-east-1"
SSM3_FAILING = {
    "CompositeFilters": [
        {
            "StringFilters": [
                {
                    "FieldName": "compliance.control",
                    "Filter": {"Value": "SSM.3", "Comparison": "EQUALS"},
                }
            ],
            "NumberFilters": [{"FieldName": "compliance.status_id", "Filter": {"Eq": 3}}],
        }
    ]
}


def _hub(sim: Sim, region: str = HOME) -> Any:
    return sim.session(region).client("securityhub", endpoint_url=sim.endpoint_url)


def _all(hub: Any, filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    pages = hub.get_paginator("get_findings_v2").paginate(Filters=filters or {})
    return [finding for page in pages for finding in page["Findings"]]


def _key(finding: dict[str, Any]) -> tuple[str, str, str]:
    instance = re.search(r"(?:i|mi)-[0-9a-f]+$", finding["resources"][0]["uid"])
    assert instance is not None
    return finding["cloud"]["account"]["uid"], finding["cloud"]["region"], instance.group(0)


def _noncompliant(fleet: Fleet) -> set[tuple[str, str, str]]:
    found = set()
    for (account, region), scope in fleet.scopes.items():
        for resource_id, kinds in scope.compliance_by_resource().items():
            if any(i.status == "NON_COMPLIANT" for i in kinds.get("Association", [])):
                found.add((account, region, resource_id))
    return found


def test_the_new_hub_is_off_until_enabled_and_cspm_says_where_it_is_on(sim: Sim) -> None:
    hub = _hub(sim)
    with pytest.raises(ClientError) as off:
        hub.describe_security_hub_v2()
    assert off.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as denied:
        hub.get_findings_v2()
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert hub.describe_hub()["HubArn"].endswith(":hub/default")
    sim.fleet.scope(ADMIN, HOME).ssm3_control = None
    with pytest.raises(ClientError) as cspm_off:
        hub.describe_hub()
    assert cspm_off.value.response["Error"]["Code"] == "InvalidAccessException"
    sim.fleet.hub_v2 = True
    assert ":hubv2/" in hub.describe_security_hub_v2()["HubV2Arn"]


def test_failing_ocsf_findings_are_the_association_noncompliant_instances(sim: Sim) -> None:
    sim.fleet.hub_v2 = True
    findings = _all(_hub(sim), SSM3_FAILING)
    assert {_key(f) for f in findings} == _noncompliant(sim.fleet)
    finding = findings[0]
    assert (finding["class_uid"], finding["compliance"]["control"]) == (2003, "SSM.3")
    assert (finding["status_id"], finding["status"]) == (1, "New")
    assert finding["compliance"]["status"] == "Fail"
    passing = _all(
        _hub(sim),
        {
            "CompositeFilters": [
                {"NumberFilters": [{"FieldName": "compliance.status_id", "Filter": {"Eq": 1}}]}
            ]
        },
    )
    assert passing
    assert all(f["status_id"] == 4 for f in passing)
    # The home region sees every region; another region its own.
    assert {f["cloud"]["region"] for f in findings} == {HOME, OTHER}
    assert {f["cloud"]["region"] for f in _all(_hub(sim, OTHER))} == {OTHER}


def test_filters_join_by_operator_and_pages_hold_100(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(seed=2, accounts=2, regions=(HOME, OTHER), instances=40)
    sim.fleet.hub_v2 = True
    hub = _hub(sim)
    first = hub.get_findings_v2()
    assert len(first["Findings"]) == 100
    assert "NextToken" in first
    everything = _all(hub)
    assert len(everything) == len({f["metadata"]["uid"] for f in everything}) > 100

    def account(value: str, comparison: str = "EQUALS") -> dict[str, Any]:
        return {
            "FieldName": "cloud.account.uid",
            "Filter": {"Value": value, "Comparison": comparison},
        }

    either = _all(
        hub,
        {
            "CompositeFilters": [
                {"StringFilters": [account(ADMIN), account(MEMBER)], "Operator": "OR"}
            ]
        },
    )
    assert len(either) == len(everything)
    assert (
        _all(hub, {"CompositeFilters": [{"StringFilters": [account(ADMIN), account(MEMBER)]}]})
        == []
    )
    not_member = _all(
        hub, {"CompositeFilters": [{"StringFilters": [account(MEMBER, "NOT_EQUALS")]}]}
    )
    assert {f["cloud"]["account"]["uid"] for f in not_member} == {ADMIN}
    with pytest.raises(ClientError) as unsupported:
        hub.get_findings_v2(
            Filters={
                "CompositeFilters": [
                    {
                        "StringFilters": [
                            {
                                "FieldName": "malware.name",
                                "Filter": {"Value": "x", "Comparison": "EQUALS"},
                            }
                        ]
                    }
                ]
            }
        )
    assert unsupported.value.response["Error"]["Code"] == "ValidationException"


def test_batch_update_v2_sets_status_and_comment_in_the_new_hub_only(sim: Sim) -> None:
    sim.fleet.hub_v2 = True
    hub = _hub(sim)
    findings = _all(hub, SSM3_FAILING)[:3]
    uids = [f["metadata"]["uid"] for f in findings]
    reply = hub.batch_update_findings_v2(MetadataUids=uids[:2], StatusId=3, Comment="ssm3-bot: ok")
    assert [p["MetadataUid"] for p in reply["ProcessedFindings"]] == uids[:2]
    ident = {
        "CloudAccountUid": findings[2]["cloud"]["account"]["uid"],
        "FindingInfoUid": findings[2]["finding_info"]["uid"],
        "MetadataProductUid": findings[2]["metadata"]["product"]["uid"],
    }
    reply = hub.batch_update_findings_v2(
        FindingIdentifiers=[ident], MetadataUids=["nope"], StatusId=2
    )
    assert reply["ProcessedFindings"] == [{"FindingIdentifier": ident}]
    assert reply["UnprocessedFindings"][0]["ErrorCode"] == "ResourceNotFoundException"
    after = {f["metadata"]["uid"]: f for f in _all(hub, SSM3_FAILING)}
    assert [after[u]["status_id"] for u in uids] == [3, 3, 2]
    assert after[uids[0]]["comment"] == "ssm3-bot: ok"
    # CSPM's workflow is its own: still NEW there.
    assert all(sim.fleet.findings[u].workflow_status == "NEW" for u in uids)
    events = sim.fleet.imported_v2_events
    assert [e["detail-type"] for e in events] == ["Findings Imported V2"] * 3
    assert events[0]["detail"]["findings"][0]["status_id"] == 3
    sim.fleet.reject_v2_updates(UpdateRejection("ConflictException", "busy", frozenset(uids[:1])))
    reply = hub.batch_update_findings_v2(MetadataUids=uids[:2], StatusId=1)
    assert [u["ErrorCode"] for u in reply["UnprocessedFindings"]] == ["ConflictException"]
    for bad in ({"StatusId": 7}, {"Comment": "x" * 513}, {}):
        with pytest.raises(ClientError) as refused:
            hub.batch_update_findings_v2(MetadataUids=uids[:1], **bad)
        assert refused.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError):
        hub.batch_update_findings_v2(MetadataUids=[f"x{i}" for i in range(101)], StatusId=1)


def test_the_new_hubs_workflow_moves_with_compliance_but_suppressed_stays(sim: Sim) -> None:
    fleet = sim.fleet
    fleet.hub_v2 = True
    scope = fleet.scope(ADMIN, HOME)
    association = next(a for a in scope.associations.values() if a.status == "Failed")
    assert association.latest is not None
    failures = dict(association.latest.failures)
    instance_id = next(
        i
        for i in association.latest.failures
        if sum(1 for a in scope.associations_of(i) if a.latest and i in a.latest.failures) == 1
    )
    hub = _hub(sim)
    hub.get_findings_v2()
    finding = fleet.finding_for(ADMIN, HOME, instance_id)
    assert finding is not None
    assert finding.v2_status_id == 1
    hub.batch_update_findings_v2(MetadataUids=[finding.finding_id], StatusId=2)
    fleet.run_association(association.association_id)  # now it succeeds everywhere
    hub.get_findings_v2()
    assert (finding.compliance_status, finding.v2_status_id) == ("PASSED", 4)
    fleet.run_association(association.association_id, failures=failures)
    hub.get_findings_v2()
    assert (finding.compliance_status, finding.v2_status_id) == ("FAILED", 1)
    hub.batch_update_findings_v2(MetadataUids=[finding.finding_id], StatusId=3)
    fleet.run_association(association.association_id)
    hub.get_findings_v2()
    fleet.run_association(association.association_id, failures=failures)
    hub.get_findings_v2()
    assert (finding.v2_status_id, finding.workflow_status) == (3, "NEW")
