"""The Block Kit builders: inside Slack's limits (as the fake API judges them) for any input,
and AWS-supplied text inert in every mrkdwn string."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app.digests import build_digest
from bot.aws.history import History, InstanceItems, TargetDetail
from bot.core.causes import ORPHAN_REMEDY, likely_cause
from bot.core.digest import DigestView
from bot.models import (
    AssociationKey,
    AuditEntry,
    ComplianceItem,
    Execution,
    InstanceKey,
    Orphan,
    Scope,
    ScopeResult,
    SecurityHubCheck,
)
from bot.render.text import render_history
from bot.slack import blocks as kit
from bot.store import Store
from tests.fakes.block_kit import check_message, check_view, texts
from tests.fakes.estate import store_estate

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
KEY = AssociationKey("111111111111", "eu-west-1", "3f1c2d3e-1111-4222-8333-444455556666")
# What we put into mrkdwn on purpose: user mentions, dates, links to S3 output.
OURS = re.compile(r"<@[UW][A-Z0-9]+>|<!date\^\d+\^[^|>]*\|[^<>]*>|<https://[^|<>]+\|Output in S3>")
nasty = st.lists(
    st.sampled_from([*list("ab <>&*_~`|!@#:\n\t"), "<!channel>", "<http://x|y>", "é", "x" * 90]),
    max_size=60,
).map("".join)


def accepted(message: kit.SlackMessage) -> list[dict[str, Any]]:
    blocks = message.blocks_json()
    assert check_message(message.text, blocks) == (None, [])
    return blocks


def assert_inert(blocks: Any) -> None:
    for kind, text in texts(blocks):
        if kind == "mrkdwn":
            assert "<" not in OURS.sub("", text), text


def test_escape_and_inert() -> None:
    assert kit.escape("a & <b> c") == "a &amp; &lt;b&gt; c"
    assert kit.inert("<!here> `x` *y*") == "`&lt;!here&gt; \u02cbx\u02cb *y*`"
    assert kit.inert("") == "`-`"
    assert kit.inert("x" * 300, 10) == "`xxxxxxxxx…`"
    assert kit.mention("U0ALICE01") == "<@U0ALICE01>"
    assert kit.mention("<!channel>") == "`&lt;!channel&gt;`"


@settings(max_examples=40, deadline=None)
@given(name=nasty, error=nasty, reason=nasty)
def test_digest_stays_valid_and_inert_for_any_text(name: str, error: str, reason: str) -> None:
    store = Store(":memory:")
    keys = store_estate(store, failing=30, now=NOW, name=lambda i: name or None)
    store.acks.acknowledge(keys[0], by="U0ALICE01", reason=reason or "r", until=None, now=NOW)
    store.associations.save_scope(
        "x", ScopeResult(Scope("222222222222", "us-east-1"), False, error, (), NOW, 0.1), NOW
    )
    blocks = accepted(kit.digest_message(DigestView(build_digest(store, NOW))))
    assert_inert(blocks)
    store.close()


def test_digest_summarises_many_acknowledged_and_unswept(store: Store) -> None:
    keys = store_estate(store, failing=400, now=NOW)
    for key in keys[:300]:
        store.acks.acknowledge(
            key, by="U0ALICE01", reason="r" * 400, until=NOW + timedelta(days=1), now=NOW
        )
    for n in range(40):
        store.associations.save_scope(
            "x",
            ScopeResult(
                Scope(f"{n + 300:012d}", "eu-west-1"), False, "AccessDenied " * 40, (), NOW, 0.1
            ),
            NOW,
        )
    message = kit.digest_message(DigestView(build_digest(store, NOW)))
    blocks = accepted(message)
    body = "\n".join(t for _, t in texts(blocks))
    assert "*Acknowledged (300)*" in body
    assert "more acknowledged (in the CSV)" in body
    assert "*Not swept (40)*" in body
    assert "…and 32 more." in body
    assert message.overflow
    assert message.hidden > 0


def history(targets: int, text: str) -> History:
    details = tuple(
        TargetDetail(
            instance_id=f"i-{n:017x}",
            detailed_status="Failed",
            error_code="1",
            summary=text * 5,
            output_url="https://s3.eu-west-1.amazonaws.com/ssm-out/run/stdout" if n % 2 else text,
            stderr=text * 20,
            ping_status="ConnectionLost",
            agent_version="3.3.1142.0",
            platform="Amazon Linux",
            cause=likely_cause(summary=text),
        )
        for n in range(targets)
    )
    runs = tuple(
        Execution(
            f"e-{n}", "Failed", "Failed", NOW - timedelta(hours=n), {"Failed": 2, "Success": 3}
        )
        for n in range(10)
    )
    return History(
        key=KEY,
        association_name=text,
        document_name=text,
        sync_compliance="MANUAL",
        executions=runs,
        failed_execution=runs[0],
        failed_count=targets * 3,
        targets=details,
    )


@settings(max_examples=25, deadline=None)
@given(text=nasty, targets=st.integers(0, 60))
def test_history_stays_valid_and_inert(text: str, targets: int) -> None:
    blocks = accepted(kit.history_message(history(targets, text), now=NOW))
    assert_inert(blocks)
    body = "\n".join(t for _, t in texts(blocks))
    assert "SyncCompliance is MANUAL" in body


def test_modal_confirmation_help_and_audit_fit(store: Store) -> None:
    [key] = store_estate(store, failing=1, now=NOW, name=lambda i: "<!channel> " + "n" * 200)
    [item] = store.associations.tracked(failing_only=True)
    modal = kit.ack_modal(item, kit.AckContext(key, "C0DIGEST01", "1.2", None), reason="x" * 900)
    assert check_view(modal.to_dict()) == []
    assert kit.AckContext.loads(modal.private_metadata) == kit.AckContext(key, "C0DIGEST01", "1.2")
    assert kit.AckContext.loads("{not json") is None
    assert_inert(accepted(kit.rerun_confirmation(item, rerun_can_fix=False)))
    assert_inert(accepted(kit.help_message("`<!channel>` is not a command " * 50)))
    entries = [
        AuditEntry(
            n,
            NOW,
            "U0ALICE01",
            "rerun",
            "refused",
            KEY.account_id,
            KEY.region,
            KEY.association_id,
            "C1",
            "<!here> " * 30,
        )
        for n in range(500)
    ]
    assert_inert(accepted(kit.audit_message(entries)))
    assert_inert(accepted(kit.association_status(item, now=NOW)))


def test_button_values_round_trip() -> None:
    value = kit.key_value(KEY)
    assert kit.parse_key_value(value) == KEY
    assert kit.parse_key_value("111111111111:eu-west-1:<!channel>") is None
    assert kit.parse_key_value(None) is None


@pytest.mark.parametrize(
    ("duration", "now", "expected"),
    [
        (None, NOW, ("7d", None)),
        (timedelta(days=30), NOW, ("30d", None)),
        (timedelta(weeks=2), NOW, ("14d", None)),
        (timedelta(hours=12), NOW, ("12h", None)),
        (timedelta(days=10), NOW, ("7d", date(2026, 12, 8))),
        (timedelta(hours=20), NOW, ("7d", date(2026, 11, 29))),
        # 5 hours from 09:00 ends today, which the date field cannot say: the next preset up.
        (timedelta(hours=5), NOW, ("12h", None)),
        (timedelta(hours=5), NOW.replace(hour=22), ("7d", date(2026, 11, 29))),
    ],
)
def test_the_ack_form_opens_on_the_duration_asked_for(
    duration: timedelta | None, now: datetime, expected: tuple[str, date | None]
) -> None:
    assert kit.ack_expiry(duration, now, ZoneInfo("UTC")) == expected


def test_the_ack_form_date_is_in_the_configured_zone() -> None:
    # 09:00 UTC + 15h is the 29th in UTC, but 16:00 on the 28th in Los Angeles: there it ends
    # today, so the form offers the next preset up instead of a date.
    assert kit.ack_expiry(timedelta(hours=15), NOW, ZoneInfo("UTC")) == ("7d", date(2026, 11, 29))
    assert kit.ack_expiry(timedelta(hours=15), NOW, ZoneInfo("America/Los_Angeles")) == ("1d", None)


def orphan_estate(store: Store, orphans: int, text: str) -> None:
    """A swept scope with failing associations, `orphans` orphaned items and a hostile title."""
    store_estate(store, failing=25, now=NOW)
    last = store.sweeps.last()
    assert last is not None
    found = tuple(
        Orphan("333333333333", "eu-west-1", f"{n:08x}-dead-4000-8000-{n:012x}", f"i-{n:017x}", text)
        for n in range(orphans)
    )
    store.associations.save_scope(
        last.sweep_id,
        ScopeResult(Scope("333333333333", "eu-west-1"), True, None, (), NOW, 0.1, orphans=found),
        NOW,
    )


@settings(max_examples=20, deadline=None)
@given(text=nasty, orphans=st.integers(0, 300), error=st.none() | nasty)
def test_digest_with_orphans_and_security_hub_stays_valid_and_inert(
    text: str, orphans: int, error: str | None
) -> None:
    store = Store(":memory:")
    orphan_estate(store, orphans, text)
    last = store.sweeps.last()
    assert last is not None
    hostile = tuple(InstanceKey("111111111111", "eu-west-1", text or "i-1") for _ in range(5))
    store.sweeps.save_security_hub_check(
        last.sweep_id,
        SecurityHubCheck("eu-west-1", NOW, 7, 2, hostile, hostile[:2], error=error),
    )
    digest = build_digest(store, NOW)
    blocks = accepted(kit.digest_message(DigestView(digest)))
    assert_inert(blocks)
    body = "\n".join(t for _, t in texts(blocks))
    assert ("*Orphaned compliance items" in body) is (orphans > 0)
    assert body.count(ORPHAN_REMEDY) == (1 if orphans else 0)
    assert ("Security Hub" in body) is True
    store.close()


@pytest.mark.parametrize(
    ("unexplained", "sweep_only", "error", "expected"),
    [
        (2, 0, None, "Security Hub fails *2* instances the sweep finds compliant"),
        (0, 1, None, "The sweep finds *1* instance NON_COMPLIANT that Security Hub passes"),
        (1, 3, None, "; the sweep finds *3* instances NON_COMPLIANT that Security Hub passes"),
        (0, 0, "AccessDenied", "Security Hub (eu-west-1) could not be read: `AccessDenied`"),
    ],
)
def test_security_hub_line(
    unexplained: int, sweep_only: int, error: str | None, expected: str
) -> None:
    keys = tuple(InstanceKey("111111111111", "eu-west-1", f"i-{n:017x}") for n in range(5))
    check = SecurityHubCheck(
        "eu-west-1", NOW, unexplained=keys[:unexplained], sweep_only=keys[:sweep_only], error=error
    )
    assert expected in kit.security_hub_line(check)


def reported_history(text: str, instances: int) -> History:
    compliance = tuple(
        InstanceItems(
            f"i-{n:017x}",
            tuple(
                ComplianceItem(f"i-{n:017x}", aid, status, title=text, execution_time=NOW)
                for aid, status in ((KEY.association_id, "NON_COMPLIANT"), (text, "COMPLIANT"))
            ),
            error=text if n % 2 else None,
        )
        for n in range(instances)
    )
    return replace(
        history(0, text),
        failed_execution=None,
        failure_kind="reported",
        kind="reported NON_COMPLIANT (SyncCompliance MANUAL)",
        remedy="A re-run will not fix it: " + text,
        noncompliant_count=instances * 4,
        compliance=compliance,
    )


@settings(max_examples=25, deadline=None)
@given(text=nasty, instances=st.integers(0, 5))
def test_history_of_a_reported_failure_stays_valid_and_inert(text: str, instances: int) -> None:
    blocks = accepted(kit.history_message(reported_history(text, instances), now=NOW))
    assert_inert(blocks)
    body = "\n".join(t for _, t in texts(blocks))
    assert ":warning: *reported NON_COMPLIANT (SyncCompliance MANUAL)*: A re-run will not" in body
    assert ("*What SSM.3 sees*" in body) is (instances > 0)


def test_terminal_history_of_a_reported_failure() -> None:
    out = render_history(reported_history("missing patches", 2), NOW)
    assert "Note: reported NON_COMPLIANT (SyncCompliance MANUAL) - A re-run will not fix it" in out
    assert "WHAT SSM.3 SEES (8 instances NON_COMPLIANT, first 2 shown)" in out
    assert "NON_COMPLIANT  this association  missing patches" in out
    assert "could not read its items: missing patches" in out
    assert "No failed or timed-out execution among the recent ones." in out
