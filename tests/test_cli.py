"""The command line as a user runs it: the real console script in a subprocess, AWS being the
simulator reached through AWS_ENDPOINT_URL by unmodified boto3."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import ssm3bot
from tests.support.sim import Sim

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def assert_contract_document(doc: dict[str, Any]) -> None:
    """The `sweep --json` document exactly as CONTRACT.md spells it."""
    assert set(doc) == {
        "sweep_id",
        "started_at",
        "finished_at",
        "scopes",
        "associations",
        "orphans",
        "security_hub",
        "summary",
    }
    assert isinstance(doc["sweep_id"], str)
    assert ISO.match(doc["started_at"])
    assert ISO.match(doc["finished_at"])
    for scope in doc["scopes"]:
        assert set(scope) == {"account_id", "region", "ok", "error"}
        assert isinstance(scope["ok"], bool)
        assert (scope["error"] is None) == scope["ok"]
    for a in doc["associations"]:
        assert set(a) == {
            "account_id", "region", "association_id", "association_name", "document_name", "status",
            "detailed_status", "counts", "failed_targets", "last_execution_at", "failing_since", "acknowledged",
            "sync_compliance", "failing", "failure_kind", "noncompliant_instances",
        }  # fmt: skip
        assert a["status"] in {"Success", "Failed", "Pending"}
        assert all(isinstance(v, int) for v in a["counts"].values())
        for target in a["failed_targets"]:
            assert set(target) == {
                "instance_id",
                "detailed_status",
                "error_code",
                "summary",
                "output_url",
            }
            assert target["instance_id"].startswith("i-")
        assert a["last_execution_at"] is None or ISO.match(a["last_execution_at"])
        assert a["sync_compliance"] in {"AUTO", "MANUAL", None}
        assert a["failing"] == bool(a["noncompliant_instances"])
        if a["failing"]:
            assert ISO.match(a["failing_since"])
            assert a["failure_kind"] in {"execution", "reported"}
            assert a["sync_compliance"] in {"AUTO", "MANUAL"}, "read for every failing one"
            assert all(i.startswith(("i-", "mi-")) for i in a["noncompliant_instances"])
        else:
            assert a["failing_since"] is None
            assert a["failure_kind"] is None
        if a["status"] == "Failed":
            assert a["failed_targets"]
        elif a["status"] == "Success":
            assert a["failed_targets"] == []
    for orphan in doc["orphans"]:
        assert set(orphan) == {"account_id", "region", "association_id", "instance_id", "title"}
    hub = doc["security_hub"]
    assert hub is None or set(hub) == {
        "region",
        "failed_instances",
        "explained",
        "unexplained",
        "error",
        "hubs",
        "v2",
    }
    if hub is not None:
        for instance in hub["unexplained"]:
            assert set(instance) == {"account_id", "region", "instance_id"}
    assert set(doc["summary"]) == {
        "associations",
        "failing",
        "acknowledged",
        "noncompliant_instances",
        "scopes_failed",
    }
    assert doc["summary"]["associations"] == len(doc["associations"])
    assert doc["summary"]["failing"] == sum(a["status"] == "Failed" for a in doc["associations"])
    assert doc["summary"]["scopes_failed"] == sum(not s["ok"] for s in doc["scopes"])
    instances = {
        (a["account_id"], a["region"], t["instance_id"])
        for a in doc["associations"]
        for t in a["failed_targets"]
    }
    assert doc["summary"]["noncompliant_instances"] == len(instances)


@pytest.fixture
def org_sim(make_sim: Callable[..., Sim]) -> Sim:
    return make_sim(
        seed=4,
        accounts=("111111111111", "222222222222", "333333333333"),
        deny_accounts=["333333333333"],
    )


def test_sweep_json_is_the_contract_document(org_sim: Sim, tmp_path: Path) -> None:
    env = org_sim.env(SSM3_ACCOUNTS="org", SSM3_REGIONS="eu-west-1,us-east-1")
    result = ssm3bot(["sweep", "--json"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert_contract_document(doc)
    assert len(doc["scopes"]) == 6
    denied = [s for s in doc["scopes"] if not s["ok"]]
    assert {s["account_id"] for s in denied} == {"333333333333"}
    assert all("AccessDenied" in s["error"] for s in denied)
    failing = [a for a in doc["associations"] if a["status"] == "Failed"]
    assert {a["account_id"] for a in failing} == {"111111111111", "222222222222"}
    assert all(any(t["error_code"] or t["summary"] for t in a["failed_targets"]) for a in failing)
    assert (tmp_path / "ssm3.db").exists()


def test_sweep_prints_a_table_and_strict_exits_3(org_sim: Sim, tmp_path: Path) -> None:
    env = org_sim.env(SSM3_ACCOUNTS="111111111111,222222222222", SSM3_REGIONS="eu-west-1")
    result = ssm3bot(["sweep", "--strict"], env, tmp_path)
    assert result.returncode == 3
    assert "FAILING" in result.stdout
    assert "ACCOUNT" in result.stdout
    assert "not acknowledged" in result.stderr


def test_a_sweep_that_reaches_nothing_exits_1(org_sim: Sim, tmp_path: Path) -> None:
    env = org_sim.env(SSM3_ACCOUNTS="333333333333", SSM3_REGIONS="eu-west-1")
    result = ssm3bot(["sweep", "--json"], env, tmp_path)
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert doc["scopes"][0]["ok"] is False
    assert "reached no account-region" in result.stderr
    assert "Traceback" not in result.stderr


def test_digest_reads_the_store_without_aws(org_sim: Sim, tmp_path: Path) -> None:
    env = org_sim.env(SSM3_ACCOUNTS="org", SSM3_REGIONS="eu-west-1")
    assert ssm3bot(["sweep"], env, tmp_path).returncode == 0
    org_sim.fleet.reset_calls()
    text = ssm3bot(["digest"], {}, tmp_path)
    assert text.returncode == 0
    assert "FAILING" in text.stdout
    assert "NOT SWEPT" in text.stdout
    assert "333333333333" in text.stdout
    as_json = ssm3bot(["digest", "--json"], {}, tmp_path)
    digest = json.loads(as_json.stdout)
    assert digest["summary"]["failing"] == len(digest["failing"]) + len(digest["acknowledged"])
    assert digest["scopes_not_swept"][0]["account_id"] == "333333333333"
    # Organizations' names, kept with the account list, shown without asking AWS again.
    names = {a.account_id: a.name for a in org_sim.fleet.accounts.values()}
    assert digest["account_names"] == dict(sorted(names.items()))
    assert f"{names['333333333333']} (333333333333)" in text.stdout
    assert org_sim.fleet.call_count() == 0


def test_history_explains_a_failure(org_sim: Sim, tmp_path: Path) -> None:
    env = org_sim.env(SSM3_ACCOUNTS="org", SSM3_REGIONS="eu-west-1")
    doc = json.loads(ssm3bot(["sweep", "--json"], env, tmp_path).stdout)
    failing = next(a for a in doc["associations"] if a["status"] == "Failed")
    result = ssm3bot(["history", failing["association_id"]], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "RECENT EXECUTIONS" in result.stdout
    assert "FAILED TARGETS" in result.stdout
    assert "likely cause:" in result.stdout
    assert failing["failed_targets"][0]["instance_id"] in result.stdout


def test_diagnose_prints_only_the_contract_document_on_stdout(org_sim: Sim, tmp_path: Path) -> None:
    env = org_sim.env(SSM3_ACCOUNTS="org", SSM3_REGIONS="eu-west-1")
    doc = json.loads(ssm3bot(["sweep", "--json"], env, tmp_path).stdout)
    failing = next(a for a in doc["associations"] if a["failure_kind"] == "execution")
    result = ssm3bot(["diagnose", failing["association_id"], "--json"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    diagnosis = json.loads(result.stdout)
    assert set(diagnosis) == {"association", "instances", "causes", "warnings"}
    assert {i["instance_id"] for i in diagnosis["instances"]} >= set(
        failing["noncompliant_instances"]
    )
    unknown = ssm3bot(["diagnose", "00000000-0000-4000-8000-000000000000"], env, tmp_path)
    assert unknown.returncode == 2
    assert "not in the store" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_history_of_an_unknown_association_is_a_usage_error(org_sim: Sim, tmp_path: Path) -> None:
    result = ssm3bot(["history", "00000000-0000-4000-8000-000000000000"], org_sim.env(), tmp_path)
    assert result.returncode == 2
    assert "not in the store" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command_is_usage(tmp_path: Path) -> None:
    result = ssm3bot(["frobnicate"], {}, tmp_path)
    assert result.returncode == 2


def test_demo_prints_a_digest_from_two_accounts_and_regions_and_the_denied_one(
    tmp_path: Path,
) -> None:
    result = ssm3bot(["demo"], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    failing_section = out.split("FAILING")[1].split("ACKNOWLEDGED")[0]
    rows = [line.split() for line in failing_section.splitlines()[2:] if line.strip()]
    # An account is "name (ID)" where Organizations names it (the demo's fleet does), else its ID.
    accounts = {
        found[1] for row in rows for cell in row if (found := re.fullmatch(r"\(?(\d{12})\)?", cell))
    }
    assert "payments-prod (222222222222)" in failing_section
    regions = {cell for row in rows for cell in row if cell in {"eu-west-1", "us-east-1"}}
    assert {"111111111111", "222222222222"} <= accounts
    assert regions == {"eu-west-1", "us-east-1"}
    not_swept = out.split("NOT SWEPT")[1]
    assert "333333333333" in not_swept
    assert "AccessDenied" in not_swept
    assert "Sweep 2:" in result.stderr
