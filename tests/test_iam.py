"""Least privilege, proved from behaviour: the IAM policies in iam/ grant exactly the AWS
operations the code calls, as the simulator logged them while the real code paths ran.

To cover a new code path, add a `CodePath` to
CODE_PATHS: it gets a fresh simulated estate, and every operation it calls must then be
granted by the policy it names. A new AWS call anywhere in bot/ that no code path drives
fails `test_every_aws_call_in_the_source_is_driven`.
"""

from __future__ import annotations

import json
import os
import re
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import botocore.session
import pytest
from cfnlint.api import lint_file
from cfnlint.decode import cfn_yaml

from bot.aws.actions import association_state, start_once
from bot.aws.history import fetch_history
from bot.aws.session import AwsAccess
from bot.models import AssociationKey
from bot.settings.config import Settings
from bot.slack import blocks as kit
from bot.store import Store
from bot.sweeping.sweep import run_sweep
from tests.fakes.fixtures import OPERATOR, slack_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_harness import SlackHarness
from tests.support.runners import make_runner
from tests.support.sim import Sim

ROOT = Path(__file__).resolve().parent.parent
IAM = ROOT / "iam"
CALLER, MEMBER, OTHER = "111111111111", "222222222222", "333333333333"
REGIONS = ("eu-west-1", "us-east-1")
# Allowed to every identity whatever its policies say (AWS documents it needs no permission).
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}

Policy = Literal["readonly", "operator", "fixes"]
POLICY_FILES = {
    "readonly": "ssm3-readonly.json",  # the member role (and the bot's own account)
    "operator": "ssm3-operator.json",  # added to it when re-running is wanted
    "fixes": "ssm3-fixes.json",  # ... and when operators may apply a diagnosis's fix
    "bot": "ssm3-bot.json",  # the bot's own identity (an organisation's accounts)
    "bot-accounts": "ssm3-bot-accounts.json",  # ... or the listed accounts (SSM3_ACCOUNTS)
    "bot-org": "ssm3-bot-org.json",  # ... when SSM3_ACCOUNTS=org
    "bot-securityhub": "ssm3-bot-securityhub.json",  # ... when SSM3_SECURITYHUB is on
    "bot-securityhub-sync": "ssm3-bot-securityhub-sync.json",  # ... and when it is sync
    "bot-events": "ssm3-bot-events.json",  # ... when SSM3_EVENTS_QUEUE_URL is set
}
# Where each service's actions belong: State Manager (and doctor's Security Hub and Config
# reads) in the swept accounts, the rest is the bot's own identity reaching them.
BOT_POLICY_FOR_SERVICE = {"sts": "bot", "organizations": "bot-org", "sqs": "bot-events"}
# Operations IAM authorises under another action's name.
IAM_ACTION = {
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    # The new Security Hub's calls use Security Hub CSPM's actions (AWS's V2 API reference).
    "securityhub:GetFindingsV2": "securityhub:GetFindings",
    "securityhub:BatchUpdateFindingsV2": "securityhub:BatchUpdateFindings",
}
# Actions of member services the bot makes with its own identity: the cross-check reads
# Security Hub's aggregated findings in the administrator account's home region.
BOT_POLICY_FOR_ACTION = {
    "securityhub:GetFindings": "bot-securityhub",
    # ... after asking which Security Hubs are on there (CSPM, the new one),
    "securityhub:DescribeHub": "bot-securityhub",
    "securityhub:DescribeSecurityHubV2": "bot-securityhub",
    # ... and, with SSM3_SECURITYHUB=sync, writes acknowledgements to those findings there.
    "securityhub:BatchUpdateFindings": "bot-securityhub-sync",
}
# The parameters of every BatchUpdateFindings the sync's code path sent (botocore's own event).
SYNC_REQUESTS: list[dict[str, Any]] = []
# Every AWS API call the bot's code made in each code path, as boto3 made it (the tests' own
# set-up calls left out): (service, operation, region, params).
SENT: dict[str, list[tuple[str, str, str, dict[str, Any]]]] = {}
ORG = "o-ssm3sim0001"  # the simulator's organisation, which its accounts belong to
MEMBER_SERVICES = ("ssm", "securityhub", "config")


@dataclass(frozen=True)
class CodePath:
    """A real code path, driven against a fresh simulator; `policy` must grant its SSM calls."""

    name: str
    policy: Policy
    # Returns the operations it called outside the simulator (SQS, on moto), if any.
    drive: Callable[[Sim, Path], set[str] | None]


def _settings(tmp: Path) -> Settings:
    return Settings(regions=REGIONS, accounts_from_org=True, db_path=str(tmp / "iam.db"))


def _failing_in(sim: Sim, account: str) -> AssociationKey:
    """A failing association of `account`, straight from the simulated estate."""
    for (account_id, region), scope in sorted(sim.fleet.scopes.items()):
        for association in scope.associations.values():
            if account_id == account and association.status == "Failed":
                return AssociationKey(account_id, region, association.association_id)
    raise AssertionError(f"the simulated estate has no failing association in {account}")


