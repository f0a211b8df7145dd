"""SSM3_SECURITYHUB=sync: acknowledgements written to SSM.3's findings, through correctly signed
Slack requests dispatched into the Bolt app in this process (tests/support/bolt.py), the fake
Slack Web API and the simulator's Security Hub (BatchUpdateFindings, shape-checked)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.settings.config import Settings
from bot.sim.fleet import Fault, UpdateRejection
from bot.slack import blocks as kit
from tests.fakes.fixtures import OPERATOR
from tests.fakes.slack_harness import ack_values
from tests.support.findings import ACCOUNT, REGION, Estate, big_estate, estate, finding, workflows
from tests.support.runners import make_runner
from tests.support.sim import Sim
from tests.support.slack import body_text, responses
from tests.support.synced import SYNC, Synced, runs


def _ack_with_the_modal(s: Synced, association_id: str, reason: str) -> str:
    """The Acknowledge button, then the modal's submission; the announcement's text."""
    key = next(
        t.key for t in s.store.associations.tracked() if t.key.association_id == association_id
    )
    fake = s.slack.fake
    opened = len(fake.calls_to("views.open", ok=True))
    clicked = s.slack.click(kit.ACTION_ACK, kit.key_value(key), user=OPERATOR, ephemeral=True)
    assert clicked.status == 200
    view = fake.calls_to("views.open", ok=True)[opened].params["view"]
    submitted = s.slack.submit_view(view, ack_values(reason, preset="7d"), user=OPERATOR)
    assert (submitted.status, submitted.body) == (200, b"")
    return "\n".join(body_text(a.get("blocks")) for a in responses(fake, clicked.response_url))


@pytest.mark.parametrize("workflow", ["SUPPRESSED", "NOTIFIED"])
def test_acknowledging_sets_exactly_the_covered_findings_and_unack_sets_them_back(
    make_synced: Callable[..., Synced], workflow: str
) -> None:
    e: Estate = estate()
    s = make_synced(e.fleet, ack_workflow=workflow)
    everything_new = dict.fromkeys(e.primary_instances, "NEW")
    assert workflows(s.fleet, e.primary_instances) == everything_new

    said = _ack_with_the_modal(s, e.primary, "Patch window Saturday, OPS-7")
    assert (
        f"Security Hub: 5 SSM.3 findings set {workflow}; 3 kept NEW (another failing "
        "association or an orphaned item on the instance is not acknowledged)." in said
    )
    # Only the instances all of whose failing associations are acknowledged (SSM.3 is per
    # instance): not those `other` also fails, nor the one an orphaned item fails.
    assert workflows(s.fleet, e.primary_instances) == {
        **everything_new,
        **dict.fromkeys(e.alone, workflow),
    }
    mine = finding(s.fleet, e.alone[0])
    assert mine.note is not None
    assert mine.note["UpdatedBy"] == "ssm3-bot"
    text = mine.note["Text"]
    assert len(text) <= 512
    for part in ("Patch window Saturday, OPS-7", OPERATOR, f"({OPERATOR.lower()})", e.primary):
        assert part in text
    [ack] = s.store.acks.active().values()
    assert mine.user_defined_fields == {
        "ssm3bot:association": e.primary,
        "ssm3bot:until": ack.until.strftime("%Y-%m-%dT%H:%M:%SZ") if ack.until else "none",
    }
    # Every update emitted its "Security Hub Findings - Imported" event, marked as the bot's.
    events = s.fleet.imported_events
    assert len(events) == 5
    assert {e["detail"]["findings"][0]["Note"]["UpdatedBy"] for e in events} == {"ssm3-bot"}
    [entry] = s.audit()
    assert (entry["actor"], entry["outcome"], entry["association_id"]) == (
        OPERATOR,
        "updated",
        e.primary,
    )
    assert entry["detail"].startswith(f"{workflow} on 5 SSM.3 finding(s) in {ACCOUNT} {REGION}")
    assert all(i in entry["detail"] for i in e.alone)

    said = s.command(f"ack {e.other} for 3d agent rollout OPS-9")
    assert f"Security Hub: 2 SSM.3 findings set {workflow}." in said
    covered = {*e.alone, *e.shared}
    assert {i for i, w in workflows(s.fleet, e.primary_instances).items() if w != "NEW"} == covered
    both = finding(s.fleet, e.shared[0]).note
    assert both is not None
    assert "agent rollout OPS-9" in both["Text"]
    assert "Patch window Saturday, OPS-7" in both["Text"]

    said = s.command(f"unack {e.primary}")
    assert "Security Hub: 7 SSM.3 findings set back to NEW." in said
    assert workflows(s.fleet, e.primary_instances) == everything_new
    back = finding(s.fleet, e.alone[0]).note
    assert back is not None
    assert back["Text"] == (
        "ssm3-bot set this finding back to NEW: the acknowledgement of patch-scan-prod was "
        f"removed by {OPERATOR}."
    )
    status = s.command(f"status {e.primary}")
    assert "Security Hub SSM.3 findings (as of the last sync): NEW *8*" in status
    assert s.fleet.violations == []


def test_expiry_sets_the_findings_back_to_new(make_synced: Callable[..., Synced]) -> None:
    e = estate(shared=0)
    s = make_synced(e.fleet)
    s.command(f"ack {e.primary} for 1d OPS-2")
    assert set(workflows(s.fleet, e.alone).values()) == {"SUPPRESSED"}
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
    assert set(workflows(s.fleet, e.alone).values()) == {"NEW"}
    note = finding(s.fleet, e.alone[0]).note
    assert note is not None
    assert "the acknowledgement of patch-scan-prod expired at" in note["Text"]
    assert [r["actor"] for r in s.audit()] == [OPERATOR, "ssm3bot"]


def test_a_fleet_of_250_affected_instances_takes_three_calls(
    make_synced: Callable[..., Synced],
) -> None:
    fleet, association_id = big_estate(250)
    s = make_synced(fleet)
    fleet.reset_calls()
    said = s.command(f"ack {association_id} for 7d fleet-wide patch freeze")
    assert "Security Hub: 250 SSM.3 findings set SUPPRESSED." in said
    assert fleet.call_count("BatchUpdateFindings") == 3
    assert fleet.call_count("GetFindings") == 4  # 3 pages of FAILED findings, 1 of those held
    assert set(workflows(fleet, [f.instance_id for f in fleet.findings.values()]).values()) == {
        "SUPPRESSED"
    }


def test_unprocessed_findings_are_retried_and_what_stays_is_reported(
    make_synced: Callable[..., Synced],
) -> None:
    e = estate(shared=0)
    s = make_synced(e.fleet)
    first, second = (finding(s.fleet, i).finding_id for i in e.alone[:2])
    s.fleet.reject_updates(UpdateRejection(finding_ids=frozenset({first, second}), times=2))
    said = s.command(f"ack {e.primary} for 7d OPS-4")
    assert "Security Hub: 5 SSM.3 findings set SUPPRESSED" in said
    assert s.fleet.call_count("BatchUpdateFindings") == 2  # the batch, then its retry
    assert set(workflows(s.fleet, e.alone).values()) == {"SUPPRESSED"}

    s.fleet.reset_calls()
    s.fleet.reject_updates(UpdateRejection(finding_ids=frozenset({first}), times=None))
    said = s.command(f"unack {e.primary}")
    assert (
        "Security Hub: 4 SSM.3 findings set back to NEW; 1 not updated after retries (see "
        "`ssm3bot audit`)." in said
    )
    assert s.fleet.call_count("BatchUpdateFindings") == 3  # the batch and two retries
    assert workflows(s.fleet, e.alone)[e.alone[0]] == "SUPPRESSED"
    [entry] = s.audit("partly_updated")
    assert "4 updated, 1 unprocessed after retries (ConcurrentUpdateError x1)" in entry["detail"]


@pytest.mark.parametrize(
    ("operation", "code", "why", "audited"),
    [
        ("BatchUpdateFindings", "TooManyRequestsException", "throttled", "5 not sent"),
        (
            "BatchUpdateFindings",
            "AccessDeniedException",
            "denied: grant securityhub:BatchUpdateFindings (iam/ssm3-bot-securityhub-sync.json)",
            "5 not sent",
        ),
        (
            "GetFindings",
            "AccessDeniedException",
            "denied: grant securityhub:GetFindings (iam/ssm3-bot-securityhub.json)",
            "Security Hub not read (GetFindings: AccessDeniedException",
        ),
    ],
)
def test_throttling_or_a_denial_loses_no_acknowledgement_and_the_next_sweep_catches_up(
    make_synced: Callable[..., Synced],
    operation: str,
    code: str,
    why: str,
    audited: str,
) -> None:
    e = estate(shared=0)
    s = make_synced(e.fleet)
    status = 429 if code == "TooManyRequestsException" else 403
    s.fleet.inject(Fault(code, "Rate exceeded", http_status=status, operation=operation))
    said = s.command(f"ack {e.primary} for 7d OPS-5")
    assert (
        f"Security Hub not updated ({why}): the acknowledgement stands in the bot; it will be "
        "retried at the next sweep." in said
    )
    assert [a.reason for a in s.store.acks.active().values()] == ["OPS-5"]
    assert set(workflows(s.fleet, e.alone).values()) == {"NEW"}
    [entry] = s.audit()
    assert entry["outcome"] == "not_updated"
    assert audited in entry["detail"]

    s.fleet.clear_faults()
    s.sweep()
    assert set(workflows(s.fleet, e.alone).values()) == {"SUPPRESSED"}
    assert s.audit()[-1]["actor"] == "ssm3bot"


def test_a_finding_changed_by_hand_is_not_overwritten_and_is_audited(
    make_synced: Callable[..., Synced],
) -> None:
    e = estate(shared=0)
    s = make_synced(e.fleet)
    s.command(f"ack {e.primary} for 7d OPS-6")
    hub = s.sim.session(REGION).client("securityhub", endpoint_url=s.sim.endpoint_url)
    reviewed, renoted = (finding(s.fleet, i) for i in e.alone[:2])
    ids = [
        {"Id": f.finding_id, "ProductArn": f"arn:aws:securityhub:{REGION}::product/aws/securityhub"}
        for f in (reviewed, renoted)
    ]
    hub.batch_update_findings(FindingIdentifiers=ids[:1], Workflow={"Status": "NOTIFIED"})
    hub.batch_update_findings(
        FindingIdentifiers=ids[1:], Note={"Text": "risk accepted until Q3", "UpdatedBy": "jane"}
    )

    said = s.command(f"unack {e.primary}")
    assert (
        "Security Hub: 3 SSM.3 findings set back to NEW; 2 changed by hand in Security Hub left "
        "as they are (audited)." in said
    )
    assert workflows(s.fleet, e.alone[:2]) == {e.alone[0]: "NOTIFIED", e.alone[1]: "SUPPRESSED"}
    note = finding(s.fleet, e.alone[1]).note
    assert note == {**note, "Text": "risk accepted until Q3", "UpdatedBy": "jane"}  # type: ignore[dict-item]
    left = s.audit("left_as_changed")
    assert len(left) == 2
    assert any("workflow NOTIFIED (ssm3-bot had set SUPPRESSED)" in r["detail"] for r in left)
    assert any("note by jane" in r["detail"] for r in left)
    s.sweep()  # said once: a later sync leaves them alone without auditing again
    assert len(s.audit("left_as_changed")) == 2


def test_security_hubs_own_reset_is_re_applied_only_while_an_acknowledgement_covers_it(
    make_synced: Callable[..., Synced],
) -> None:
    e = estate(shared=0)
    s = make_synced(e.fleet, ack_workflow="NOTIFIED")
    s.command(f"ack {e.primary} for 7d OPS-8")
    assert set(workflows(s.fleet, e.alone).values()) == {"NOTIFIED"}
    run = runs(s, e.primary)
    # It passed and failed again between two sweeps: Security Hub resolved it, then reset it.
    run(passed=True)
    assert set(workflows(s.fleet, e.alone).values()) == {"RESOLVED"}
    run(passed=False)
    assert set(workflows(s.fleet, e.alone).values()) == {"NEW"}
    s.sweep()  # the acknowledgement still covers it (no sweep saw it compliant)
    assert set(workflows(s.fleet, e.alone).values()) == {"NOTIFIED"}

    run(passed=True)
    s.sweep()  # resolved: the streak, and so the acknowledgement, ended
    assert s.store.acks.active() == {}
    run(passed=False)
    s.sweep()  # a new failure: Security Hub's NEW stands
    assert set(workflows(s.fleet, e.alone).values()) == {"NEW"}


def test_resolution_sets_suppressed_findings_back_to_new(
    make_synced: Callable[..., Synced],
) -> None:
    e = estate(shared=0)
    s = make_synced(e.fleet)
    s.command(f"ack {e.primary} for 7d OPS-10")
    run = runs(s, e.primary)
    run(passed=True)
    # SUPPRESSED is never reset by Security Hub: left so, a new failure would stay hidden.
    assert set(workflows(s.fleet, e.alone).values()) == {"SUPPRESSED"}
    s.sweep()
    assert set(workflows(s.fleet, e.alone).values()) == {"NEW"}
    note = finding(s.fleet, e.alone[0]).note
    assert note is not None
    assert "patch-scan-prod is compliant again, which ended its acknowledgement" in note["Text"]
    run(passed=False)
    s.sweep()  # the ended acknowledgement covers the new failure no longer: it stays visible
    assert set(workflows(s.fleet, e.alone).values()) == {"NEW"}


def test_an_events_re_read_syncs_at_once_without_waiting_for_a_sweep(
    make_synced: Callable[..., Synced],
) -> None:
    """Real time: an event re-reads one account-region (Runner.refresh_scopes); the findings
    it changes follow at once, as after a full sweep."""
    from bot.models import Scope

    e = estate(shared=0)
    s = make_synced(e.fleet)
    s.command(f"ack {e.primary} for 7d OPS-11")
    runs(s, e.primary)(passed=True)
    services = s.slack.services
    runner = make_runner(
        settings=services.settings,
        store=s.store,
        access=services.access,
        publisher=None,
        clock=s.clock,
    )
    before = s.store.sweeps.last()
    runner.refresh_scopes([Scope(ACCOUNT, REGION)])
    assert set(workflows(s.fleet, e.alone).values()) == {"NEW"}
    assert s.store.sweeps.last() == before, "a partial re-read is never the last sweep"


def test_a_triage_sweep_syncs_too(make_synced: Callable[..., Synced]) -> None:
    """SSM3_TRIAGE: the hourly sweep reads only where Security Hub or the store point, and
    what it finds reaches Security Hub as after a full sweep."""
    e = estate(shared=0)
    s = make_synced(e.fleet, triage="securityhub", full_sweep_schedule="0 0 1 1 *")
    s.command(f"ack {e.primary} for 7d OPS-12")
    runs(s, e.primary)(passed=True)
    services = s.slack.services
    runner = make_runner(
        settings=services.settings,
        store=s.store,
        access=services.access,
        publisher=None,
        clock=s.clock,
    )
    assert runner.triage_due("schedule"), "a full sweep ran at the start: this one triages"
    runner.sweep_job()
    assert set(workflows(s.fleet, e.alone).values()) == {"NEW"}


def test_ssm3bot_ack_and_unack_sync_too(
    make_sim: Callable[..., Sim],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    e = estate(shared=0)
    sim = make_sim(e.fleet)
    monkeypatch.chdir(tmp_path)  # no .env from the project folder
    environment = sim.env(
        SSM3_REGIONS=REGION,
        SSM3_DB_PATH=str(tmp_path / "cli.db"),
        SSM3_SECURITYHUB="sync",
        SSM3_OPERATORS="U0OPS00001",  # sync mode refuses to start without operators
    )
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert main(["sweep"]) == 0
    capsys.readouterr()
    assert main(["ack", e.primary, "--for", "2d", "--reason", "OPS-11"]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[1] == (
        "Security Hub: 5 SSM.3 findings set SUPPRESSED; 1 kept NEW (another failing association "
        "or an orphaned item on the instance is not acknowledged)."
    )
    assert set(workflows(sim.fleet, e.alone).values()) == {"SUPPRESSED"}
    assert main(["unack", e.primary]) == 0
    assert (
        capsys.readouterr().out.splitlines()[1] == "Security Hub: 5 SSM.3 findings set back to NEW."
    )
    assert main(["audit", "--json"]) == 0
    exported = [r for r in json.loads(capsys.readouterr().out) if r["action"] == SYNC]
    assert [r["outcome"] for r in exported] == ["updated", "updated"]


def test_doctor_checks_the_sync_permission_in_sync_mode(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    from bot.doctor.aws import aws_checks

    sim = make_sim(estate().fleet)
    settings = Settings(regions=(REGION,), db_path=str(tmp_path / "d.db"), securityhub="sync")

    def sync_line() -> Any:
        return next(c for c in aws_checks(settings, sim.access) if "Security Hub sync" in c.text)

    allowed = sync_line()
    assert (allowed.status, allowed.text) == (
        "pass",
        f"Security Hub sync in {REGION}: securityhub:BatchUpdateFindings allowed (sets "
        "SUPPRESSED with a note)",
    )
    assert sim.fleet.imported_events == []  # the probe names no finding that exists
    sim.fleet.inject(
        Fault("AccessDeniedException", "no", http_status=403, operation="BatchUpdateFindings")
    )
    denied = sync_line()
    assert denied.status == "fail"
    assert denied.fix == (
        "grant securityhub:BatchUpdateFindings (iam/ssm3-bot-securityhub-sync.json) to the "
        "bot's identity, or set SSM3_SECURITYHUB=check"
    )
    checked = [c.text for c in aws_checks(settings.with_changes(securityhub="check"), sim.access)]
    assert not any("Security Hub sync" in t for t in checked)
