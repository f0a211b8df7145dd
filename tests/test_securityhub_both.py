"""Both Security Hubs (CONTRACT "Both Security Hubs"): which hubs a sweep finds on, the new
hub's cross-check in the sweep JSON, and acknowledgements synced to each hub that is on, through
signed Slack requests into the Bolt app and the simulator (both hubs' APIs, shape-checked)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.app.digests import build_digest
from bot.core.digest import DigestView
from bot.render.text import render_digest
from bot.sim.fleet import Fault, Fleet, SimFinding, UpdateRejection
from bot.sim.securityhub_v2 import ocsf_finding
from bot.sweeping.sweep import run_sweep
from tests.support.findings import ACCOUNT, REGION, estate, finding, workflows
from tests.support.sim import Sim
from tests.support.synced import Synced, runs

OTHER_REGION = "us-east-1"


def _hubs(fleet: Fleet, *, cspm: bool, v2: bool) -> Fleet:
    fleet.hub_v2, fleet.cspm_api = v2, cspm
    return fleet


def _twin_in_an_unswept_region(fleet: Fleet, association_id: str) -> None:
    """The same instances and failing association in a region this deployment does not sweep
    (the new hub, like CSPM's aggregator, shows its findings too)."""
    elsewhere, home = fleet.scope(ACCOUNT, OTHER_REGION), fleet.scope(ACCOUNT, REGION)
    elsewhere.instances.update(home.instances)
    twin = home.associations[association_id]
    elsewhere.associations[association_id] = twin
    fleet.run_association(
        association_id, failures=dict(twin.latest.failures) if twin.latest else {}
    )


def statuses(fleet: Fleet, instance_ids: tuple[str, ...] | list[str]) -> dict[str, int]:
    """The new hub's StatusId of each instance's SSM.3 finding."""
    return {i: finding(fleet, i).v2_status_id for i in instance_ids}


def _sweep_json(s: Synced) -> dict[str, Any]:
    from bot.render.documents import security_hub_json

    check = s.store.sweeps.security_hub_check()
    document = security_hub_json(check)
    assert document is not None
    return json.loads(json.dumps(document))


@pytest.mark.parametrize(
    ("cspm", "v2", "hubs"),
    [(True, False, ["cspm"]), (False, True, ["v2"]), (True, True, ["cspm", "v2"])],
)
def test_the_sweep_json_says_which_hubs_are_on_and_each_ones_verdict(
    make_synced: Callable[..., Synced], cspm: bool, v2: bool, hubs: list[str]
) -> None:
    e = estate()
    s = make_synced(_hubs(e.fleet, cspm=cspm, v2=v2), securityhub="check")
    hub = _sweep_json(s)
    assert hub["hubs"] == hubs
    failing = len(e.primary_instances)  # every failing instance, in both hubs alike
    if v2:
        assert hub["v2"] == {
            "failed_instances": failing,
            "explained": failing,
            "unexplained": [],
            "error": None,
        }
    else:
        assert hub["v2"] is None
    if cspm:
        assert (hub["failed_instances"], hub["explained"], hub["error"]) == (failing, failing, None)
    else:
        assert hub["failed_instances"] == 0
        assert "Security Hub CSPM is not enabled" in hub["error"]
    # A hub failing an instance the sweep finds compliant: unexplained (Config lag, say).
    s.fleet.findings_frozen = True
    healthy = next(f for f in s.fleet.findings.values() if f.compliance_status == "PASSED")
    healthy.compliance_status = "FAILED"
    s.sweep()
    ghost = {"account_id": ACCOUNT, "region": REGION, "instance_id": healthy.instance_id}
    again = _sweep_json(s)
    for name, verdict in (("cspm", again), ("v2", again["v2"])):
        if name in hubs:
            assert verdict["unexplained"] == [ghost]
            assert verdict["failed_instances"] == failing + 1
    text = render_digest(DigestView(build_digest(s.store, datetime.now(UTC))))
    assert ("The new Security Hub fails 1 instance(s)" in text) is v2
    assert ("\nSecurity Hub fails 1 instance(s)" in text) is cspm
    assert "could not be read" not in text, "a hub found off is not an error in the digest"


def test_the_calls_a_sweep_adds_for_the_new_hub(make_synced: Callable[..., Synced]) -> None:
    """One DescribeHub and one DescribeSecurityHubV2 a sweep, then GetFindingsV2's pages (100
    findings a page), all in the home region with the bot's own account."""
    from tests.support.findings import big_estate

    fleet, _ = big_estate(250)
    s = make_synced(_hubs(fleet, cspm=True, v2=True), securityhub="check")
    fleet.reset_calls()
    s.sweep()
    for operation, count in (
        ("DescribeHub", 1),
        ("DescribeSecurityHubV2", 1),
        ("GetFindings", 3),
        ("GetFindingsV2", 3),
    ):
        assert fleet.call_count(operation) == count, operation
        assert fleet.call_count(operation, account_id=ACCOUNT, region=REGION) == count
    assert fleet.call_count("BatchUpdateFindingsV2") == 0, "check mode writes nothing"
    fleet.hub_v2 = False
    fleet.reset_calls()
    s.sweep()
    assert (fleet.call_count("DescribeSecurityHubV2"), fleet.call_count("GetFindingsV2")) == (1, 0)


@pytest.mark.parametrize("cspm", [True, False])
def test_an_acknowledgement_suppresses_in_the_new_hub_with_a_comment_and_unack_sets_new(
    make_synced: Callable[..., Synced], cspm: bool
) -> None:
    e = estate()
    s = make_synced(_hubs(e.fleet, cspm=cspm, v2=True))
    said = s.command(f"ack {e.primary} for 7d Patch window Saturday, OPS-7")
    assert "New Security Hub: 5 SSM.3 findings set SUPPRESSED" in said
    expected = {**dict.fromkeys(e.primary_instances, 1), **dict.fromkeys(e.alone, 3)}
    assert statuses(s.fleet, e.primary_instances) == expected
    mine = finding(s.fleet, e.alone[0])
    assert mine.v2_comment is not None
    assert len(mine.v2_comment) <= 512
    for part in ("ssm3-bot", "Patch window Saturday, OPS-7", e.primary):
        assert part in mine.v2_comment
    if cspm:
        assert "Security Hub CSPM: 5 SSM.3 findings set SUPPRESSED" in said
        assert set(workflows(s.fleet, e.alone).values()) == {"SUPPRESSED"}
    else:
        assert set(workflows(s.fleet, e.alone).values()) == {"NEW"}, "CSPM is off: untouched"
    events = s.fleet.imported_v2_events
    assert len(events) == 5
    assert {ev["detail"]["findings"][0]["status_id"] for ev in events} == {3}
    [entry] = [a for a in s.audit() if "new Security Hub" in a["detail"]]
    assert entry["outcome"] == "updated"
    status = s.command(f"status {e.primary}")
    assert (
        "The new Security Hub's SSM.3 findings (as of the last sync): Suppressed *5* · New *3*"
        in status
    )

    said = s.command(f"unack {e.primary}")
    assert "New Security Hub: 5 SSM.3 findings set back to NEW." in said
    assert statuses(s.fleet, e.primary_instances) == dict.fromkeys(e.primary_instances, 1)
    back = finding(s.fleet, e.alone[0]).v2_comment
    assert back is not None
    assert back.startswith("ssm3-bot set this finding back to NEW")
    if cspm:
        assert set(workflows(s.fleet, e.alone).values()) == {"NEW"}


def test_notified_is_in_progress_and_resolution_sets_new(
    make_synced: Callable[..., Synced],
) -> None:
    e = estate(shared=0)
    s = make_synced(_hubs(e.fleet, cspm=True, v2=True), ack_workflow="SUPPRESSED")
    s.command(f"ack {e.primary} for 7d OPS-10")
    assert set(statuses(s.fleet, e.alone).values()) == {3}
    run = runs(s, e.primary)
    run(passed=True)
    s.sweep()
    assert set(statuses(s.fleet, e.alone).values()) == {1}
    assert set(workflows(s.fleet, e.alone).values()) == {"NEW"}
    comment = finding(s.fleet, e.alone[0]).v2_comment
    assert comment is not None
    assert "patch-scan-prod is compliant again, which ended its acknowledgement" in comment


def test_in_progress_for_notified(make_synced: Callable[..., Synced]) -> None:
    e = estate(shared=0)
    s = make_synced(_hubs(e.fleet, cspm=False, v2=True), ack_workflow="NOTIFIED")
    s.command(f"ack {e.primary} for 7d OPS-13")
    assert set(statuses(s.fleet, e.alone).values()) == {2}


def test_a_finding_outside_the_swept_scopes_is_never_written(
    make_synced: Callable[..., Synced],
) -> None:
    """The new hub aggregates every region; the bot writes only what it sweeps."""
    e = estate(shared=0)
    fleet = _hubs(e.fleet, cspm=True, v2=True)
    # The same association's twin in a region this deployment does not sweep.
    _twin_in_an_unswept_region(fleet, e.primary)
    s = make_synced(fleet)
    s.command(f"ack {e.primary} for 7d OPS-14")
    fleet.refresh_findings()
    outside = [f for f in fleet.findings.values() if f.region == OTHER_REGION]
    assert outside, "the unswept region has SSM.3 findings"
    assert {(f.v2_status_id, f.v2_comment, f.workflow_status) for f in outside} <= {
        (1, None, "NEW"),
        (4, None, "RESOLVED"),
    }
    assert set(statuses(s.fleet, e.alone).values()) == {3}


def test_a_comment_signed_ssm3_bot_proves_nothing_in_the_new_hub(
    make_synced: Callable[..., Synced],
) -> None:
    """Anyone may write "ssm3-bot" in a comment: a Suppressed finding carrying it that this
    deployment's store does not record writing is left as it is, in or out of the swept scopes."""
    e = estate(shared=0)
    fleet = _hubs(e.fleet, cspm=True, v2=True)
    _twin_in_an_unswept_region(fleet, e.primary)
    fleet.refresh_findings()
    forged = "Acknowledged in ssm3-bot: by someone else"
    planted = [f for f in fleet.findings.values() if f.compliance_status == "FAILED"]
    outside = [f for f in planted if f.region == OTHER_REGION]
    inside = finding(fleet, e.alone[0])
    assert outside
    for f in [*outside, inside]:
        f.v2_status_id, f.v2_comment = 3, forged
    s = make_synced(fleet)  # swept once: nothing is acknowledged, so nothing is covered
    s.sweep()
    assert {(f.v2_status_id, f.v2_comment) for f in [*outside, inside]} == {(3, forged)}
    assert fleet.call_count("BatchUpdateFindingsV2") == 0


def test_a_throttled_batch_update_v2_loses_no_update(make_synced: Callable[..., Synced]) -> None:
    e = estate(shared=0)
    s = make_synced(_hubs(e.fleet, cspm=True, v2=True))
    s.fleet.inject(
        Fault(
            "ThrottlingException",
            "Rate exceeded",
            http_status=429,
            operation="BatchUpdateFindingsV2",
        )
    )
    said = s.command(f"ack {e.primary} for 7d OPS-15")
    assert "Security Hub CSPM: 5 SSM.3 findings set SUPPRESSED" in said
    assert "New Security Hub not updated (throttled)" in said
    assert set(statuses(s.fleet, e.alone).values()) == {1}
    assert set(workflows(s.fleet, e.alone).values()) == {"SUPPRESSED"}
    s.fleet.clear_faults()
    s.sweep()
    assert set(statuses(s.fleet, e.alone).values()) == {3}
    # An update left unprocessed is retried within the same sync.
    s.fleet.reject_v2_updates(UpdateRejection("ConflictException", "busy", times=1))
    said = s.command(f"unack {e.primary}")
    assert "New Security Hub: 5 SSM.3 findings set back to NEW." in said
    assert set(statuses(s.fleet, e.alone).values()) == {1}


def test_a_finding_changed_by_hand_in_the_new_hub_is_left_alone(
    make_synced: Callable[..., Synced],
) -> None:
    e = estate(shared=0)
    s = make_synced(_hubs(e.fleet, cspm=False, v2=True))
    reviewed: SimFinding = finding(s.fleet, e.alone[0])
    reviewed.v2_status_id, reviewed.v2_comment = 2, "triaged by the SOC"
    s.command(f"ack {e.primary} for 7d OPS-16")
    assert (reviewed.v2_status_id, reviewed.v2_comment) == (2, "triaged by the SOC")
    assert set(statuses(s.fleet, e.alone[1:]).values()) == {3}


def test_an_ocsf_finding_is_read_by_the_control_and_the_uids_ending_only(sim: Sim) -> None:
    from bot.aws.securityhub_v2 import instance_of, parse_finding

    sim.fleet.refresh_findings()
    document = ocsf_finding(next(iter(sim.fleet.findings.values())))
    parsed = parse_finding(document)
    assert parsed is not None
    document["resources"][0]["uid"] = "something/unexpected:" + parsed.instance.instance_id
    assert instance_of(document) == parsed.instance
    for broken in ({"resources": "x"}, {"cloud": None, "resources": [{}]}, {"compliance": {}}):
        assert parse_finding({**document, **broken}) is None


def test_run_sweep_without_sync_never_writes(make_sim: Callable[..., Sim], tmp_path: Any) -> None:
    from bot.settings.config import Settings
    from bot.store import Store

    e = estate()
    sim = make_sim(_hubs(e.fleet, cspm=True, v2=True))
    store = Store(tmp_path / "x.db")
    run_sweep(
        settings=Settings(regions=(REGION,), securityhub="check", db_path=str(tmp_path / "x.db")),
        access=sim.access(),
        store=store,
    )
    store.close()
    assert sim.fleet.call_count("BatchUpdateFindingsV2") == 0


def test_doctor_says_which_hubs_are_on_and_whether_each_can_be_read_and_written(
    make_sim: Callable[..., Sim], tmp_path: Any
) -> None:
    from bot.doctor.aws import aws_checks
    from bot.settings.config import Settings

    fleet = _hubs(estate().fleet, cspm=True, v2=False)
    sim = make_sim(fleet)
    settings = Settings(regions=(REGION,), db_path=str(tmp_path / "d.db"), securityhub="sync")

    def said() -> dict[str, tuple[str, str]]:
        return {
            c.text.split(":")[0]: (c.status, c.text)
            for c in aws_checks(settings, sim.access)
            if "Security Hub" in c.text
        }

    only_cspm = said()
    assert only_cspm[f"Security Hubs in {REGION}"] == (
        "pass",
        f"Security Hubs in {REGION}: Security Hub CSPM on, the new Security Hub off",
    )
    assert f"New Security Hub sync in {REGION}" not in only_cspm
    fleet.hub_v2 = True
    both = said()
    assert both[f"Security Hubs in {REGION}"][1].endswith(
        "Security Hub CSPM on, the new Security Hub on"
    )
    assert both[f"New Security Hub cross-check in {REGION}"][0] == "pass"
    assert both[f"New Security Hub sync in {REGION}"] == (
        "pass",
        f"New Security Hub sync in {REGION}: BatchUpdateFindingsV2 allowed (sets StatusId 3 with "
        "a comment)",
    )
    assert fleet.imported_v2_events == [], "the probe names no finding that exists"
    fleet.inject(
        Fault("AccessDeniedException", "no", http_status=403, operation="BatchUpdateFindingsV2")
    )
    fleet.cspm_api = False
    denied = said()
    assert denied[f"Security Hubs in {REGION}"][1].endswith(
        "Security Hub CSPM off, the new Security Hub on"
    )
    assert denied[f"New Security Hub sync in {REGION}"][0] == "fail"


def test_a_triage_sweep_says_which_hubs_are_on_and_syncs_each(
    make_synced: Callable[..., Synced],
) -> None:
    from tests.support.runners import make_runner

    e = estate(shared=0)
    s = make_synced(
        _hubs(e.fleet, cspm=True, v2=True), triage="securityhub", full_sweep_schedule="0 0 1 1 *"
    )
    s.command(f"ack {e.primary} for 7d OPS-12")
    assert set(statuses(s.fleet, e.alone).values()) == {3}
    runs(s, e.primary)(passed=True)
    services = s.slack.services
    runner = make_runner(
        settings=services.settings,
        store=s.store,
        access=services.access,
        publisher=None,
        clock=s.clock,
    )
    assert runner.triage_due("schedule")
    runner.sweep_job()
    assert s.store.sweeps.last() is not None
    assert set(statuses(s.fleet, e.alone).values()) == {1}
    assert set(workflows(s.fleet, e.alone).values()) == {"NEW"}
    hub = _sweep_json(s)
    assert hub["hubs"] == ["cspm", "v2"]
    assert hub["v2"] is not None
    assert hub["v2"]["error"] is None


def test_expiry_sets_the_new_hubs_findings_back_to_new(make_synced: Callable[..., Synced]) -> None:
    from datetime import timedelta

    from tests.support.runners import make_runner

    e = estate(shared=0)
    s = make_synced(_hubs(e.fleet, cspm=True, v2=True))
    s.command(f"ack {e.primary} for 1d OPS-2")
    assert set(statuses(s.fleet, e.alone).values()) == {3}
    services = s.slack.services
    runner = make_runner(
        settings=services.settings,
        store=s.store,
        access=services.access,
        publisher=None,
        clock=s.clock,
    )
    s.clock.now += timedelta(days=1, minutes=1)
    assert runner.expiry_job() == 1
    assert set(statuses(s.fleet, e.alone).values()) == {1}
    assert set(workflows(s.fleet, e.alone).values()) == {"NEW"}
    comment = finding(s.fleet, e.alone[0]).v2_comment
    assert comment is not None
    assert "the acknowledgement of patch-scan-prod expired at" in comment