def sweep_the_organisation(sim: Sim, tmp: Path) -> None:
    """`ssm3bot sweep` with SSM3_ACCOUNTS=org, twice: a full sweep, then an incremental one."""
    store = Store(tmp / "iam.db")
    access = sim.access()
    for _ in range(2):
        summary = run_sweep(settings=_settings(tmp), access=access, store=store)
        assert summary.scopes == 6
        assert summary.scopes_failed == 0
        assert summary.failing > 0
    store.close()


def history_of_a_failing_association(sim: Sim, tmp: Path) -> None:
    """`ssm3bot history` (and the History button): executions, targets, stderr, agents."""
    key = _failing_in(sim, MEMBER)
    history = fetch_history(sim.access().ssm(key.scope), key)
    assert history.failed_count > 0
    assert any(t.stderr for t in history.targets), "the stderr path must run"
    assert any(t.ping_status for t in history.targets), "the agent lookup must run"


def rerun_an_association(sim: Sim, tmp: Path) -> None:
    """Re-run: StartAssociationsOnce in the member account through the assumed role."""
    key = _failing_in(sim, MEMBER)
    ssm = sim.access().ssm(key.scope)
    assert association_state(ssm, key).status == "Failed"
    start_once(ssm, key)
    _, association = sim.fleet.find_association(key.association_id)
    assert len(association.executions) > 1


def doctor_on_the_organisation(sim: Sim, tmp: Path) -> None:
    """`ssm3bot doctor`'s AWS checks: every read it tries in every account-region passes."""
    from bot.doctor.aws import aws_checks

    checks = aws_checks(_settings(tmp), sim.access)
    assert [c.text for c in checks if c.status != "pass"] == []
    assert any("all 9 State Manager reads allowed in 6 account-regions" in c.text for c in checks)


@contextmanager
def slack_app(sim: Sim, tmp: Path) -> Iterator[SlackHarness]:
    """The Slack app on a swept store (HTTP, signed requests, the fake Web API)."""
    with FakeSlack() as fake:
        settings = slack_settings(
            fake, str(tmp / "slack.db"), accounts=(CALLER, MEMBER, OTHER), regions=REGIONS
        )
        store = Store(settings.db_path)
        access = sim.access()
        run_sweep(settings=settings, access=access, store=store)
        harness = SlackHarness(settings=settings, store=store, access=access, fake=fake).start()
        try:
            yield harness
        finally:
            harness.stop()
            store.close()


def history_through_slack(sim: Sim, tmp: Path) -> None:
    """`/ssm3 history` and the History button, answered at their response_urls."""
    key = _failing_in(sim, MEMBER)
    with slack_app(sim, tmp) as app:
        for reply in (
            app.command(f"history {key.association_id}"),
            app.click(kit.ACTION_HISTORY, kit.key_value(key)),
        ):
            app.fake.wait_for(lambda r=reply: _answers(app.fake, r.response_url))
            assert "Recent executions" in str(_answers(app.fake, reply.response_url)[0])


def rerun_through_slack(sim: Sim, tmp: Path) -> None:
    """The Re-run button by an operator: StartAssociationsOnce, then the confirm-COMPLIANT
    watch's look and verdict (ephemeral, where the command was typed)."""
    key = _failing_in(sim, MEMBER)
    with slack_app(sim, tmp) as app:
        clicked = app.click(kit.ACTION_RERUN, kit.key_value(key), user=OPERATOR, ephemeral=True)
        app.fake.wait_for(lambda: len(_answers(app.fake, clicked.response_url)) >= 2)
        app.fake.wait_for(lambda: app.fake.calls_to("chat.postEphemeral"))
    assert sim.fleet.call_count("StartAssociationsOnce", account_id=MEMBER) == 1


def sync_to_security_hub(sim: Sim, tmp: Path) -> None:
    """SSM3_SECURITYHUB=sync: a sweep, an acknowledgement and its removal write SSM.3's
    findings (BatchUpdateFindings with the bot's own identity in the aggregation home region)."""
    from bot.app.acknowledgements import Acknowledgements
    from bot.app.outcomes import Done
    from bot.app.permissions import LocalOperator
    from bot.app.sync_report import reply_line
    from bot.aws.session import AwsAccess
    from bot.models import AssociationRef
    from bot.util.clock import utcnow
    from bot.wiring.context import Context
    from bot.wiring.findings import findings_sync

    sim.fleet.hub_v2 = True  # both Security Hubs on: the new hub's calls are driven too
    session = sim.session()
    session.events.register(
        "provide-client-params.securityhub.BatchUpdateFindings",
        lambda params, **_: SYNC_REQUESTS.append(dict(params)),
    )
    access = AwsAccess(
        session=session, endpoint_url=sim.endpoint_url, role_name=sim.fleet.role_name
    )
    settings = _settings(tmp).with_changes(securityhub="sync")
    store = Store(tmp / "iam.db")
    run_sweep(settings=settings, access=access, store=store)
    key = _failing_in(sim, MEMBER)
    sync = findings_sync(Context(settings, store, access, utcnow))
    cases = Acknowledgements(store=store, permissions=LocalOperator(), clock=utcnow, sync=sync)
    for change in (
        lambda: cases.acknowledge(
            "U0ALICE01",
            AssociationRef(key.association_id),
            reason="OPS-1",
            until=utcnow() + timedelta(days=1),
        ),
        lambda: cases.unacknowledge("U0ALICE01", AssociationRef(key.association_id)),
    ):
        done = change()
        assert isinstance(done, Done)
        assert done.security_hub is not None
        line = reply_line(done.security_hub)
        assert "not updated" not in line, line
    store.close()
    assert SYNC_REQUESTS
    assert sim.fleet.call_count("GetFindingsV2") > 0
    assert sim.fleet.call_count("BatchUpdateFindingsV2") > 0


def _answers(fake: FakeSlack, url: str | None) -> list[dict[str, Any]]:
    url_id = (url or "").rsplit("/", 1)[-1]
    return [payload for uid, payload in fake.responses if uid == url_id]


def poll_the_events_queue(sim: Sim, tmp: Path) -> set[str]:
    """The real-time poller's receive, re-read and delete, and doctor's queue check, on a real
    SQS (moto); its SQS operations are recorded as the client sends them."""
    from bot.doctor.events import events_checks
    from bot.realtime.wiring import build_poller
    from bot.sim.events import compliance_event
    from tests.support.sqs import MotoSqs

    server = MotoSqs()  # its own server: the queue can have the name iam/ grants
    queue = server.queue(name="ssm3-events")
    sent: set[str] = set()
    session = sim.session()
    session.events.register(
        "before-call.sqs",
        lambda model, **_: sent.add(IAM_ACTION.get(f"sqs:{model.name}", f"sqs:{model.name}")),
    )
    previous = os.environ.get("AWS_ENDPOINT_URL_SQS")
    os.environ["AWS_ENDPOINT_URL_SQS"] = server.endpoint_url
    try:
        access = AwsAccess(
            session=session, endpoint_url=sim.endpoint_url, role_name=sim.fleet.role_name
        )
        settings = _settings(tmp).with_changes(events_queue_url=queue.url)
        store = Store(tmp / "events.db")
        run_sweep(settings=settings, access=access, store=store)
        runner = make_runner(settings=settings, store=store, access=access, publisher=None)
        poller = build_poller(runner, wait_s=1)
        assert poller is not None
        queue.send(compliance_event(MEMBER, "eu-west-1", "i-0123456789abcdef0", status="compliant"))
        assert poller.poll_once() == 1
        assert poller.counts["handled"] == 1
        checks = events_checks(settings, lambda: access)
        assert [c.status for c in checks] == ["pass", "pass", "warn"]  # a 1 s visibility
        store.close()
    finally:
        if previous is None:
            os.environ.pop("AWS_ENDPOINT_URL_SQS", None)
        else:
            os.environ["AWS_ENDPOINT_URL_SQS"] = previous
        server.stop()
    return sent


def diagnose_each_cause(sim: Sim, tmp: Path) -> None:
    """`ssm3bot diagnose` (and, in phase B, the Diagnose button) on an association failing for
    each cause in a member account: every read a diagnosis makes."""
    from bot.app.diagnoses import Diagnoses
    from bot.aws.evidence import AwsEvidence
    from bot.core.diagnosis import Diagnosis
    from bot.models import AssociationRef
    from bot.sim.showcase import add_showcase
    from bot.util.clock import utcnow

    shown = add_showcase(sim.fleet, MEMBER, "eu-west-1")
    store = Store(tmp / "iam.db")
    access = sim.access()
    run_sweep(settings=_settings(tmp), access=access, store=store)
    cases = Diagnoses(store=store, evidence=AwsEvidence(access, clock=utcnow), clock=utcnow)
    for cause, association_id in shown.associations.items():
        found = cases.diagnose(AssociationRef(association_id))
        assert isinstance(found, Diagnosis), found
        assert {g.cause for g in found.causes} == {cause}
    store.close()


def watch_a_run(sim: Sim, tmp: Path) -> None:
    """The confirm-COMPLIANT watch's reads: the first run after an action, then SSM.3's items."""
    from bot.aws.watch import association_items, first_run_after
    from bot.sim.showcase import add_showcase

    shown = add_showcase(sim.fleet, MEMBER, "eu-west-1")
    key = AssociationKey(MEMBER, "eu-west-1", shown.associations["unknown"])
    before = sim.fleet.now()
    sim.fleet.run_association(key.association_id, failures={})  # a run the watch follows
    ssm = sim.access().ssm(key.scope)
    run = first_run_after(ssm, key, before)
    assert run is not None
    assert run.finished
    items = association_items(ssm, key.association_id, shown.instances["unknown"])
    assert all(item.passes for item in items.values())


def apply_each_fix(sim: Sim, tmp: Path) -> None:
    """A diagnosis's fixes in a member account: one parameter updated, the SSM Agent updated
    and its outcome read, the troubleshooting runbook started and read, a re-run."""
    from bot.aws import fixes
    from bot.sim.showcase import add_showcase

    shown = add_showcase(sim.fleet, MEMBER, "eu-west-1")
    key = AssociationKey(MEMBER, "eu-west-1", shown.associations["bad_parameter"])
    ssm = sim.access().ssm(key.scope)
    updated = fixes.update_parameter(ssm, key, name="Operation", value="Scan", expected_version="1")
    assert isinstance(updated, fixes.ParameterUpdated), updated
    command = fixes.update_agent(ssm, shown.instances["agent_outdated"])
    assert isinstance(command, fixes.CommandStarted), command
    assert isinstance(fixes.command_outcome(ssm, command.command_ids[0]), fixes.CommandOutcome)
    runbook = fixes.troubleshoot(ssm, shown.instances["unreachable"][0])
    assert isinstance(runbook, fixes.AutomationStarted), runbook
    found = fixes.automation_outcome(ssm, runbook.execution_id)
    assert isinstance(found, fixes.AutomationOutcome)
    assert fixes.rerun(ssm, key) is None


CODE_PATHS: tuple[CodePath, ...] = (
    CodePath("sweep", "readonly", sweep_the_organisation),
    CodePath("doctor", "readonly", doctor_on_the_organisation),
    CodePath("history", "readonly", history_of_a_failing_association),
    CodePath("rerun", "operator", rerun_an_association),
    CodePath("slack-history", "readonly", history_through_slack),
    CodePath("slack-rerun", "operator", rerun_through_slack),
    CodePath("securityhub-sync", "operator", sync_to_security_hub),
    CodePath("events", "readonly", poll_the_events_queue),
    CodePath("diagnose", "readonly", diagnose_each_cause),
    CodePath("watch", "readonly", watch_a_run),
    CodePath("fixes", "fixes", apply_each_fix),
)


# -- reading the policies -------------------------------------------------------------------------


def policy_document(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((IAM / POLICY_FILES[name]).read_text())
    return document


def actions_of(document: dict[str, Any]) -> set[str]:
    """Every action an Allow statement names (no wildcards allowed: least privilege). A Deny
    statement only narrows an action the same document allows."""
    found: set[str] = set()
    denied: set[str] = set()
    for statement in document["Statement"]:
        assert statement["Effect"] in ("Allow", "Deny")
        actions = statement["Action"]
        named = [actions] if isinstance(actions, str) else actions
        (found if statement["Effect"] == "Allow" else denied).update(named)
    assert denied <= found, f"Deny statements for actions the document does not allow: {denied}"
    wildcards = {a for a in found if "*" in a}
    assert not wildcards, f"wildcard actions grant more than the code needs: {wildcards}"
    return found


def resolve(node: Any, conditions: dict[str, bool]) -> Any:
    """A CloudFormation fragment with Fn::If decided and AWS::NoValue dropped."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return resolve(yes if conditions[name] else no, conditions)
        resolved = {k: resolve(v, conditions) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v != {"Ref": "AWS::NoValue"}}
    if isinstance(node, list):
        items = [resolve(v, conditions) for v in node]
        return [v for v in items if v != {"Ref": "AWS::NoValue"}]
    return node


TEMPLATE = IAM / "ssm3-member-role.yaml"


def template_role(include_operator: bool, include_fixes: bool = False) -> dict[str, Any]:
    template = cfn_yaml.load(str(TEMPLATE))
    conditions = {"IncludeOperator": include_operator, "IncludeFixes": include_fixes}
    role: dict[str, Any] = resolve(template["Resources"]["Ssm3Role"], conditions)
    return role


# -- driving the code -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def called(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """IAM actions each code path called, from the simulator's log (ssm:ListAssociations, …)."""
    from botocore.client import BaseClient

    from bot.sim.fleet import generate_fleet
    from bot.sim.server import SimServer

    found: dict[str, set[str]] = {}
    real_call = BaseClient._make_api_call
    for path in CODE_PATHS:
        sent = SENT.setdefault(path.name, [])

        def recording(client: Any, operation: str, params: dict[str, Any], _s: Any = sent) -> Any:
            meta = client.meta
            if any(
                Path(f.filename).is_relative_to(ROOT / "bot") for f in traceback.extract_stack()
            ):
                _s.append((meta.service_model.service_name, operation, meta.region_name, params))
            return real_call(client, operation, params)

        fleet = generate_fleet(seed=5, accounts=(CALLER, MEMBER, OTHER), regions=REGIONS, failing=2)
        with SimServer(fleet) as server, pytest.MonkeyPatch.context() as patch:
            patch.setattr(BaseClient, "_make_api_call", recording)
            elsewhere = path.drive(Sim(fleet, server), tmp_path_factory.mktemp(path.name))
        assert fleet.violations == []
        actions = (f"{c.service}:{c.operation}" for c in fleet.calls)
        found[path.name] = {IAM_ACTION.get(a, a) for a in actions} | (elsewhere or set())
    return found


def _union(called: dict[str, set[str]], names: Iterator[str] | list[str]) -> set[str]:
    return set().union(*(called[name] for name in names))


def test_no_policy_misses_an_action_the_code_calls_or_grants_one_it_does_not(
    called: dict[str, set[str]],
) -> None:
    needed = _union(called, list(called)) - NEEDS_NO_PERMISSION
    granted = set().union(*(actions_of(policy_document(name)) for name in POLICY_FILES))
    assert needed - granted == set(), "the code calls actions no policy in iam/ grants"
    assert granted - needed == set(), "policies in iam/ grant actions no code path calls"


def test_each_action_is_in_the_policy_of_who_calls_it(called: dict[str, set[str]]) -> None:
    read_paths = [p.name for p in CODE_PATHS if p.policy == "readonly"]
    operate_paths = [p.name for p in CODE_PATHS if p.policy == "operator"]
    everything = _union(called, list(called)) - NEEDS_NO_PERMISSION
    member_reads = {
        a
        for a in _union(called, read_paths)
        if a.split(":")[0] in MEMBER_SERVICES and a not in BOT_POLICY_FOR_ACTION
    }
    ssm_operations = {a for a in _union(called, operate_paths) if a.startswith("ssm:")}

    assert actions_of(policy_document("readonly")) == member_reads
    # The operator policy adds only what re-running needs beyond reading.
    operator = actions_of(policy_document("operator"))
    assert operator == ssm_operations - member_reads
    # The fixes policy adds only what applying a fix needs beyond reading and re-running.
    fix_paths = [p.name for p in CODE_PATHS if p.policy == "fixes"]
    fix_operations = {a for a in _union(called, fix_paths) if a.startswith("ssm:")}
    assert actions_of(policy_document("fixes")) == fix_operations - member_reads - operator
    for service, policy in BOT_POLICY_FOR_SERVICE.items():
        assert actions_of(policy_document(policy)) == {
            a for a in everything if a.startswith(f"{service}:")
        }
    for policy in set(BOT_POLICY_FOR_ACTION.values()):
        granted = {a for a, p in BOT_POLICY_FOR_ACTION.items() if p == policy}
        assert granted <= everything
        assert actions_of(policy_document(policy)) == granted
    assert {a.split(":")[0] for a in everything} <= {*MEMBER_SERVICES, *BOT_POLICY_FOR_SERVICE}


def test_the_read_only_paths_never_change_anything(called: dict[str, set[str]]) -> None:
    reads = _union(called, [p.name for p in CODE_PATHS if p.policy == "readonly"])
    changing = {
        a
        for a in reads
        if not re.match(r"^(List|Describe|Get|AssumeRole$)", a.split(":")[1])
        # The events queue is the bot's own inbox, not the estate: taking messages off it
        # changes nothing in the swept accounts.
        and a not in {"sqs:ReceiveMessage", "sqs:DeleteMessage"}
    }
    assert changing == set()


def test_the_slack_paths_reach_aws_through_the_member_role(called: dict[str, set[str]]) -> None:
    assert {"sts:AssumeRole", "ssm:GetCommandInvocation"} <= called["slack-history"]
    assert {"sts:AssumeRole", "ssm:DescribeAssociation", "ssm:StartAssociationsOnce"} <= called[
        "slack-rerun"
    ]


def test_every_aws_call_in_the_source_is_driven(called: dict[str, set[str]]) -> None:
    """A boto3 call written anywhere in bot/ (outside the simulator) must be in a code path."""
    loader = botocore.session.get_session()
    driven = _union(called, list(called))
    # The simulator and the demo, which drives the simulator's fleet directly (its
    # `fleet.delete_association` is no boto3 call), are not the bot's AWS access.
    source = "\n".join(
        p.read_text()
        for p in (ROOT / "bot").rglob("*.py")
        if "sim" not in p.parts and p.name != "demo.py"
    )
    # The services the code makes clients for: any quoted service name in a *client( call.
    named = set(re.findall(r"client\([^)]*?[\"']([a-z0-9-]+)[\"']", source))
    services = {"ssm", "sts", "organizations", "securityhub", "config"} | (
        named & set(loader.get_available_services())
    )
    missing = []
    for service in sorted(services):
        model = loader.get_service_model(service)
        for operation in model.operation_names:
            method = botocore.xform_name(operation)
            pattern = rf"\.{method}\(|get_paginator\(\s*[\"']{method}[\"']"
            action = IAM_ACTION.get(f"{service}:{operation}", f"{service}:{operation}")
            if re.search(pattern, source) and action not in driven:
                missing.append(f"{service}:{operation}")
    assert missing == [], f"add a CodePath that drives {missing} (and grant it in iam/)"


# -- the documents themselves ---------------------------------------------------------------------


def test_policy_resources_are_as_narrow_as_the_actions_allow() -> None:
    (rerun,) = policy_document("operator")["Statement"]
    assert rerun["Resource"] == "arn:aws:ssm:*:*:association/*"
    fixes = {s["Action"][0]: s["Resource"] for s in policy_document("fixes")["Statement"]}
    assert fixes["ssm:StartAutomationExecution"].endswith(
        "automation-definition/AWSSupport-TroubleshootManagedInstance:*"
    )
    assert "arn:aws:ssm:*::document/AWS-UpdateSSMAgent" in fixes["ssm:SendCommand"]
    assert not any(
        r.startswith("arn:aws:ssm:*::document/")
        and r != ("arn:aws:ssm:*::document/AWS-UpdateSSMAgent")
        for r in fixes["ssm:SendCommand"]
    )  # no other AWS document may be sent
    for name in ("bot", "bot-accounts"):
        (assume,) = policy_document(name)["Statement"]
        assert assume["Resource"] == f"arn:aws:iam::*:role/{Settings().role_name}"
    findings, which_hubs = policy_document("bot-securityhub")["Statement"]
    assert findings["Resource"] == "arn:aws:securityhub:*:*:hub/default"
    # DescribeSecurityHubV2 names no hub: "*", in the bot's own account only, and alone.
    assert (which_hubs["Action"], which_hubs["Resource"]) == (
        ["securityhub:DescribeSecurityHubV2"],
        "*",
    )
    assert which_hubs["Condition"] == findings["Condition"]
    allow, *_ = policy_document("bot-securityhub-sync")["Statement"]
    assert (allow["Effect"], allow["Resource"]) == ("Allow", "arn:aws:securityhub:*:*:hub/default")
    (queue,) = policy_document("bot-events")["Statement"]
    central = cfn_yaml.load(str(CENTRAL))
    assert queue["Resource"] == f"arn:aws:sqs:*:*:{central['Parameters']['QueueName']['Default']}"
    # GetCommandInvocation has no resource type: alone in its statement, on the member role.
    read, stderr, *_ = policy_document("readonly")["Statement"]
    assert (stderr["Action"], stderr["Resource"]) == (["ssm:GetCommandInvocation"], "*")
    assert "ssm:GetCommandInvocation" not in read["Action"]


def _context_of(
    service: str, operation: str, region: str, params: dict[str, Any]
) -> tuple[str, dict[str, str]]:
    """The resource and request context IAM would judge one of the bot's own calls by: the bot
    is CALLER, in the simulator's organisation, where every simulated account is too."""
    context = {"aws:PrincipalAccount": CALLER, "aws:PrincipalOrgID": ORG}
    if service == "sts":
        resource = str(params["RoleArn"])
        account = resource.split(":")[4]
        context |= {"aws:ResourceAccount": account, "aws:ResourceOrgID": ORG}
    elif service == "sqs":
        from tests.support.sqs import ACCOUNT as MOTO_ACCOUNT

        account, name = str(params["QueueUrl"]).rstrip("/").split("/")[-2:]
        resource = f"arn:aws:sqs:{region}:{account}:{name}"
        # moto answers every caller as its one account: the bot's own, as far as SQS knows
        context |= {"aws:PrincipalAccount": MOTO_ACCOUNT, "aws:ResourceAccount": account}
    else:  # Security Hub, with the bot's own credentials: its own account's hub
        resource = f"arn:aws:securityhub:{region}:{CALLER}:hub/default"
        context["aws:ResourceAccount"] = CALLER
        if operation == "BatchUpdateFindings":
            context |= _context(params)  # the securityhub:ASFFSyntaxPath/... keys it sets
    return resource, context


# The policy that grants each call the bot's own identity makes.
OWN_CALLS = {
    ("sts", "AssumeRole"): ("bot", "sts:AssumeRole"),
    ("securityhub", "GetFindings"): ("bot-securityhub", "securityhub:GetFindings"),
    ("securityhub", "GetFindingsV2"): ("bot-securityhub", "securityhub:GetFindings"),
    ("securityhub", "DescribeHub"): ("bot-securityhub", "securityhub:DescribeHub"),
    ("securityhub", "DescribeSecurityHubV2"): (
        "bot-securityhub",
        "securityhub:DescribeSecurityHubV2",
    ),
    ("securityhub", "BatchUpdateFindings"): (
        "bot-securityhub-sync",
        "securityhub:BatchUpdateFindings",
    ),
    # No ASFF keys: the Deny statements that narrow CSPM's updates never match the new hub's.
    ("securityhub", "BatchUpdateFindingsV2"): (
        "bot-securityhub-sync",
        "securityhub:BatchUpdateFindings",
    ),
    ("sqs", "ReceiveMessage"): ("bot-events", "sqs:ReceiveMessage"),
    ("sqs", "DeleteMessageBatch"): ("bot-events", "sqs:DeleteMessage"),
    ("sqs", "DeleteMessage"): ("bot-events", "sqs:DeleteMessage"),
    ("sqs", "GetQueueAttributes"): ("bot-events", "sqs:GetQueueAttributes"),
}


def test_the_narrowed_policies_allow_every_call_the_bot_makes_as_it_makes_it(
    called: dict[str, set[str]],
) -> None:
    """Conditions included: each AssumeRole, Security Hub and SQS call the code paths made is
    allowed by its policy with the resource and context of that very call."""
    from tests.support.iam_policy import allowed

    judged = set()
    for sent in SENT.values():
        for service, operation, region, params in sent:
            if (service, operation) not in OWN_CALLS:
                continue
            policy, action = OWN_CALLS[(service, operation)]
            resource, context = _context_of(service, operation, region, params)
            document = policy_document(policy)
            assert allowed(document, action, resource, context), (operation, resource)
            judged.add((service, operation))
    assert {("sts", "AssumeRole"), ("securityhub", "GetFindings")} <= judged
    assert {("securityhub", "BatchUpdateFindings"), ("sqs", "ReceiveMessage")} <= judged
    assert {("securityhub", "BatchUpdateFindingsV2"), ("securityhub", "GetFindingsV2")} <= judged
    assert {("securityhub", "DescribeHub"), ("securityhub", "DescribeSecurityHubV2")} <= judged


def test_the_narrowed_policies_allow_nothing_beyond_the_bots_own_scope(
    called: dict[str, set[str]],
) -> None:
    """The same calls elsewhere are refused: the member role in an account outside the
    organisation (or not listed), a role of another name, another account's queue or hub."""
    from tests.support.iam_policy import allowed

    role = f"arn:aws:iam::{MEMBER}:role/{Settings().role_name}"
    ours = {"aws:PrincipalAccount": CALLER, "aws:PrincipalOrgID": ORG}
    inside = {**ours, "aws:ResourceAccount": MEMBER, "aws:ResourceOrgID": ORG}
    outside = {**ours, "aws:ResourceAccount": "999999999999", "aws:ResourceOrgID": "o-elsewhere01"}
    bot, listed = policy_document("bot"), policy_document("bot-accounts")
    assert allowed(bot, "sts:AssumeRole", role, inside)
    assert not allowed(bot, "sts:AssumeRole", role.replace(MEMBER, "999999999999"), outside)
    assert not allowed(bot, "sts:AssumeRole", f"arn:aws:iam::{MEMBER}:role/Admin", inside)
    assert not allowed(bot, "sts:AssumeRole", role, {"aws:ResourceOrgID": ORG})  # no org of its own
    listed_accounts = listed["Statement"][0]["Condition"]["StringEquals"]["aws:ResourceAccount"]
    assert all(re.fullmatch(r"[0-9]{12}", a) for a in listed_accounts)
    first = listed_accounts[0]
    assert allowed(
        listed,
        "sts:AssumeRole",
        role.replace(MEMBER, first),
        {**inside, "aws:ResourceAccount": first},
    )
    assert not allowed(
        listed, "sts:AssumeRole", role, {**inside, "aws:ResourceAccount": "999999999999"}
    )
    for policy, action, arn in (
        ("bot-events", "sqs:ReceiveMessage", "arn:aws:sqs:eu-west-1:{}:ssm3-events"),
        ("bot-securityhub", "securityhub:GetFindings", "arn:aws:securityhub:eu-west-1:{}:hub/default"),
        ("bot-securityhub-sync", "securityhub:BatchUpdateFindings", "arn:aws:securityhub:eu-west-1:{}:hub/default"),
    ):  # fmt: skip
        document = policy_document(policy)
        request = _context(SYNC_REQUESTS[0]) if action.endswith("BatchUpdateFindings") else {}
        mine = {**ours, **request, "aws:ResourceAccount": CALLER}
        theirs = {**ours, **request, "aws:ResourceAccount": OTHER}
        assert allowed(document, action, arn.format(CALLER), mine)
        assert not allowed(document, action, arn.format(OTHER), theirs)


def _context(params: dict[str, Any]) -> dict[str, str]:
    """The securityhub:ASFFSyntaxPath/... condition keys a BatchUpdateFindings request sets."""
    keys: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and prefix != "UserDefinedFields":
            for name, inner in value.items():
                walk(f"{prefix}.{name}" if prefix else name, inner)
        else:
            keys[f"securityhub:ASFFSyntaxPath/{prefix}"] = str(value)

    walk("", {k: v for k, v in params.items() if k != "FindingIdentifiers"})
    return keys


def _denied(document: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """The Deny statements that match a request (StringEquals, StringNotEquals, Null)."""
    context = _context(params)
    matched = []
    for statement in document["Statement"]:
        if statement["Effect"] != "Deny":
            continue
        results = []
        for operator, tests in statement["Condition"].items():
            for key, wanted in tests.items():
                values = [wanted] if isinstance(wanted, str) else list(wanted)
                present = key in context
                if operator == "StringEquals":
                    results.append(present and context[key] in values)
                elif operator == "StringNotEquals":  # a missing key matches (IAM's rule)
                    results.append(not present or context[key] not in values)
                elif operator == "Null":
                    results.append(present is (values == ["false"]))
                else:
                    raise AssertionError(f"{operator}: extend this evaluator")
        if all(results):
            matched.append(statement["Sid"])
    return matched


def test_the_sync_policy_allows_what_the_sync_sends_and_nothing_else(
    called: dict[str, set[str]],
) -> None:
    """Allowed: every BatchUpdateFindings the code path sent (the workflows the bot writes,
    with its note). Denied: RESOLVED, a note not by ssm3-bot or none, any other field."""
    assert "securityhub:BatchUpdateFindings" in called["securityhub-sync"]
    document = policy_document("bot-securityhub-sync")
    sent = {r["Workflow"]["Status"] for r in SYNC_REQUESTS}
    assert sent == {"SUPPRESSED", "NEW"}
    assert [_denied(document, r) for r in SYNC_REQUESTS] == [[] for _ in SYNC_REQUESTS]
    ours = SYNC_REQUESTS[0]
    for changed in (
        {"Workflow": {"Status": "RESOLVED"}},
        {"Workflow": {"Status": "NOTIFIED"}, "Note": {"Text": "x", "UpdatedBy": "jane"}},
        {"Workflow": {"Status": "SUPPRESSED"}, "Note": None},
        {"Workflow": None, "Note": None},  # the bot's fields alone, without its note
        {"Severity": {"Label": "INFORMATIONAL"}},
        {"Confidence": 0},
        {"Criticality": 0},
        {"VerificationState": "FALSE_POSITIVE"},
        {"Types": ["x"]},
        {"RelatedFindings": [{"Id": "x", "ProductArn": "y"}]},
    ):
        request = {k: v for k, v in {**ours, **changed}.items() if v is not None}
        assert _denied(document, request), f"{changed} should be denied"
    assert _denied(document, {**ours, "Workflow": {"Status": "NOTIFIED"}}) == []


def test_the_member_role_template_passes_cfn_lint() -> None:
    problems = [str(match) for match in lint_file(TEMPLATE)]
    assert problems == []


@pytest.mark.parametrize(("include_operator", "include_fixes"), [(False, False), (True, True)])
def test_the_member_role_grants_what_the_policy_files_grant(
    include_operator: bool, include_fixes: bool
) -> None:
    role = template_role(include_operator, include_fixes=include_fixes)
    properties = role["Properties"]
    assert properties["RoleName"] == {"Ref": "RoleName"}
    policies = {p["PolicyName"]: actions_of(p["PolicyDocument"]) for p in properties["Policies"]}
    expected = {"ssm3-readonly": actions_of(policy_document("readonly"))}
    if include_operator:
        expected["ssm3-operator"] = actions_of(policy_document("operator"))
    if include_fixes:
        expected["ssm3-fixes"] = actions_of(policy_document("fixes"))
    assert policies == expected
    template = cfn_yaml.load(str(TEMPLATE))
    assert template["Parameters"]["RoleName"]["Default"] == Settings().role_name


def test_the_member_role_trusts_only_the_bots_principal() -> None:
    """BotPrincipalArn is required: the whole bot account is never trusted."""
    from tests.support.iam_policy import conditions_hold

    template = cfn_yaml.load(str(TEMPLATE))
    parameter = template["Parameters"]["BotPrincipalArn"]
    assert "Default" not in parameter
    pattern = re.compile(parameter["AllowedPattern"])
    assert not pattern.fullmatch("")
    assert pattern.fullmatch("arn:aws:iam::111111111111:role/ssm3-bot")
    assert not pattern.fullmatch("arn:aws:sts::111111111111:assumed-role/ssm3-bot/session")
    trust = template_role(False)["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${BotAccountId}:root"}
    }
    assert statement["Condition"] == {"ArnEquals": {"aws:PrincipalArn": {"Ref": "BotPrincipalArn"}}}
    bot = "arn:aws:iam::111111111111:role/ssm3-bot"
    condition = {"ArnEquals": {"aws:PrincipalArn": bot}}
    assert conditions_hold(condition, {"aws:PrincipalArn": bot})
    assert not conditions_hold(
        condition, {"aws:PrincipalArn": "arn:aws:iam::111111111111:role/other"}
    )


# -- real time: the organisation's events to the bot's queue --------------------------------------

CENTRAL = IAM / "ssm3-events-central.yaml"
MEMBER_EVENTS = IAM / "ssm3-events-member.yaml"


@pytest.mark.parametrize("template", [CENTRAL, MEMBER_EVENTS], ids=lambda p: p.name)
def test_the_events_templates_pass_cfn_lint(template: Path) -> None:
    assert [str(match) for match in lint_file(template)] == []


def _patterns(template: Path) -> list[dict[str, Any]]:
    resources = cfn_yaml.load(str(template))["Resources"]
    return [
        r["Properties"]["EventPattern"]
        for r in resources.values()
        if r["Type"] == "AWS::Events::Rule"
    ]


@pytest.mark.parametrize("template", [CENTRAL, MEMBER_EVENTS], ids=lambda p: p.name)
def test_every_rule_forwards_exactly_the_kinds_the_bot_handles(template: Path) -> None:
    from bot.aws.eventbridge import DETAIL_TYPES

    for pattern in _patterns(template):
        kinds = {kind for branch in pattern["$or"] for kind in branch["detail-type"]}
        assert kinds == set(DETAIL_TYPES)
        compliance = next(
            b for b in pattern["$or"] if "Configuration Compliance State Change" in b["detail-type"]
        )
        assert compliance["detail"] == {"compliance-type": ["Association"]}
        hubs = {
            b["detail-type"][0]: b for b in pattern["$or"] if b["source"] == ["aws.securityhub"]
        }
        cspm, v2 = hubs["Security Hub Findings - Imported"], hubs["Findings Imported V2"]
        assert cspm["detail"] == {"findings": {"Compliance": {"SecurityControlId": ["SSM.3"]}}}
        assert v2["detail"] == {"findings": {"compliance": {"control": ["SSM.3"]}}}


def test_the_central_bus_takes_events_from_the_organisation_only() -> None:
    resources = cfn_yaml.load(str(CENTRAL))["Resources"]
    statement = resources["OrganizationMayPutEvents"]["Properties"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}
    }


def test_the_queue_redrives_to_a_dead_letter_queue_and_only_the_rules_may_send() -> None:
    resources = cfn_yaml.load(str(CENTRAL))["Resources"]
    queue = resources["Queue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
    }
    assert 1 < queue["RedrivePolicy"]["maxReceiveCount"] <= 10
    assert queue["VisibilityTimeout"] >= 30  # doctor warns below
    allow, deny = resources["QueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        {"Fn::GetAtt": ["ForwardedToQueue", "Arn"]},
        {"Fn::GetAtt": ["OwnToQueue", "Arn"]},
    ]
    assert deny["Effect"] == "Deny"


def test_a_member_account_may_put_events_on_the_central_bus_and_nothing_else() -> None:
    resources = cfn_yaml.load(str(MEMBER_EVENTS))["Resources"]
    [policy] = resources["ForwardRole"]["Properties"]["Policies"]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Action": "events:PutEvents",
        "Resource": {"Ref": "CentralEventBusArn"},
    }
    [target] = resources["ForwardToCentralBus"]["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": "CentralEventBusArn"}
